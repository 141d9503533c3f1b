"""Configuration errors stop synth with one message that names the field."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving_config import ConfigError, available_environments, load_settings
from serving_config.service_model import ENUMERATED_FIELDS, enum_values

ROOT = Path(__file__).resolve().parents[2]


def write_env(tmp_path: Path, name: str, data: object) -> Path:
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def load_with(tmp_path: Path, data: object) -> None:
    load_settings("test", write_env(tmp_path, "test", data))


def test_shipped_environments_load() -> None:
    names = available_environments()
    assert {"dev", "prod", "local", "lowtraffic"} <= set(names)
    for name in names:
        assert load_settings(name).name == name


def test_dev_and_prod_differ_in_retention() -> None:
    assert load_settings("dev").removal_policy == "destroy"
    assert load_settings("prod").removal_policy == "retain"


def test_unknown_environment_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa'.*known environments: .*dev"):
        load_settings("qa")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"scaling": {"min_capacity": 3, "max_capacity": 2}},
            r"test.yaml: scaling.max_capacity: 2 is below min_capacity 3",
        ),
        ({"scaling": {"min_capacity": 0}}, r"scaling.min_capacity: 0 must be at least 1"),
        (
            {"endpoint": {"data_capture_percent": 101}},
            r"endpoint.data_capture_percent: 101 is outside 0-100",
        ),
        (
            {"endpoint": {"data_capture_percent": -1}},
            r"endpoint.data_capture_percent: -1 is outside 0-100",
        ),
        (
            {"account": "12345", "region": "eu-west-1"},
            r"account: '12345' is not a 12-digit AWS account id",
        ),
        ({"account": 123456789012}, r"account: expected a string"),
        ({"account": "123456789012"}, r"region: an environment that names an account"),
        ({"region": "mars-1"}, r"region: 'mars-1' is not an AWS region name"),
        (
            {"endpoint": {"instnce_type": "ml.m5.large"}},
            r"endpoint: unknown field\(s\) instnce_type",
        ),
        ({"removal_policy": "destroy"}, r"removal_policy: 'destroy' .* only when sandbox is true"),
        (
            {"removal_policy": "delete"},
            r"removal_policy: 'delete' is not one of 'retain', 'destroy'",
        ),
        (
            {"endpoint": {"kind": "serverless", "data_capture_percent": 0}},
            r"scaling: autoscaling does not apply to a serverless variant",
        ),
        (
            {"endpoint": {"kind": "serverless"}, "scaling": None},
            r"endpoint.data_capture_percent: SageMaker does not support data capture",
        ),
        (
            {"endpoint": {"instance_type": "ml.t2.medium"}},
            r"scaling: SageMaker cannot autoscale burstable ml.t2.medium",
        ),
        ({"endpoint": {"instance_type": "m5.large"}}, r"endpoint.instance_type: 'm5.large'"),
        (
            {"endpoint": {"initial_instance_count": 5}, "scaling": {"max_capacity": 4}},
            r"endpoint.initial_instance_count: 5 is outside the fleet range 1-4",
        ),
        ({"endpoint": {"serverless_memory_mb": 1000}}, r"serverless_memory_mb: 1000 is not one of"),
        (
            {"scaling": {"scale_in_cooldown_s": 7200}},
            r"scaling.scale_in_cooldown_s: 7200 is outside",
        ),
        ({"model": {"feature_count": 0}}, r"model.feature_count: 0 is outside"),
        (
            {"model": {"initial_artifact_key": "x.tar.gz"}},
            r"model.initial_artifact_key: 'x.tar.gz'",
        ),
        ({"sandbox": "yes"}, r"sandbox: expected true or false"),
        ({"name": "other"}, r"name: the environment name comes from the file name"),
        ({"tags": ["owner"]}, r"tags\[0\]: 'owner' is not KEY=VALUE"),
        ({"project": "Bad_Name"}, r"project: 'Bad_Name' must be 2-20 lowercase"),
        ({"auto_delete_objects": True}, r"auto_delete_objects: auto-delete of objects needs"),
        ([1, 2], r"expected a mapping at the top level"),
        (
            {"endpoint": {"instance_type": "ml.inf2.xlarge"}},
            r"endpoint.instance_type: ml.inf2.xlarge needs a Neuron or ROCm image",
        ),
        # Instance types are checked against botocore's service model (SageMaker's own enum):
        # a typo, and a family SageMaker hosting does not offer, fail synth with the field.
        (
            {"endpoint": {"instance_type": "ml.m5.larg"}},
            r"endpoint.instance_type: 'ml.m5.larg' is not a value AWS accepts for "
            r"CreateEndpointConfig .*ProductionVariantInstanceType\) \(close: .*ml.m5.large",
        ),
        (
            {"endpoint": {"instance_type": "ml.g4ad.xlarge"}},
            r"endpoint.instance_type: 'ml.g4ad.xlarge' is not a value AWS accepts",
        ),
        (
            {"model_monitor": {"instance_type": "ml.m5.huge"}},
            r"model_monitor.instance_type: 'ml.m5.huge' is not a value AWS accepts for "
            r"MonitoringClusterConfig.InstanceType \(sagemaker ProcessingInstanceType\)",
        ),
        (
            {"model_monitor": {"retraining": {"instance_type": "ml.m5.larg"}}},
            r"model_monitor.retraining.instance_type: 'ml.m5.larg' is not a value AWS accepts "
            r"for CreateTrainingJob ResourceConfig.InstanceType",
        ),
        # A scheduled action replaces only the bounds it names: its minimum may not exceed the
        # maximum in effect then, nor its maximum fall below the minimum.
        (
            {
                "scaling": {
                    "min_capacity": 2,
                    "max_capacity": 8,
                    "schedules": [
                        {"name": "peak", "cron": "cron(0 7 ? * MON-FRI *)", "min_capacity": 10}
                    ],
                }
            },
            r"scaling.schedules\[0\].min_capacity: 10 is above the max_capacity 8 that may be in "
            r"effect then .* set this schedule's max_capacity too",
        ),
        (
            {
                "scaling": {
                    "min_capacity": 2,
                    "max_capacity": 8,
                    "schedules": [
                        {"name": "peak", "cron": "cron(0 7 ? * MON-FRI *)", "min_capacity": 4},
                        {"name": "night", "cron": "cron(0 20 ? * MON-FRI *)", "max_capacity": 3},
                    ],
                }
            },
            r"scaling.schedules\[0\].min_capacity: 4 is above the max_capacity 3 that may be in "
            r"effect then \(the scaling bounds' or another schedule's\)",
        ),
        (
            {
                "scaling": {
                    "min_capacity": 2,
                    "max_capacity": 8,
                    "schedules": [
                        {"name": "night", "cron": "cron(0 20 ? * MON-FRI *)", "max_capacity": 1}
                    ],
                }
            },
            r"scaling.schedules\[0\].max_capacity: 1 is below the min_capacity 2 that may be in "
            r"effect then .* set this schedule's min_capacity too",
        ),
        (
            {
                "promotion": {"traffic_shifting": "linear"},
                "scaling": {"min_capacity": 2, "max_capacity": 30},
                "endpoint": {"initial_instance_count": 2},
            },
            r"promotion.traffic_shifting: linear steps must be whole instances .* from 2 to 30",
        ),
        ({"promotion": {"require_metrics": "no"}}, r"promotion.require_metrics: expected true"),
        ({"promotion": {"keep_previous": 51}}, r"promotion.keep_previous: 51 is outside 0-50"),
        ({"api": {"reserved_concurrency": 0}}, r"api.reserved_concurrency: 0 is outside 1-1000"),
        (
            {"operators": ["arn:aws:iam::123456789012:group/ops"]},
            r"operators\[0\]: .* is not an IAM role or user ARN",
        ),
        (
            {
                "account": "123456789012",
                "region": "eu-west-1",
                "operators": ["arn:aws:iam::210987654321:role/ci"],
            },
            r"operators\[0\]: .* is in account 210987654321, not this environment's 123456789012",
        ),
    ],
)
def test_configuration_error_names_the_field(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_with(tmp_path, data)


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text("scaling: [unclosed\n")
    with pytest.raises(ConfigError, match=r"test.yaml: not valid YAML"):
        load_settings("test", tmp_path)


def test_app_stops_with_the_message_for_a_bad_environment() -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={"CDK_CONTEXT_JSON": '{"env": "nope"}', "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "configuration error: unknown environment 'nope'" in result.stderr


@pytest.mark.parametrize(
    ("instance_type", "processor"),
    [
        ("ml.m5.large", "cpu"),
        ("ml.c5.xlarge", "cpu"),
        ("ml.g4dn.xlarge", "gpu"),
        ("ml.g5.2xlarge", "gpu"),
        ("ml.g6e.xlarge", "gpu"),
        ("ml.p3.2xlarge", "gpu"),
        ("ml.p4d.24xlarge", "gpu"),
        ("ml.p5.48xlarge", "gpu"),
    ],
)
def test_gpu_instance_types_serve_the_gpu_image(instance_type: str, processor: str) -> None:
    """Same decision as the SageMaker SDK's image_uris (family g*/p* -> gpu)."""
    from sagemaker.core import image_uris

    from serving_core.variants import InstanceVariant

    assert InstanceVariant(instance_type=instance_type).processor == processor
    assert image_uris._processor(instance_type, ["cpu", "gpu"]) == processor


def test_reserved_concurrency_is_optional(tmp_path: Path) -> None:
    """A new account may have 10 concurrent executions in all, and Lambda keeps 10 unreserved:
    no reservation is the default."""
    assert load_settings("dev").api.reserved_concurrency is None
    assert load_settings("prod").api.reserved_concurrency == 50
    load_with(tmp_path, {"api": {"reserved_concurrency": None}})


def _field_type(path: str) -> Any:
    """The type hint of the settings field at dotted ``path``."""
    import typing

    from serving_config import Settings

    kind: Any = Settings
    for name in path.split("."):
        hints = typing.get_type_hints(kind)
        kind = hints[name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
    return kind


def _nested(path: str, value: object) -> dict[str, Any]:
    data: dict[str, Any] = {}
    current = data
    *parents, last = path.split(".")
    for name in parents:
        current[name] = {}
        current = current[name]
    current[last] = value
    if path.startswith("model_monitor.retraining"):
        data["model_monitor"]["enabled"] = True
    return data


@pytest.mark.parametrize("field", ENUMERATED_FIELDS, ids=lambda f: f.path)
def test_every_value_aws_enumerates_is_checked_against_its_service_model(
    tmp_path: Path, field: Any
) -> None:
    """Each configuration field that lands in an enumerated API member: a free string fails
    synth naming the field and the shape; a closed choice maps into the enum entirely."""
    import typing

    allowed = enum_values(field.service, field.shape)
    kind = _field_type(field.path)
    if typing.get_origin(kind) is typing.Literal:
        assert {field.to_api(v) for v in typing.get_args(kind)} <= allowed
        return
    default = load_settings("prod")
    value: Any = default
    for name in field.path.split("."):
        value = getattr(value, name)
    assert field.to_api(value) in allowed
    with pytest.raises(
        ConfigError, match=rf"{re.escape(field.path)}: 'ml.m5.larg' .*{field.shape}"
    ):
        load_with(tmp_path, _nested(field.path, "ml.m5.larg"))
