"""Run options that change the rehearsed environment (``--network``): a copy of its YAML with
the option applied, in the run's work folder, so that configuration stays in serving_config's
format and is validated as any environment is."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from serving_config import ENVIRONMENTS_DIR, Settings, load_settings


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """What the run options change in the environment's configuration."""
    changed: dict[str, Any] = {}
    if getattr(args, "network", False):
        changed["network"] = {"mode": "create"}
    return changed


def environment(args: argparse.Namespace, workdir: Path) -> tuple[Settings, Path | None]:
    """The settings to rehearse and the configuration folder they come from (None: the
    repository's own)."""
    changed = overrides(args)
    if not changed:
        return load_settings(args.env), None
    folder = workdir / "config"
    folder.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load((ENVIRONMENTS_DIR / f"{args.env}.yaml").read_text(encoding="utf-8"))
    data.update(changed)
    (folder / f"{args.env}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_settings(args.env, folder), folder
