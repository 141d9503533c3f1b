"""Each construct's own props (no configuration types): they name every wrong field at once,
and the stacks' adapters (``stacks/construct_props.py``) carry every setting they read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms

from ml_constructs.drift_monitor.construct import DriftMonitorProps
from ml_constructs.function_setup import FunctionSpec
from ml_constructs.model_monitor.construct import ModelMonitorProps
from ml_constructs.model_promotion.construct import RegistryApprovals
from ml_constructs.monitoring.construct import AlarmThresholds, MonitoringProps
from ml_constructs.private_network.construct import ImportedSubnet, PrivateNetworkProps
from ml_constructs.retraining.construct import RetrainingProps
from serving_config import available_environments, load_settings
from stacks.construct_props import (
    drift_monitor_props,
    model_monitor_props,
    monitoring_props,
    registry_approvals,
    retraining_props,
)

PREFIX = "proj-test"
STORAGE: Any = SimpleNamespace(bucket_name="proj-test-bucket", bucket=object())
TOPIC: Any = SimpleNamespace(topic_arn="arn:aws:sns:eu-west-1:123456789012:proj-test-alarms")


@pytest.fixture(scope="module")
def key() -> kms.IKey:
    return kms.Key(Stack(App(), "Test"), "Key")


def problems_of(error: pytest.ExceptionInfo[ValueError]) -> list[str]:
    return str(error.value).split("; ")


def test_alarm_thresholds_name_every_wrong_field() -> None:
    wrong = AlarmThresholds(
        evaluation_periods=3, datapoints_to_alarm=4, period_s=45, cpu_utilization_percent=0
    )
    assert [name for name, _ in wrong.problems()] == [
        "datapoints_to_alarm",
        "period_s",
        "cpu_utilization_percent",
    ]
    key = kms.Key(Stack(App(), "S"), "K")
    with pytest.raises(ValueError) as error:
        MonitoringProps(
            prefix="mlserving-t",
            alarms=wrong,
            encryption_key=key,
            endpoint_name="e",
            variant_name="v",
        )
    found = problems_of(error)
    assert len(found) == 3
    assert found[0].startswith("alarms.datapoints_to_alarm: 4")
    assert found[1].startswith("alarms.period_s: 45")
    assert found[2].startswith("alarms.cpu_utilization_percent: 0")


def test_registry_approvals_need_a_group_and_a_whole_source() -> None:
    with pytest.raises(ValueError) as error:
        RegistryApprovals(group_name="", source_account="12345", source_bucket="b")
    found = problems_of(error)
    assert [p.split(":")[0] for p in found] == ["group_name", "source_account", "source_account"]
    assert RegistryApprovals("group").own_group
    other = RegistryApprovals("group", "123456789012", "bucket", "arn:aws:kms:x")
    assert not other.own_group


def test_function_spec_names_empty_fields() -> None:
    with pytest.raises(ValueError) as error:
        FunctionSpec(role_purpose="", role_description="d", what="", dead_letters="")
    assert problems_of(error) == [
        "role_purpose: must not be empty",
        "what: must not be empty",
        "dead_letters: say what the queue holds, or None for no queue",
    ]


def test_an_imported_network_needs_its_ids(key: kms.IKey) -> None:
    with pytest.raises(ValueError) as error:
        PrivateNetworkProps(
            prefix=PREFIX,
            mode="import",
            encryption_key=key,
            bucket_arn="arn:aws:s3:::b",
            subnets=(ImportedSubnet("subnet-1", "eu-west-1a"),),
        )
    assert problems_of(error) == [
        "vpc_id: 'import' needs the VPC's id",
        "subnets: 'import' needs subnets in at least two zones",
        "subnets[0].route_table_id: the S3 gateway endpoint needs it",
    ]


def valid_retraining_props(key: kms.IKey, **fields: Any) -> RetrainingProps:
    """RetrainingProps of a valid stack but for ``fields``."""
    values: dict[str, Any] = {
        "prefix": PREFIX,
        "environment_name": "test",
        "storage_bucket": STORAGE.bucket,
        "bucket_name": STORAGE.bucket_name,
        "encryption_key": key,
        "training_role_arn": "arn",
        "training_image_uri": "image",
        "topic": TOPIC,
        "alarm_name_prefixes": (f"{PREFIX}-drift-",),
        "promotes_uploads": True,
        **fields,
    }
    return RetrainingProps(**values)


def test_retraining_props_name_every_wrong_field(key: kms.IKey) -> None:
    with pytest.raises(ValueError) as error:
        valid_retraining_props(
            key,
            alarm_name_prefixes=("other-drift-",),
            cooldown_hours=0,
            hyperparameters={"epochs": ""},
        )
    found = problems_of(error)
    assert [p.split(" ")[0].rstrip(":") for p in found] == [
        "alarm_name_prefixes",
        "cooldown_hours",
        "hyperparameters",
    ]


@pytest.mark.parametrize(
    ("framework", "hyperparameters", "problem"),
    [
        ("mxnet", {}, "framework 'mxnet' is not one of tensorflow, pytorch"),
        ("xgboost", {"framework": "sklearn"}, "hyperparameters: framework=sklearn contradicts"),
    ],
)
def test_retraining_props_refuse_a_framework_train_py_would_not_run(
    key: kms.IKey, framework: str, hyperparameters: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        valid_retraining_props(key, hyperparameters=hyperparameters, framework=framework)


def test_drift_monitor_props_report_the_analyzers_problems_too(key: kms.IKey) -> None:
    with pytest.raises(ValueError) as error:
        DriftMonitorProps(
            prefix=PREFIX,
            endpoint_name="endpoint",
            storage=STORAGE,
            encryption_key=key,
            topic=TOPIC,
            schedule="rate(1 hour)",
            memory_mb=64,
            sample_size=10,
        )
    found = problems_of(error)
    assert found[0].startswith("schedule 'rate(1 hour)'")
    assert found[1].startswith("memory_mb 64")
    assert any("SAMPLE_SIZE: 10" in p for p in found[2:])


def test_model_monitor_props_keep_model_monitors_limits(key: kms.IKey) -> None:
    with pytest.raises(ValueError) as error:
        ModelMonitorProps(
            prefix=PREFIX,
            endpoint_name="endpoint",
            storage=STORAGE,
            encryption_key=key,
            schedule="cron(30 * ? * * *)",
            max_runtime_s=3600,
        )
    found = problems_of(error)
    assert found[0].startswith("schedule 'cron(30 * ? * * *)'")
    assert found[1] == "max_runtime_s 3600 is outside 1-1800"


@pytest.mark.parametrize("env", available_environments())
def test_the_alarm_thresholds_are_the_alarm_settings(env: str, key: kms.IKey) -> None:
    settings = load_settings(env)
    props = monitoring_props(
        settings, encryption_key=key, endpoint_name="e", variant_name="v", instance_type=None
    )
    assert props.alarms is settings.alarms  # the shared thresholds type, as configured


MONITORED = [e for e in available_environments() if load_settings(e).model_monitor.enabled]


def test_some_shipped_environments_are_monitored() -> None:
    assert len(MONITORED) >= 3  # the next test reads every one of them


@pytest.mark.parametrize("env", MONITORED)
def test_the_monitor_props_carry_the_monitoring_settings(env: str, key: kms.IKey) -> None:
    settings = load_settings(env)
    monitor = settings.model_monitor
    common = {"endpoint_name": "e", "storage": STORAGE, "encryption_key": key, "network": None}
    sagemaker = model_monitor_props(settings, **common)
    for name in ("schedule", "instance_type", "volume_size_gb", "max_runtime_s"):
        assert getattr(sagemaker, name) == getattr(monitor, name)
    own = drift_monitor_props(settings, topic=TOPIC, removal_policy=RemovalPolicy.RETAIN, **common)
    assert own.window_hours == monitor.interval_hours
    for name in ("sample_size", "min_labels", "drift_share", "stattest", "memory_mb"):
        assert getattr(own, name) == getattr(monitor.own, name)


@pytest.mark.parametrize("env", available_environments())
def test_retraining_and_approvals_follow_the_registry_settings(env: str, key: kms.IKey) -> None:
    settings = load_settings(env)
    approvals = registry_approvals(settings)
    assert (approvals is not None) == settings.registry.from_registry
    if approvals is not None:
        assert approvals.group_name == (
            settings.registry.source_group_name or settings.model_package_group
        )
    retraining = settings.model_monitor.retraining
    if not retraining.enabled:
        return
    props = retraining_props(
        settings,
        storage=STORAGE,
        encryption_key=key,
        training_role_arn="arn",
        training_image_uri="image",
        topic=TOPIC,
        alarm_name_prefixes=(f"{settings.prefix}-drift-",),
        network=None,
        removal_policy=RemovalPolicy.RETAIN,
    )
    assert props.promotes_uploads == settings.registry.from_upload
    assert [f"{k}={v}" for k, v in props.hyperparameters.items()] == list(
        retraining.hyperparameters
    )
