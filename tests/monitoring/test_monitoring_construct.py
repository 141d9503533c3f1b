"""The monitoring construct on its own: subscribers from its thresholds, props validation."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from ml_constructs.monitoring.construct import AlarmThresholds, Monitoring, MonitoringProps


def monitoring(**overrides: object) -> tuple[Stack, Monitoring]:
    stack = Stack(App(), "Test")
    props = {
        "prefix": "proj-test",
        "alarms": AlarmThresholds(emails=("ops@example.com", "ml@example.com")),
        "encryption_key": kms.Key(stack, "Key"),
        "endpoint_name": "proj-test-endpoint",
        "variant_name": "AllTraffic",
        "instance_type": "ml.c5.xlarge",
        **overrides,
    }
    return stack, Monitoring(stack, "Monitoring", props=MonitoringProps(**props))  # type: ignore[arg-type]


def test_each_configured_email_subscribes_to_the_topic() -> None:
    stack, _ = monitoring()
    template = Template.from_stack(stack)
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    endpoints = sorted(s["Properties"]["Endpoint"] for s in subscriptions.values())
    assert endpoints == ["ml@example.com", "ops@example.com"]
    assert {s["Properties"]["Protocol"] for s in subscriptions.values()} == {"email"}


def test_cpu_threshold_scales_with_the_instance_vcpus() -> None:
    stack, _ = monitoring()
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmName": "proj-test-endpoint-cpu", "Threshold": 80 * 4},  # c5.xlarge: 4 vCPUs
    )


def test_rollback_alarms_exist_before_function_and_api_are_added() -> None:
    _, built = monitoring()
    assert [a.alarm_name for a in built.rollback_alarms] == [
        built.alarms[name].alarm_name
        for name in ("endpoint-5xx", "endpoint-4xx-rate", "model-latency-p99")
    ]


def test_unknown_instance_size_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="cannot tell the vCPUs"):
        monitoring(instance_type="ml.m5.enormous")


def test_invalid_prefix_is_rejected() -> None:
    with pytest.raises(ValueError, match="prefix"):
        monitoring(prefix="Bad Prefix")
