"""Load ``environments/<name>.yaml`` into a validated :class:`Settings`."""

from __future__ import annotations

from pathlib import Path

import yaml

from serving_config._parsing import ConfigError, build
from serving_config.settings import Settings

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"


def available_environments(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    """Names of the environments that have a configuration file."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_settings(name: str, directory: Path = ENVIRONMENTS_DIR) -> Settings:
    """Read and validate one environment; every problem is a ConfigError naming the field."""
    known = available_environments(directory)
    if name not in known:
        raise ConfigError(
            f"unknown environment {name!r}: no {directory / (name + '.yaml')}; "
            f"known environments: {', '.join(known) or 'none'}"
        )
    path = directory / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name}: not valid YAML: {error}") from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping at the top level")
    if "name" in raw:
        raise ConfigError(f"{path.name}: name: the environment name comes from the file name")
    try:
        return build(Settings, {"name": name, **raw}, "")
    except ConfigError as error:
        raise ConfigError(f"{path.name}: {error}") from None
