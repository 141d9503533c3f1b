"""A package built for Lambda's platform runs here on this machine's same-version builds."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from rehearsal.moto_gaps.foreign_builds import replace_foreign_builds


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
    assert [(r.name, r.version, r.same) for r in replaced] == [("numpy", numpy_version, True)]
    assert "aarch64" in replaced[0].tags
    assert str(replaced[0]) == f"numpy {numpy_version} (the same here)"
    assert not (tmp_path / "numpy").exists()
    assert not (tmp_path / f"numpy-{numpy_version}.dist-info").exists()
    assert (tmp_path / "six" / "__init__.py").exists()  # loads anywhere: kept


def test_another_version_here_is_said(tmp_path: Path) -> None:
    """The function runs on what this machine has; the serve step prints the difference."""
    _dist(tmp_path, "numpy", "0.0.1", "cp313-cp313-manylinux_2_28_aarch64", "numpy")
    _dist(tmp_path, "not-installed-here", "1.0", "cp313-cp313-manylinux_2_28_aarch64", "nih")
    replaced = replace_foreign_builds(tmp_path)
    assert [str(r) for r in replaced] == [
        "not-installed-here 1.0 (none here)",
        f"numpy 0.0.1 ({metadata.version('numpy')} here)",
    ]
