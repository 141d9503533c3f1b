"""Scaling from configuration: scheduled bounds in a time zone, a CPU target, the
high-resolution concurrency target, and serverless provisioned concurrency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from ml_constructs.model_endpoint import ModelEndpoint, ModelEndpointProps
from serving_config import ConfigError, load_settings
from serving_config.scaling import cron_problem
from serving_core.variants import ServerlessVariant
from tests.synth_cache import synth


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_prod_schedules_change_the_minimum_in_its_time_zone() -> None:
    (target,) = resources(synth("prod").serving_json, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ScheduledActions"] == [
        {
            "ScalableTargetAction": {"MinCapacity": 3},
            "Schedule": "cron(0 7 ? * MON-FRI *)",
            "ScheduledActionName": "weekday-business-hours",
            "Timezone": "Europe/Berlin",
        },
        {
            "ScalableTargetAction": {"MinCapacity": 2},
            "Schedule": "cron(0 20 ? * MON-FRI *)",
            "ScheduledActionName": "nights-and-weekends",
            "Timezone": "Europe/Berlin",
        },
    ]
    settings = load_settings("prod").scaling
    assert settings is not None and settings.fleet_range == (2, 8)


def test_prod_tracks_cpu_as_a_customized_metric_summed_over_its_vcpus() -> None:
    (cpu,) = [
        p
        for p in resources(synth("prod").serving_json, "AWS::ApplicationAutoScaling::ScalingPolicy")
        if p["PolicyName"].endswith("-cpu-utilization")
    ]
    config = cpu["TargetTrackingScalingPolicyConfiguration"]
    assert config["CustomizedMetricSpecification"] == {
        "Dimensions": [
            {"Name": "EndpointName", "Value": "mlserving-prod-c5-xlarge"},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        "MetricName": "CPUUtilization",
        "Namespace": "/aws/sagemaker/Endpoints",
        "Statistic": "Average",
        "Unit": "Percent",
    }
    assert config["TargetValue"] == 70 * 4  # ml.c5.xlarge: 4 vCPUs, CloudWatch sums them
    assert cpu["PolicyType"] == "TargetTrackingScaling"


def test_staging_tracks_the_high_resolution_concurrency_metric() -> None:
    found = resources(synth("staging").serving_json, "AWS::ApplicationAutoScaling::ScalingPolicy")
    metrics = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for p in found
    }
    assert metrics == {
        "SageMakerVariantInvocationsPerInstance": 1000,
        "SageMakerVariantConcurrentRequestsPerModelHighResolution": 4,
    }


def test_without_options_only_invocations_are_tracked() -> None:
    found = resources(synth("dev").serving_json, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(found) == 1
    (target,) = resources(synth("dev").serving_json, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert "ScheduledActions" not in target


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 7 ? * MON-FRI *)", None),
        ("cron(30 6 ? * MON *)", None),
        ("cron(0 0 1 * ? 2027)", None),
        ("0 7 * * 1-5", "is not cron("),
        ("cron(0 7 * * 1-5)", "has 5 fields"),
        ("cron(0 7 * * MON-FRI *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 25 ? * MON *)", "'25' is not a valid hours field"),
        ("cron(61 7 ? * MON *)", "'61' is not a valid minutes field"),
    ],
)
def test_cron_is_application_auto_scalings_six_field_dialect(
    expression: str, problem: str | None
) -> None:
    found = cron_problem(expression)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def _load(tmp_path: Path, data: dict[str, Any]) -> None:
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(data))
    load_settings("test", tmp_path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "scaling": {
                    "schedules": [{"name": "n", "cron": "cron(0 7 * * 1-5)", "min_capacity": 1}]
                }
            },
            r"scaling.schedules\[0\].cron: 'cron\(0 7 \* \* 1-5\)' has 5 fields",
        ),
        (
            {"scaling": {"schedules": [{"name": "n", "cron": "cron(0 7 ? * MON *)"}]}},
            r"scaling.schedules\[0\]: set min_capacity, max_capacity or both",
        ),
        (
            {
                "scaling": {
                    "schedules": [
                        {
                            "name": "n",
                            "cron": "cron(0 7 ? * MON *)",
                            "min_capacity": 3,
                            "max_capacity": 2,
                        }
                    ]
                }
            },
            r"scaling.schedules\[0\].max_capacity: 2 is below min_capacity 3",
        ),
        (
            {
                "scaling": {
                    "schedules": [
                        {"name": "n", "cron": "cron(0 7 ? * MON *)", "min_capacity": 1},
                        {"name": "n", "cron": "cron(0 9 ? * MON *)", "min_capacity": 2},
                    ]
                }
            },
            r"scaling.schedules\[0\].name: 'n' names more than one schedule",
        ),
        (
            {"scaling": {"time_zone": "Europe/Atlantis"}},
            r"scaling.time_zone: 'Europe/Atlantis' is not an IANA time zone",
        ),
        ({"scaling": {"cpu_target_percent": 150}}, r"scaling.cpu_target_percent: 150.0 is outside"),
        (
            {"scaling": {"concurrent_requests_target": 0}},
            r"scaling.concurrent_requests_target: 0.0 must be above 0",
        ),
        (
            {
                "endpoint": {
                    "kind": "serverless",
                    "data_capture_percent": 0,
                    "serverless_max_concurrency": 5,
                    "serverless_provisioned_concurrency": 6,
                },
                "scaling": None,
                "model_monitor": {"enabled": False},
            },
            r"endpoint.serverless_provisioned_concurrency: 6 is outside 1-serverless_max_conc",
        ),
        (
            {"endpoint": {"serverless_provisioned_concurrency": 1}},
            r"endpoint.serverless_provisioned_concurrency: applies to a serverless variant only",
        ),
        (
            {
                "promotion": {"traffic_shifting": "linear"},
                "scaling": {
                    "min_capacity": 2,
                    "max_capacity": 4,
                    "schedules": [
                        {"name": "peak", "cron": "cron(0 7 ? * MON *)", "max_capacity": 30}
                    ],
                },
                "endpoint": {"initial_instance_count": 2},
            },
            r"promotion.traffic_shifting: linear steps .* from 2 to 30",
        ),
    ],
)
def test_bad_scaling_options_name_the_field(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, data)


def _serverless_config(provisioned: int | None) -> dict[str, Any]:
    app = App()
    stack = Stack(app, "Test")
    ModelEndpoint(
        stack,
        "Endpoint",
        props=ModelEndpointProps(
            prefix="proj-test",
            image_uri="image",
            model_data_url="s3://bucket/models/model.tar.gz",
            execution_role=iam.Role(
                stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
            ),
            encryption_key=kms.Key(stack, "Key"),
            variant=ServerlessVariant(max_concurrency=5, provisioned_concurrency=provisioned),
            data_capture_s3_uri="s3://bucket/data-capture/",
            data_capture_percent=0,
        ),
    )
    return Template.from_stack(stack).to_json()


def test_serverless_provisioned_concurrency_reaches_the_endpoint_config() -> None:
    from tests.cfn_lint import lint

    template = _serverless_config(2)
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MaxConcurrency": 5,
        "MemorySizeInMB": 2048,
        "ProvisionedConcurrency": 2,
    }
    import json

    problems = [f"{m.rule.id} {m.message}" for m in lint(json.dumps(template), ["us-east-1"])]
    assert problems == []
    (without,) = resources(_serverless_config(None), "AWS::SageMaker::EndpointConfig")
    assert "ProvisionedConcurrency" not in without["ProductionVariants"][0]["ServerlessConfig"]


def test_provisioned_concurrency_above_max_concurrency_is_refused_by_the_construct() -> None:
    with pytest.raises(ValueError, match="provisioned_concurrency: 6 is outside 1-max_concurrency"):
        ServerlessVariant(max_concurrency=5, provisioned_concurrency=6)


def test_promotions_keep_provisioned_concurrency() -> None:
    from ml_constructs.model_endpoint import production_variant

    props = ModelEndpointProps(
        prefix="proj-test",
        image_uri="image",
        model_data_url="s3://bucket/m.tar.gz",
        execution_role=None,  # type: ignore[arg-type]
        encryption_key=None,  # type: ignore[arg-type]
        variant=ServerlessVariant(provisioned_concurrency=3),
        data_capture_s3_uri="s3://bucket/dc/",
        data_capture_percent=0,
    )
    assert production_variant(props, "m")["ServerlessConfig"]["ProvisionedConcurrency"] == 3
