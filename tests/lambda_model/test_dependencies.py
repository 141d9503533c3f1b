"""The model function's requirements installed for Lambda without docker: pip's arguments, the
cache key, and the cache reused without pip."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.lambda_model.construct import REQUIREMENTS
from ml_constructs.lambda_model.dependencies import (
    DependencyInstallError,
    TargetPlatform,
    cache_key,
    installed_requirements,
)


def test_pip_installs_binary_wheels_for_the_functions_platform(tmp_path: Path) -> None:
    arguments = TargetPlatform("x86_64").pip_arguments(REQUIREMENTS, tmp_path)
    assert arguments[:1] == ["install"]
    platforms = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--platform"]
    assert platforms == ["manylinux_2_28_x86_64", "manylinux2014_x86_64"]
    assert "--only-binary=:all:" in arguments
    joined = " ".join(arguments)
    assert "--python-version 3.13 --implementation cp" in joined
    assert f"--target {tmp_path}" in joined and f"--requirement {REQUIREMENTS}" in joined


def test_the_cache_key_follows_requirements_and_platform(tmp_path: Path) -> None:
    other = tmp_path / "requirements.txt"
    other.write_text(REQUIREMENTS.read_text() + "\n# changed\n")
    arm, x86 = TargetPlatform("arm64"), TargetPlatform("x86_64")
    keys = {cache_key(REQUIREMENTS, arm), cache_key(REQUIREMENTS, x86), cache_key(other, arm)}
    assert len(keys) == 3
    assert cache_key(REQUIREMENTS, arm) == cache_key(REQUIREMENTS, TargetPlatform("arm64"))
    with pytest.raises(ValueError, match="architecture: 'arm' is not arm64 or x86_64"):
        TargetPlatform("arm")


def test_a_cached_install_is_reused_and_a_failed_one_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = TargetPlatform("arm64")
    calls: list[Any] = []

    def failing_pip(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 1, "", "no matching distribution")

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(DependencyInstallError, match="no matching distribution"):
        installed_requirements(REQUIREMENTS, platform, tmp_path)
    assert len(calls) == 1 and list(tmp_path.iterdir()) == []  # nothing half-installed kept
    cached = tmp_path / cache_key(REQUIREMENTS, platform) / "python"
    cached.mkdir(parents=True)
    assert installed_requirements(REQUIREMENTS, platform, tmp_path) == cached.parent
    assert len(calls) == 1  # no pip for a cached folder
