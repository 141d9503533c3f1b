"""`cdk deploy` after a promotion: CloudFormation updates the endpoint blue/green with the
promotions' own policy and alarms, keeps the fleet autoscaling set, and applies data capture.

Each environment's synthesized endpoint is checked against the one policy both paths use
(``DeploymentPolicy``), read back from the promotion function's environment.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from ml_constructs.model_endpoint import ModelEndpoint, ModelEndpointProps
from ml_constructs.naming import endpoint_name
from serving_config import load_settings
from serving_core.deployment_policy import (
    DeploymentPolicy,
    DeploymentPolicyError,
)
from serving_core.variants import InstanceVariant, ServerlessVariant
from tests.synth_cache import synth

INSTANCE_ENVIRONMENTS = ("dev", "prod", "local")


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def endpoint(template: dict[str, Any]) -> dict[str, Any]:
    (props,) = resources(template, "AWS::SageMaker::Endpoint").values()
    return props


def tokens_as_text(value: Any) -> Any:
    """CloudFormation intrinsics (alarm names are Refs) replaced by "TOKEN"."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return "TOKEN"
        return {k: tokens_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tokens_as_text(v) for v in value]
    return value


def promotion_policy(template: dict[str, Any]) -> DeploymentPolicy:
    """The policy in the promotion function's environment, tokens rendered as TOKEN."""
    (function,) = [
        p
        for p in resources(template, "AWS::Lambda::Function").values()
        if "DEPLOYMENT_POLICY" in p.get("Environment", {}).get("Variables", {})
    ]
    joined = function["Environment"]["Variables"]["DEPLOYMENT_POLICY"]["Fn::Join"]
    text = "".join(p if isinstance(p, str) else "TOKEN" for p in joined[1])
    return DeploymentPolicy.from_json(text)


def fleet(env: str) -> tuple[int, int]:
    """The variant's fleet range: the scaling bounds and every schedule's (the steps must fit
    any size the fleet may have when it is updated)."""
    return load_settings(env).variant.fleet_range


@pytest.mark.parametrize("env", INSTANCE_ENVIRONMENTS)
def test_cloudformation_updates_use_the_promotion_policy(env: str) -> None:
    template = synth(env).serving_json
    props = endpoint(template)
    policy = promotion_policy(template)
    assert tokens_as_text(props["DeploymentConfig"]) == policy.deployment_config(*fleet(env))
    settings = load_settings(env).promotion
    assert policy.traffic_shifting == settings.traffic_shifting
    blue_green = props["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert blue_green["TerminationWaitInSeconds"] == settings.termination_wait_s
    assert blue_green["MaximumExecutionTimeoutInSeconds"] == settings.max_execution_timeout_s


@pytest.mark.parametrize("env", INSTANCE_ENVIRONMENTS)
def test_auto_rollback_watches_the_endpoint_alarms(env: str) -> None:
    template = synth(env).serving_json
    alarms = endpoint(template)["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    names = {k: p["AlarmName"] for k, p in resources(template, "AWS::CloudWatch::Alarm").items()}
    watched = [names[a["AlarmName"]["Ref"]] for a in alarms]
    prefix = load_settings(env).prefix
    assert watched == [
        f"{prefix}-{n}" for n in ("endpoint-5xx", "endpoint-4xx-rate", "model-latency-p99")
    ]


@pytest.mark.parametrize("env", INSTANCE_ENVIRONMENTS)
def test_the_fleet_autoscaling_set_survives_an_update(env: str) -> None:
    """Every instance environment autoscales: count and weight are retained, nothing excluded.
    DataCaptureConfig is not excluded: SageMaker documents its retention as "not currently
    supported", so data capture always comes from the new EndpointConfig."""
    assert load_settings(env).scaling is not None
    props = endpoint(synth(env).serving_json)
    assert props["RetainAllVariantProperties"] is True
    assert "ExcludeRetainedVariantProperties" not in props


def test_serverless_gets_what_sagemaker_allows_there() -> None:
    """Serverless (lowtraffic): guardrails fall back to all at once, baked and guarded by the
    alarms; no retained instance properties; no network isolation (not supported); the
    endpoint config's key encrypts SageMaker's copy of the image; no data capture."""
    template = synth("lowtraffic").serving_json
    props = endpoint(template)
    config = props["DeploymentConfig"]
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
    assert len(config["AutoRollbackConfiguration"]["Alarms"]) == 3
    assert "RollingUpdatePolicy" not in config  # excluded for serverless endpoints
    assert "RetainAllVariantProperties" not in props
    assert "ExcludeRetainedVariantProperties" not in props
    assert promotion_policy(template).deployment_config(1, all_at_once=True) == tokens_as_text(
        config
    )
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    assert model["EnableNetworkIsolation"] is False
    (endpoint_config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    assert "KmsKeyId" in endpoint_config
    assert "DataCaptureConfig" not in endpoint_config
    assert "ServerlessConfig" in endpoint_config["ProductionVariants"][0]


def test_prod_shifts_linearly_one_instance_at_a_time() -> None:
    """prod scales 2-8 instances: one instance is 10-50% of every fleet in that range."""
    routing = endpoint(synth("prod").serving_json)["DeploymentConfig"]["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"
    ]
    assert routing == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 600,
    }


def test_dev_fleet_of_one_shifts_all_at_once_after_baking() -> None:
    """dev may run one instance: no canary fits (half an instance), so all at once, still
    baked for wait_before_shift_s and guarded by the alarms."""
    props = endpoint(synth("dev").serving_json)
    routing = props["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120}


@pytest.mark.parametrize(
    ("shifting", "percent", "low", "high", "expected"),
    [
        ("canary", 50, 1, 2, None),  # half of one instance: all at once
        ("canary", 25, 2, 2, 1),  # a quarter of 2 would be half an instance: one instance
        ("canary", 10, 10, 20, 1),
        ("canary", 50, 4, 8, 2),
        ("linear", 25, 2, 8, 1),
        ("linear", 25, 8, 8, 2),
        ("linear", 10, 1, 1, None),
        ("all_at_once", 10, 10, 10, None),
    ],
)
def test_steps_are_whole_instances_within_sagemakers_bounds(
    shifting: str, percent: int, low: int, high: int, expected: int | None
) -> None:
    policy = DeploymentPolicy(shifting, percent, 0, 0, 600)
    step = policy.step_instances(low, high)
    assert step == expected
    for size in range(low, high + 1):
        if step is not None:
            assert step <= 0.5 * size  # CanarySize and LinearStepSize: at most 50%
            if shifting == "linear":
                assert step >= 0.1 * size  # LinearStepSize: at least 10%


def test_linear_steps_that_fit_no_fleet_size_are_refused() -> None:
    policy = DeploymentPolicy("linear", 25, 0, 0, 600)
    with pytest.raises(DeploymentPolicyError, match="no linear step of whole instances"):
        policy.step_instances(2, 30)


def _endpoint_stack(kind: str, autoscaled: bool) -> dict[str, Any]:
    app = App()
    stack = Stack(app, "Test")
    key = kms.Key(stack, "Key")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    construct = ModelEndpoint(
        stack,
        "Endpoint",
        props=ModelEndpointProps(
            prefix="proj-test",
            image_uri="image",
            model_data_url="s3://bucket/models/model.tar.gz",
            execution_role=role,
            encryption_key=key,
            variant=(
                ServerlessVariant()
                if kind == "serverless"
                else InstanceVariant(initial_instance_count=2)
            ),
            data_capture_s3_uri="s3://bucket/data-capture/",
            data_capture_percent=0 if kind == "serverless" else 100,
        ),
    )
    construct.use_deployment_policy(
        DeploymentPolicy("canary", 10, 60, 60, 600, ("alarm",)),
        autoscaled=autoscaled,
    )
    return Template.from_stack(stack).to_json()


def test_without_autoscaling_the_configured_instance_count_takes_effect() -> None:
    props = endpoint(_endpoint_stack("instance", autoscaled=False))
    assert props["RetainAllVariantProperties"] is True
    assert props["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredInstanceCount"}
    ]


def test_an_instance_type_or_variant_change_replaces_the_endpoint() -> None:
    """SageMaker refuses to change the instance type of an autoscaled variant in place: the
    name (and so the scalable target's resource id) follows the fleet, so CloudFormation
    creates a new endpoint and target and deletes the old ones."""
    names = {
        endpoint_name("proj-prod", InstanceVariant(instance_type="ml.c5.xlarge")),
        endpoint_name("proj-prod", InstanceVariant(instance_type="ml.c5.2xlarge")),
        endpoint_name("proj-prod", InstanceVariant(name="Blue", instance_type="ml.c5.xlarge")),
        endpoint_name("proj-prod", ServerlessVariant()),
    }
    assert names == {
        "proj-prod-c5-xlarge",
        "proj-prod-c5-2xlarge",
        "proj-prod-c5-xlarge-Blue",
        "proj-prod-serverless",
    }
    target = resources(synth("prod").serving_json, "AWS::ApplicationAutoScaling::ScalableTarget")
    (props,) = target.values()
    assert props["ResourceId"] == "endpoint/mlserving-prod-c5-xlarge/variant/AllTraffic"


def test_endpoint_names_longer_than_sagemaker_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="longer than SageMaker's 63 characters"):
        endpoint_name("p" * 41, InstanceVariant(name="v" * 20))


def test_policy_round_trips_through_the_function_environment() -> None:
    policy = DeploymentPolicy("linear", 20, 30, 40, 900, ("a", "b"))
    assert DeploymentPolicy.from_json(json.dumps(policy.as_dict())) == policy
