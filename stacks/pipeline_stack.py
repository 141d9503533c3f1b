"""The delivery pipeline's stack, in the tooling account: composes the artifact store and the
pipeline, and adds each environment's stage in the configured order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Environment, Stack
from constructs import Construct

from ml_constructs.delivery.artifacts import PipelineArtifacts, PipelineArtifactsProps
from ml_constructs.delivery.pipeline import (
    HELD_OUT_FILE,
    MODEL_FILE,
    DeliveryPipeline,
    DeliveryPipelineProps,
    EnvironmentStageProps,
    PredictionCheckProps,
    SourceProps,
)
from ml_constructs.operator_access import deployer_role_arn
from serving_config import Delivery
from serving_config.pipeline import partition
from stacks.application import ApplicationStage

#: What the synth step leaves for the stages (the first model, the held-out rows).
RELEASE_DIRECTORY = "build/release"


def synth_commands(pipeline_file: str) -> list[str]:
    """The synth step: the README's test command (it installs with scripts/bootstrap.sh and runs
    ruff, mypy, the import contracts and pytest with cdk-nag, cfn-lint and checkov), the first
    model's training with the bundled data, then ``cdk synth`` of this pipeline."""
    return [
        # CodePipeline's source archives may drop file modes; the scripts call each other.
        "chmod +x scripts/*.sh",
        "scripts/test.sh",
        f"mkdir -p {RELEASE_DIRECTORY}",
        f".venv/bin/python -m model_code.train --package-output {RELEASE_DIRECTORY}/{MODEL_FILE}",
        f"cp build/data/test.csv {RELEASE_DIRECTORY}/{HELD_OUT_FILE}",
        f". scripts/env.sh && npx cdk synth -c env={pipeline_file}",
    ]


class DeliveryPipelineStack(Stack):
    """CodePipeline (CDK Pipelines) delivering ``stages`` in order; cross-account keys on."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery: Delivery,
        stages: Sequence[ApplicationStage],
        cli_version: str,
        **kwargs: Any,
    ) -> None:
        pipeline = delivery.pipeline
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=pipeline.tooling_account, region=pipeline.tooling_region),
            **kwargs,
        )
        artifacts = PipelineArtifacts(
            self, "Artifacts", props=PipelineArtifactsProps(prefix=pipeline.name)
        )
        source = pipeline.source
        self.delivery = DeliveryPipeline(
            self,
            "Delivery",
            props=DeliveryPipelineProps(
                pipeline_name=pipeline.name,
                source=SourceProps(
                    kind=source.kind,
                    repository=source.repository,
                    branch=source.branch,
                    connection_arn=source.connection_arn,
                    trigger_on_push=source.trigger_on_push,
                ),
                artifact_bucket=artifacts.bucket,
                synth_commands=synth_commands(delivery.name),
                release_directory=RELEASE_DIRECTORY,
                cli_version=cli_version,
                self_mutation=pipeline.self_mutation,
            ),
        )
        for app_stage, stage in zip(stages, delivery.stages, strict=True):
            settings = stage.settings
            assert settings.account and settings.region
            test = stage.stage.post_deploy_test
            self.delivery.add_environment(
                app_stage,
                EnvironmentStageProps(
                    environment=settings.name,
                    region=settings.region,
                    deployer_role_arn=deployer_role_arn(
                        settings.prefix, settings.account, partition(settings.region)
                    ),
                    deployer_role_output=app_stage.data.outputs["DeployerRoleArn"],
                    serving_stack=app_stage.serving,
                    api_url_output=app_stage.serving.outputs["InferenceApiUrl"],
                    step_role_name=pipeline.stage_role_name(settings.name),
                    approval=stage.stage.approval,
                    prediction_check=(
                        PredictionCheckProps(
                            min_accuracy=test.min_accuracy,
                            min_auc=test.min_auc,
                            batch_size=test.batch_size,
                        )
                        if test
                        else None
                    ),
                ),
            )
        self.delivery.build()
