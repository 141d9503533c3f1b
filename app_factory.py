"""Builds the CDK app for one environment; shared by app.py, tests and the rehearsal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from serving_config import ConfigError, Settings, load_settings
from stacks import ModelDataStack, ModelServingStack

DEFAULT_ENVIRONMENT = "dev"
CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def feature_flags() -> dict[str, Any]:
    """cdk.json's context (feature flags), so tests synthesize exactly what the CLI does."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


def stack_names(settings: Settings) -> tuple[str, str]:
    """(data stack, serving stack) names, deployed in that order."""
    return f"{settings.prefix}-data", f"{settings.prefix}-serving"


def add_stacks(app: App, settings: Settings) -> tuple[ModelDataStack, ModelServingStack]:
    """Instantiate the two stacks of ``settings`` in ``app``."""
    env = (
        Environment(account=settings.account, region=settings.region) if settings.account else None
    )
    data_name, serving_name = stack_names(settings)
    data = ModelDataStack(app, data_name, settings=settings, env=env)
    serving = ModelServingStack(app, serving_name, settings=settings, data=data, env=env)
    Tags.of(app).add("project", settings.project)
    Tags.of(app).add("environment", settings.name)
    for tag in settings.tags:
        key, value = tag.split("=", 1)
        Tags.of(app).add(key, value)
    return data, serving


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> App:
    """An App with the stacks of ``-c env=NAME`` (default dev) and cdk-nag attached.

    ``-c config_dir=DIR`` reads environment files from DIR instead of serving_config's own.
    """
    app = App(context={**feature_flags(), **(context or {})}, outdir=outdir)
    env_name = app.node.try_get_context("env") or DEFAULT_ENVIRONMENT
    config_dir = app.node.try_get_context("config_dir")
    try:
        settings = (
            load_settings(str(env_name), Path(config_dir))
            if config_dir
            else load_settings(str(env_name))
        )
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    add_stacks(app, settings)
    # cdk-nag 3: validation plugins; any unacknowledged finding of either pack fails synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    return app
