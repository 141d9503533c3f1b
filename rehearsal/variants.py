"""Run options that change the rehearsed environment (``--network``, ``--kind async``,
``--engine sagemaker``, ``--framework NAME``): a copy
of its YAML with the option applied, in the run's work folder, so that configuration stays in
serving_config's format and is validated as any environment is."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from serving_config import ENVIRONMENTS_DIR, Settings, load_settings
from serving_config.frameworks import framework_overrides
from serving_config.hosting import kind_overrides

#: Sections whose overrides are merged into the file's (the others replace it).
_MERGED = ("endpoint", "promotion", "model_monitor", "model")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """What the run options change in the environment's configuration."""
    changed: dict[str, Any] = {}
    if getattr(args, "network", False):
        changed["network"] = {"mode": "create"}
    if getattr(args, "engine", "own") == "sagemaker":
        changed["model_monitor"] = {"engine": "sagemaker"}
    kind = getattr(args, "kind", None)
    if kind is not None:  # the kind, and off what it lacks (capture, monitor, ...)
        changed.update(kind_overrides(kind))
    framework = getattr(args, "framework", None)
    if framework is not None:  # the framework's images, versions and container environment
        changed.update(framework_overrides(framework))
    return changed


def apply(data: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    """``data`` (an environment file's content) with ``changed`` applied."""
    result = dict(data)
    for name, value in changed.items():
        if name in _MERGED and isinstance(value, dict):
            result[name] = {**(result.get(name) or {}), **value}
        else:
            result[name] = value
    return result


def environment(args: argparse.Namespace, workdir: Path) -> tuple[Settings, Path | None]:
    """The settings to rehearse and the configuration folder they come from (None: the
    repository's own)."""
    changed = overrides(args)
    if not changed:
        return load_settings(args.env), None
    folder = workdir / "config"
    folder.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load((ENVIRONMENTS_DIR / f"{args.env}.yaml").read_text(encoding="utf-8"))
    data = apply(data or {}, changed)
    (folder / f"{args.env}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_settings(args.env, folder), folder
