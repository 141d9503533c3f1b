"""Snapshot every synthesized template, and compare two snapshots: the safety net of a
refactoring that must not change what CloudFormation deploys.

``save DIR`` synthesizes every environment, the delivery pipeline (its stages' stacks too) and
the rehearsal's variants (``--network --engine sagemaker``, ``--kind async``, ``--framework
NAME`` for each framework other than tensorflow) and writes each
template as synthesized. ``compare OLD NEW`` reports each template that differs: byte for byte,
with the content hashes of assets masked, and with functions' handler settings masked too, so
that "only the bundled code changed" (a function's code asset, whose hash follows its files, and
where its package puts the handler) is told apart from a change of resources.

    python -m deploy_tools.template_snapshot save /tmp/before
    ... change the code ...
    python -m deploy_tools.template_snapshot save /tmp/after
    python -m deploy_tools.template_snapshot compare /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from app_factory import build_app
from serving_config import ENVIRONMENTS_DIR, available_environments, available_pipelines
from serving_config.frameworks import framework_overrides
from serving_config.hosting import kind_overrides
from serving_core.frameworks import DEFAULT_FRAMEWORK, FRAMEWORK_NAMES

#: The rehearsal's variants of the local environment (see rehearsal/variants.py).
VARIANTS: dict[str, dict[str, Any]] = {
    "local-network-sagemaker": {
        "network": {"mode": "create"},
        "model_monitor": {"engine": "sagemaker"},
    },
    "local-async": kind_overrides("async"),
    **{
        f"local-{name}": framework_overrides(name)
        for name in FRAMEWORK_NAMES
        if name != DEFAULT_FRAMEWORK
    },
}
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: A function's handler setting: where its package puts ``handler.py``.
_HANDLER = re.compile(r'"Handler": "[\w.]+"')


def _packaging_masked(text: str) -> str:
    return _HANDLER.sub('"Handler": <handler>', _ASSET_HASH.sub("<asset>", text))


def _variant_dir(label: str, changed: dict[str, Any], root: Path) -> Path:
    data = yaml.safe_load((ENVIRONMENTS_DIR / "local.yaml").read_text(encoding="utf-8")) or {}
    for name, value in changed.items():
        merge = isinstance(value, dict) and isinstance(data.get(name), dict)
        data[name] = {**data[name], **value} if merge else value
    folder = root / label
    folder.mkdir(parents=True)
    (folder / "local.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def configurations(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(label, synth context) of every configuration the snapshot holds."""
    for name in [*available_environments(), *available_pipelines()]:
        yield name, {"env": name}
    for label, changed in VARIANTS.items():
        yield label, {"env": "local", "config_dir": str(_variant_dir(label, changed, root))}


def save(target: Path) -> int:
    """Synthesize every configuration into ``target``; returns the number of templates."""
    scratch = Path(tempfile.mkdtemp(prefix="template-snapshot-"))
    count = 0
    for label, context in configurations(scratch / "config"):
        outdir = scratch / "out" / label
        build_app(context=context, outdir=str(outdir)).synth()
        for template in sorted(outdir.rglob("*.template.json")):
            destination = target / label / template.relative_to(outdir)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, destination)
            count += 1
        print(f"{label}: synthesized")
    shutil.rmtree(scratch, ignore_errors=True)
    return count


def compare(old: Path, new: Path, *, show: int = 40) -> int:
    """Print every difference between two snapshots; returns how many templates differ in
    more than asset hashes."""
    names = sorted({p.relative_to(old) for p in old.rglob("*.json")})
    names_new = sorted({p.relative_to(new) for p in new.rglob("*.json")})
    for missing in sorted(set(names) ^ set(names_new)):
        print(f"only in {'old' if missing in names else 'new'}: {missing}")
    changed = len(set(names) ^ set(names_new))
    identical = assets_only = packaging_only = 0
    for name in sorted(set(names) & set(names_new)):
        before, after = (old / name).read_text(), (new / name).read_text()
        if before == after:
            identical += 1
        elif _ASSET_HASH.sub("<asset>", before) == _ASSET_HASH.sub("<asset>", after):
            assets_only += 1
            print(f"asset hashes only: {name}")
        elif _packaging_masked(before) == _packaging_masked(after):
            packaging_only += 1
            handlers = sorted(set(_HANDLER.findall(after)) - set(_HANDLER.findall(before)))
            print(f"function packaging only (code assets, {', '.join(handlers)}): {name}")
        else:
            changed += 1
            diff = difflib.unified_diff(
                before.splitlines(), after.splitlines(), str(old / name), str(new / name), n=2
            )
            print("\n".join(list(diff)[:show]))
    print(
        f"{identical} templates byte-identical, {assets_only} differ in asset hashes only, "
        f"{packaging_only} in function packaging only (code assets and handlers), "
        f"{changed} differ otherwise"
    )
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("directory", type=Path)
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("old", type=Path)
    compare_parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "save":
        print(f"{save(args.directory)} templates saved in {args.directory}")
        return 0
    return 1 if compare(args.old, args.new) else 0


if __name__ == "__main__":
    raise SystemExit(main())
