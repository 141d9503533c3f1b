"""A deployment package built for Lambda's platform, run on this machine.

A function that bundles compiled wheels (the Lambda-hosted model's onnxruntime and numpy) ships
them for its own architecture and Python (``manylinux_2_28_aarch64``, ``cp313``): this machine
cannot load them. The runner removes each such distribution from the unpacked package and lets
the function import this machine's installed copy instead, and says which version that is: the
same code, built for here, where the versions agree (the project pins onnxruntime and numpy
equal on both sides; a test keeps them so). What stays unproven, that the Lambda build itself
loads on Lambda, is in the rehearsal's gap list.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.tags import parse_tag, sys_tags
from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Replaced:
    """One distribution of the package run from this machine's installation instead."""

    name: str
    version: str
    tags: str
    #: This machine's version that runs instead (None: not installed here).
    here: str | None

    @property
    def same(self) -> bool:
        return self.here == self.version

    def __str__(self) -> str:
        here = "the same here" if self.same else f"{self.here or 'none'} here"
        return f"{self.name} {self.version} ({here})"


def replace_foreign_builds(code_dir: Path) -> list[Replaced]:
    """Remove from ``code_dir`` every distribution whose wheel tags this interpreter cannot
    load; what runs instead is this machine's installation of it (its version recorded)."""
    here = set(sys_tags())
    replaced: list[Replaced] = []
    for info in sorted(code_dir.glob("*.dist-info")):
        dist = metadata.PathDistribution(info)
        tags = _wheel_tags(dist)
        if not tags or any(tag in here for tag_text in tags for tag in parse_tag(tag_text)):
            continue
        name, version = str(canonicalize_name(dist.metadata["Name"])), dist.version
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        _remove(code_dir, info, dist)
        replaced.append(Replaced(name, version, ", ".join(tags), installed))
    return replaced


def _wheel_tags(dist: metadata.Distribution) -> list[str]:
    lines = (dist.read_text("WHEEL") or "").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]


def _remove(code_dir: Path, info: Path, dist: metadata.Distribution) -> None:
    """The distribution's files (its RECORD's top-level entries) and its dist-info."""
    tops = {info.name} | {
        path.parts[0] for path in dist.files or [] if path.parts and path.parts[0] != ".."
    }
    for top in tops:
        target = code_dir / top
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
