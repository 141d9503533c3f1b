"""Alarm settings validate with field paths; the construct's unit conversions."""

from __future__ import annotations

import pytest

from ml_constructs.monitoring.construct import vcpus
from serving_config import AlarmSettings, ConfigError
from serving_config._parsing import build


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"emails": ["ops@example"]}, r"alarms\.emails\[0\]: 'ops@example' is not an e-mail"),
        ({"datapoints_to_alarm": 4}, r"alarms\.datapoints_to_alarm: 4 is outside 1-eval"),
        ({"period_s": 45}, r"alarms\.period_s: 45 must be 10, 30 or a multiple of 60"),
        ({"period_s": 3600, "evaluation_periods": 48}, r"alarms\.evaluation_periods: .* one day"),
        ({"cpu_utilization_percent": 120}, r"alarms\.cpu_utilization_percent: 120"),
        ({"model_latency_p99_ms": 0}, r"alarms\.model_latency_p99_ms: 0 is outside"),
        ({"function_errors": 0}, r"alarms\.function_errors: 0 must be at least 1"),
        ({"endpoint_4xx_error_rate_percent": 0}, r"endpoint_4xx_error_rate_percent: 0"),
        ({"latency": 5}, r"alarms: unknown field\(s\) latency"),
    ],
)
def test_invalid_alarm_settings_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(AlarmSettings, data, "alarms")


def test_defaults_are_valid() -> None:
    settings = build(AlarmSettings, {}, "alarms")
    assert settings.datapoints_to_alarm <= settings.evaluation_periods


@pytest.mark.parametrize(
    ("instance_type", "count"),
    [("ml.m5.large", 2), ("ml.c5.xlarge", 4), ("ml.c5.4xlarge", 16), ("ml.t2.medium", 1)],
)
def test_vcpus_follow_the_instance_size(instance_type: str, count: int) -> None:
    assert vcpus(instance_type) == count


def test_unknown_size_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot tell the vCPUs"):
        vcpus("ml.m5.huge")
