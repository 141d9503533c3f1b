"""A package built for Lambda's platform runs here on this machine's same-version builds."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from rehearsal.moto_gaps.foreign_builds import ForeignBuildError, replace_foreign_builds


def _dist(code_dir: Path, name: str, version: str, tag: str, top: str) -> None:
    info = code_dir / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
    (info / "RECORD").write_text(f"{top}/__init__.py,,\n{info.name}/METADATA,,\n")
    (code_dir / top).mkdir()
    (code_dir / top / "__init__.py").write_text("raise ImportError('the Lambda build')\n")


def test_a_foreign_build_is_removed_and_a_pure_one_kept(tmp_path: Path) -> None:
    numpy_version = metadata.version("numpy")
    _dist(tmp_path, "numpy", numpy_version, "cp313-cp313-manylinux_2_28_aarch64", "numpy")
    _dist(tmp_path, "six", "1.0", "py2.py3-none-any", "six")
    replaced = replace_foreign_builds(tmp_path)
    assert [(r.name, r.version) for r in replaced] == [("numpy", numpy_version)]
    assert "aarch64" in replaced[0].tags
    assert not (tmp_path / "numpy").exists()
    assert not (tmp_path / f"numpy-{numpy_version}.dist-info").exists()
    assert (tmp_path / "six" / "__init__.py").exists()  # loads anywhere: kept


def test_a_foreign_build_without_the_same_version_here_is_an_error(tmp_path: Path) -> None:
    _dist(tmp_path, "numpy", "0.0.1", "cp313-cp313-manylinux_2_28_aarch64", "numpy")
    with pytest.raises(ForeignBuildError, match=r"numpy 0\.0\.1 is built for cp313"):
        replace_foreign_builds(tmp_path)
