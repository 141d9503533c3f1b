"""A deployment package built for Lambda's platform, run on this machine.

A function that bundles compiled wheels (the Lambda-hosted model's onnxruntime and numpy) ships
them for its own architecture and Python (``manylinux_2_28_aarch64``, ``cp313``): this machine
cannot load them. The runner removes each such distribution from the unpacked package and lets
the function import this machine's installed copy instead, which must be the same version
(``ForeignBuildError`` otherwise): the same code, built for here. What stays unproven, that the
Lambda build itself loads on Lambda, is in the rehearsal's gap list.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.tags import parse_tag, sys_tags
from packaging.utils import canonicalize_name


class ForeignBuildError(RuntimeError):
    """A foreign build has no same-version stand-in on this machine."""


@dataclass(frozen=True)
class Replaced:
    """One distribution of the package run from this machine's installation instead."""

    name: str
    version: str
    tags: str


def replace_foreign_builds(code_dir: Path) -> list[Replaced]:
    """Remove from ``code_dir`` every distribution whose wheel tags this interpreter cannot
    load; each must be installed here at the same version (else ForeignBuildError)."""
    here = set(sys_tags())
    replaced: list[Replaced] = []
    for info in sorted(code_dir.glob("*.dist-info")):
        tags = _wheel_tags(info)
        if not tags or any(tag in here for tag_text in tags for tag in parse_tag(tag_text)):
            continue
        name, version = _name_and_version(info)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            raise ForeignBuildError(
                f"{code_dir.name}: {name} {version} is built for {', '.join(tags)}; this "
                f"machine has {installed or 'no copy'} to run in its place"
            )
        _remove(code_dir, info)
        replaced.append(Replaced(name, version, ", ".join(tags)))
    return replaced


def _wheel_tags(info: Path) -> list[str]:
    wheel = info / "WHEEL"
    if not wheel.is_file():
        return []
    lines = wheel.read_text(encoding="utf-8").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]


def _name_and_version(info: Path) -> tuple[str, str]:
    fields = dict(
        line.split(": ", 1)
        for line in (info / "METADATA").read_text(encoding="utf-8").splitlines()
        if ": " in line and not line.startswith(" ")
    )
    return str(canonicalize_name(fields["Name"])), fields["Version"]


def _remove(code_dir: Path, info: Path) -> None:
    """The distribution's files (its RECORD's top-level entries) and its dist-info."""
    record = info / "RECORD"
    tops = {info.name}
    if record.is_file():
        for line in record.read_text(encoding="utf-8").splitlines():
            path = line.split(",", 1)[0]
            if path and not path.startswith(".."):
                tops.add(path.split("/", 1)[0])
    for top in tops:
        target = code_dir / top
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
