"""Load ``environments/<name>.yaml`` into a validated :class:`Settings`, or a file with a
``pipeline:`` section into a validated :class:`Delivery` (the pipeline and its stages' settings)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from serving_config._parsing import ConfigError, build, join
from serving_config.pipeline import PipelineSettings, StageSettings
from serving_config.settings import Settings

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"
#: The top-level key that makes a configuration file a pipeline definition.
PIPELINE_SECTION = "pipeline"


def _read(path: Path) -> Any:
    """The file's YAML, a fresh copy each call; each distinct text is parsed once per process
    (loading one environment checks every file of its folder for a ``pipeline:`` section)."""
    try:
        return copy.deepcopy(_parse(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name}: not valid YAML: {error}") from error


@functools.lru_cache(maxsize=128)
def _parse(text: str) -> Any:
    return yaml.safe_load(text)


def _defines_pipeline(path: Path) -> bool:
    """Whether ``path`` holds a ``pipeline:`` section (an unreadable file counts as an
    environment, so that loading it reports the problem)."""
    try:
        raw = _read(path)
    except ConfigError:
        return False
    return isinstance(raw, dict) and PIPELINE_SECTION in raw


def available_environments(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    """Names of the environments that have a configuration file (pipelines excluded)."""
    return sorted(p.stem for p in directory.glob("*.yaml") if not _defines_pipeline(p))


def available_pipelines(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    """Names of the files that define a delivery pipeline."""
    return sorted(p.stem for p in directory.glob("*.yaml") if _defines_pipeline(p))


def load_settings(
    name: str, directory: Path = ENVIRONMENTS_DIR, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read and validate one environment; every problem is a ConfigError naming the field.

    ``overrides`` replace top-level fields of the file before validation (a pipeline stage's
    account, region and trusted roles): the result is what the file would give with them."""
    known = available_environments(directory)
    if name not in known:
        if name in available_pipelines(directory):
            raise ConfigError(
                f"{name}.yaml defines a delivery pipeline, not an environment "
                f"(`-c env={name}` synthesizes the pipeline)"
            )
        raise ConfigError(
            f"unknown environment {name!r}: no {directory / (name + '.yaml')}; "
            f"known environments: {', '.join(known) or 'none'}"
        )
    path = directory / f"{name}.yaml"
    raw = _read(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping at the top level")
    if "name" in raw:
        raise ConfigError(f"{path.name}: name: the environment name comes from the file name")
    try:
        return build(Settings, {"name": name, **raw, **(overrides or {})}, "")
    except ConfigError as error:
        raise ConfigError(f"{path.name}: {error}") from None


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: its settings in the pipeline file, and the environment's
    settings as the pipeline deploys them (account, region and trusted roles resolved)."""

    stage: StageSettings
    settings: Settings


@dataclass(frozen=True)
class Delivery:
    """A validated pipeline definition and its stages, in deployment order."""

    name: str
    pipeline: PipelineSettings
    stages: tuple[Stage, ...]


def load_pipeline(name: str, directory: Path = ENVIRONMENTS_DIR) -> Delivery:
    """Read and validate the pipeline file ``name`` and every environment it deploys."""
    path = directory / f"{name}.yaml"
    if name not in available_pipelines(directory):
        raise ConfigError(f"no pipeline {name!r}: {path} has no `{PIPELINE_SECTION}:` section")
    raw = _read(path)
    extra = sorted(set(raw) - {PIPELINE_SECTION})
    try:
        if extra:
            raise ConfigError(
                f"unknown top-level field(s) {', '.join(extra)}: a pipeline file holds only "
                f"`{PIPELINE_SECTION}:`"
            )
        pipeline = build(PipelineSettings, raw[PIPELINE_SECTION], PIPELINE_SECTION)
        stages = tuple(
            _stage(pipeline, stage, f"{PIPELINE_SECTION}.stages[{i}]", directory)
            for i, stage in enumerate(pipeline.stages)
        )
    except ConfigError as error:
        raise ConfigError(f"{path.name}: {error}") from None
    return Delivery(name=name, pipeline=pipeline, stages=stages)


def _stage(pipeline: PipelineSettings, stage: StageSettings, where: str, directory: Path) -> Stage:
    """The environment of ``stage`` as the pipeline deploys it; errors name the stage's field."""
    known = available_environments(directory)
    if stage.name not in known:
        raise ConfigError(
            f"{join(where, 'name')}: unknown environment {stage.name!r}; known environments: "
            f"{', '.join(known) or 'none'}"
        )
    file = f"{stage.name}.yaml"
    raw = _read(directory / file)
    own: dict[str, Any] = raw if isinstance(raw, dict) else {}
    overrides: dict[str, Any] = {}
    for key in ("account", "region"):
        value, declared = getattr(stage, key), own.get(key)
        if value is not None and declared is not None and str(declared) != value:
            raise ConfigError(f"{join(where, key)}: {value} differs from {file}'s {declared}")
        if value is not None:
            overrides[key] = value
        elif declared is None:
            raise ConfigError(
                f"{join(where, key)}: neither the stage nor {file} names one; a pipeline deploys "
                "into an explicit account and region"
            )
    account = str(overrides.get("account", own.get("account")))
    region = str(overrides.get("region", own.get("region")))
    if account == pipeline.tooling_account and not stage.allow_tooling_account:
        raise ConfigError(
            f"{join(where, 'account')}: {account} is the tooling account, where the pipeline "
            "runs; set allow_tooling_account: true on this stage to deploy there anyway"
        )
    if region != pipeline.tooling_region:
        raise ConfigError(
            f"{join(where, 'region')}: {region} is not the tooling region "
            f"{pipeline.tooling_region}: a stage in another region needs a replication bucket "
            "there, which this pipeline does not create"
        )
    role = pipeline.stage_role_arn(stage.name)
    trusted = list(own.get("deployer_trusted_roles") or [])
    overrides["deployer_trusted_roles"] = [*trusted, *([role] if role not in trusted else [])]
    try:
        settings = load_settings(stage.name, directory, overrides)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    if settings.project != pipeline.project:
        raise ConfigError(
            f"{join(where, 'name')}: {file} is project {settings.project!r}, the pipeline "
            f"{pipeline.project!r}"
        )
    if len(pipeline.stage_role_name(stage.name)) > 64:
        raise ConfigError(
            f"{join(where, 'name')}: the stage's role name "
            f"{pipeline.stage_role_name(stage.name)!r} is longer than IAM's 64 characters"
        )
    test = stage.post_deploy_test
    if test is not None and test.batch_size > settings.api.max_rows:
        raise ConfigError(
            f"{join(where, 'post_deploy_test.batch_size')}: {test.batch_size} is above "
            f"{file}'s api.max_rows {settings.api.max_rows}"
        )
    return Stage(stage=stage, settings=settings)
