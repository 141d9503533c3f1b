"""The Lambda-hosted model's pip requirements, installed for the function's Python and
architecture without docker, once: ``pip install --platform ... --only-binary=:all:`` into a
folder cached on disk under ``build/lambda-deps/`` (git-ignored), keyed by the requirements'
text, the platform and the Python version. Repeated synths and test runs reuse it; a new pin or
another architecture installs into a new folder.

The folder is a Lambda layer's content (``python/`` is on the runtime's ``sys.path``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Where installed requirements are cached (``build/`` is git-ignored); override with
#: ``LAMBDA_DEPS_CACHE`` (a shared cache for CI, say).
DEFAULT_CACHE = ROOT / "build" / "lambda-deps"
#: Lambda's architecture -> the wheel platform's machine name.
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
#: Lambda's Python 3.13 runtime runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
#: and the older manylinux2014 (glibc 2.17) ones both load there. pip does not widen an explicit
#: ``--platform manylinux_2_28_*`` to older tags, and numpy 2.2.6 publishes manylinux2014
#: wheels only: both tags are named.
PLATFORM_TAGS = ("manylinux_2_28_{machine}", "manylinux2014_{machine}")


class DependencyInstallError(RuntimeError):
    """pip could not install the requirements for the platform (its output attached)."""


@dataclass(frozen=True)
class TargetPlatform:
    """The function's Python (``major.minor``) and architecture."""

    architecture: str
    python_version: str = "3.13"

    def __post_init__(self) -> None:
        problems = []
        if self.architecture not in MACHINES:
            problems.append(f"architecture: {self.architecture!r} is not arm64 or x86_64")
        parts = self.python_version.split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            problems.append(f"python_version: {self.python_version!r} is not MAJOR.MINOR")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def platforms(self) -> tuple[str, ...]:
        machine = MACHINES[self.architecture]
        return tuple(tag.format(machine=machine) for tag in PLATFORM_TAGS)

    def pip_arguments(self, requirements: Path, target: Path) -> list[str]:
        """``pip install`` arguments: binary wheels for this platform only, into ``target``."""
        platforms = [arg for tag in self.platforms for arg in ("--platform", tag)]
        return [
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *platforms,
            "--only-binary=:all:",
            "--python-version",
            self.python_version,
            "--implementation",
            "cp",
            "--target",
            str(target),
            "--requirement",
            str(requirements),
        ]


def cache_key(requirements: Path, platform: TargetPlatform) -> str:
    """What the installed folder depends on: the requirements' bytes, the platform tags and
    the Python version."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update("|".join((*platform.platforms, platform.python_version)).encode())
    return f"{platform.architecture}-py{platform.python_version}-{digest.hexdigest()[:16]}"


def installed_requirements(
    requirements: Path, platform: TargetPlatform, cache_dir: Path | None = None
) -> Path:
    """A folder holding ``python/`` with ``requirements`` installed for ``platform``: from the
    cache when present, else installed by pip into a scratch folder and renamed into place
    (a concurrent synth either wins the rename or uses the winner's folder)."""
    root = cache_dir or Path(os.environ.get("LAMBDA_DEPS_CACHE") or DEFAULT_CACHE)
    folder = root / cache_key(requirements, platform)
    if (folder / "python").is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".installing-", dir=root))
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                *platform.pip_arguments(requirements, scratch / "python"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise DependencyInstallError(
                f"pip could not install {requirements} for {', '.join(platform.platforms)} "
                f"(Python {platform.python_version}):\n{done.stderr.strip()}"
            )
        shutil.rmtree(scratch / "python" / "bin", ignore_errors=True)  # console scripts
        try:
            scratch.rename(folder)
        except OSError:  # another process installed it first
            if not (folder / "python").is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder
