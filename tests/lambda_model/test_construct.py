"""The LambdaModel construct on its own (one small synth): a policy without a predefined
CodeDeploy configuration gets a custom one, no schedules means no scalable target, and its
props name every broken field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from ml_constructs.lambda_model.construct import (
    LambdaModel,
    LambdaModelProps,
    ScheduledConcurrency,
)
from serving_core.deployment_policy import DeploymentPolicy, lambda_traffic_shifting
from serving_core.variants import LambdaVariant


def props(stack: Stack, **changes: Any) -> LambdaModelProps:
    base = LambdaModelProps(
        prefix="mlserving-unit",
        variant=LambdaVariant(architecture="x86_64", memory_mb=512),
        model_data_url="s3://bucket/models/model.tar.gz",
        bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "bucket"),
        encryption_key=kms.Key.from_key_arn(
            stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/k"
        ),
        feature_count=30,
        shifting=lambda_traffic_shifting(DeploymentPolicy("linear", 20, 120, 0, 1800)),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = App()
    stack = Stack(app, "Unit")
    model = LambdaModel(stack, "Model", props=props(stack))
    # The group rolls back on alarms; the stack gives it the alias's (Monitoring's).
    model.add_rollback_alarms(
        [model.alias.metric_errors().create_alarm(stack, "E", threshold=1, evaluation_periods=1)]
    )
    assert model.scaling is None and model.target.endpoint_name == "mlserving-unit-model"
    return app.synth().get_stack_by_name("Unit").template  # type: ignore[no-any-return]


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_a_custom_policy_gets_a_custom_codedeploy_configuration(template: dict[str, Any]) -> None:
    (config,) = of_type(template, "AWS::CodeDeploy::DeploymentConfig")
    assert config["Properties"]["ComputePlatform"] == "Lambda"
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedLinear",
        "TimeBasedLinear": {"LinearInterval": 2, "LinearPercentage": 20},
    }
    (group,) = of_type(template, "AWS::CodeDeploy::DeploymentGroup")
    assert group["Properties"]["DeploymentConfigName"] == {
        "Ref": next(
            k
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::CodeDeploy::DeploymentConfig"
        )
    }


def test_without_schedules_or_provisioned_concurrency(template: dict[str, Any]) -> None:
    assert not of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    (alias,) = of_type(template, "AWS::Lambda::Alias")
    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]
    (function,) = of_type(template, "AWS::Lambda::Function")
    assert function["Properties"]["Architectures"] == ["x86_64"]
    assert "ReservedConcurrentExecutions" not in function["Properties"]
    (layer,) = of_type(template, "AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]


def test_every_broken_prop_is_named() -> None:
    stack = Stack(App(), "Broken")
    with pytest.raises(ValueError) as error:
        props(
            stack,
            feature_count=0,
            max_payload_bytes=7_000_000,
            capture_percent=101,
            schedules=(ScheduledConcurrency("day", "cron(0 8 ? * * *)", 2, 2),),
        )
    message = str(error.value)
    for field in ("feature_count", "max_payload_bytes", "capture_percent", "schedules"):
        assert f"{field}:" in message
