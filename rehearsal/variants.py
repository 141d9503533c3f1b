"""Run options that change the rehearsed environment (``--network``, ``--kind async``,
``--engine sagemaker``): a copy
of its YAML with the option applied, in the run's work folder, so that configuration stays in
serving_config's format and is validated as any environment is."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from serving_config import ENVIRONMENTS_DIR, Settings, load_settings

#: Sections whose overrides are merged into the file's (the others replace it).
_MERGED = ("endpoint", "promotion", "model_monitor")
#: ``--kind async``: the same instance fleet behind SageMaker's asynchronous queue, scaling on
#: its backlog down to zero; no data capture or Model Monitor (not supported for async here).
ASYNC_OVERRIDES: dict[str, Any] = {
    "endpoint": {"kind": "async", "initial_instance_count": 1, "data_capture_percent": 0},
    "scaling": None,
    "async_inference": {"min_capacity": 0, "max_capacity": 2},
    "model_monitor": {"enabled": False, "retraining": {"enabled": False}},
    "promotion": {"traffic_shifting": "all_at_once"},
}


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """What the run options change in the environment's configuration."""
    changed: dict[str, Any] = {}
    if getattr(args, "network", False):
        changed["network"] = {"mode": "create"}
    if getattr(args, "engine", "own") == "sagemaker":
        changed["model_monitor"] = {"engine": "sagemaker"}
    if getattr(args, "kind", None) == "async":
        changed.update(ASYNC_OVERRIDES)
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
