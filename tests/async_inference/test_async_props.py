"""The constructs' own props refuse what SageMaker forbids for asynchronous endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from ml_constructs.async_autoscaling import AsyncAutoscalingProps
from ml_constructs.model_endpoint import ModelEndpointProps
from serving_core.variants import (
    AsyncOutput,
    AsyncVariant,
    InstanceVariant,
    ServerlessVariant,
    Variant,
    VariantError,
)

ASYNC = AsyncOutput(
    output_uri="s3://b/async/output/",
    failure_uri="s3://b/async/failures/",
    key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
    success_topic="arn:aws:sns:us-east-1:111111111111:s",
    error_topic="arn:aws:sns:us-east-1:111111111111:e",
)
VARIANTS: dict[str, Variant] = {
    "instance": InstanceVariant(),
    "serverless": ServerlessVariant(),
    "async": AsyncVariant(max_concurrent_invocations_per_instance=4),
}


def _props(kind: str, asynchronous: Any, capture: int = 0) -> ModelEndpointProps:
    stack = Stack(App(), "S")
    return ModelEndpointProps(
        prefix="mlserving-t",
        image_uri="image",
        model_data_url="s3://b/models/m.tar.gz",
        execution_role=iam.Role(
            stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        ),
        encryption_key=kms.Key(stack, "K"),
        variant=VARIANTS[kind],
        data_capture_s3_uri="s3://b/data-capture/",
        data_capture_percent=capture,
        async_output=asynchronous,
    )


@pytest.mark.parametrize(
    ("kind", "asynchronous", "capture", "message"),
    [
        ("serverless", ASYNC, 0, "async_output"),
        ("instance", ASYNC, 0, "async_output"),
        ("async", None, 0, "async_output"),
        ("async", ASYNC, 50, "data_capture_percent"),
    ],
)
def test_async_config_only_on_async_instance_variants(
    kind: str, asynchronous: Any, capture: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _props(kind, asynchronous, capture)


def test_async_variant_runs_network_isolated_on_instances() -> None:
    props = _props("async", ASYNC)
    assert props.variant.supports("network_isolation")
    shape = props.variant.async_inference_config(props.async_output)
    assert shape is not None
    assert shape["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 4}
    assert shape["OutputConfig"]["NotificationConfig"]["ErrorTopic"].endswith(":e")


@pytest.mark.parametrize("limit", [0, 1001])
def test_the_per_instance_limit_is_sagemakers_range(limit: int) -> None:
    with pytest.raises(VariantError, match=r"max_concurrent_invocations_per_instance: .*1-1000"):
        AsyncVariant(max_concurrent_invocations_per_instance=limit)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": InstanceVariant()}, "variant: an instance variant answers in real time"),
        ({"variant": ServerlessVariant()}, "variant: a serverless variant has no asynchronous"),
        ({"target_backlog_per_instance": 0}, "target_backlog_per_instance"),
    ],
)
def test_async_autoscaling_props_refuse_what_cannot_scale(
    changes: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {
        "prefix": "mlserving-t",
        "endpoint_name": "mlserving-t-async-m5-large",
        "variant": AsyncVariant(min_capacity=0, max_capacity=2),
        "target_backlog_per_instance": 5.0,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        AsyncAutoscalingProps(**values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_capacity": -1}, "min_capacity"),
        ({"max_capacity": 0, "min_capacity": 0}, "max_capacity >= 1"),
        ({"instance_type": "ml.t2.medium"}, "burstable"),
    ],
)
def test_an_async_variant_refuses_a_fleet_that_cannot_scale(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(VariantError, match=message):
        AsyncVariant(**changes)
