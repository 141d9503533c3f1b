"""Builds the CDK app for one environment, or for a delivery pipeline; shared by app.py, tests
and the rehearsal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ml_constructs.preconditions.pack import DeployPreconditionChecks
from serving_config import (
    ENVIRONMENTS_DIR,
    ConfigError,
    Delivery,
    available_pipelines,
    load_pipeline,
    load_settings,
)
from stacks import ApplicationStage, DeliveryPipelineStack, add_stacks, stack_names

__all__ = ["add_pipeline", "add_stacks", "build_app", "cdk_cli_version", "stack_names"]

DEFAULT_ENVIRONMENT = "dev"
ROOT = Path(__file__).resolve().parent
CDK_JSON = ROOT / "cdk.json"
PACKAGE_JSON = ROOT / "package.json"


def feature_flags() -> dict[str, Any]:
    """cdk.json's context (feature flags), so tests synthesize exactly what the CLI does."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


def cdk_cli_version() -> str:
    """The CDK CLI version package.json pins (the pipeline's own steps use the same)."""
    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return str(package["devDependencies"]["aws-cdk"])


def add_pipeline(app: App, delivery: Delivery) -> DeliveryPipelineStack:
    """One Stage per environment of ``delivery`` (their stacks built as the plain workflow
    builds them) and the pipeline stack that deploys them in order."""
    stages = [
        ApplicationStage(app, stage.settings.name, settings=stage.settings)
        for stage in delivery.stages
    ]
    stack = DeliveryPipelineStack(
        app,
        delivery.pipeline.name,
        delivery=delivery,
        stages=stages,
        cli_version=cdk_cli_version(),
    )
    Tags.of(stack).add("project", delivery.pipeline.project)
    return stack


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> App:
    """An App with the stacks of ``-c env=NAME`` (default dev) and cdk-nag attached; when NAME's
    file has a ``pipeline:`` section, the pipeline stack and one stage per environment.

    ``-c config_dir=DIR`` reads configuration files from DIR instead of serving_config's own.
    """
    app = App(context={**feature_flags(), **(context or {})}, outdir=outdir)
    name = str(app.node.try_get_context("env") or DEFAULT_ENVIRONMENT)
    config_dir = app.node.try_get_context("config_dir")
    directory = Path(config_dir) if config_dir else ENVIRONMENTS_DIR
    try:
        if name in available_pipelines(directory):
            add_pipeline(app, load_pipeline(name, directory))
        else:
            add_stacks(app, load_settings(name, directory))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # cdk-nag 3: validation plugins; any unacknowledged finding of a pack fails synth (in a
    # pipeline app, the stages' stacks and the pipeline stack alike): AWS Solutions, NIST 800-53
    # rev 5, and this project's pack of AWS's deploy-time preconditions.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), NIST80053R5Checks(app), DeployPreconditionChecks(app)
    )
    return app
