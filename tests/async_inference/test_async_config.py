"""Configuration of asynchronous endpoints: every refusal names its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_constructs.naming import endpoint_name
from serving_config import ConfigError, load_settings
from serving_core.variants import AsyncVariant, InstanceVariant


def _load(tmp_path: Path, **changes: Any) -> Any:
    data: dict[str, Any] = {
        "endpoint": {"kind": "async", "instance_type": "ml.m5.large", "data_capture_percent": 0},
        "scaling": None,
        "model_monitor": {"enabled": False},
        "promotion": {"traffic_shifting": "all_at_once"},
    }
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(data))
    return load_settings("test", tmp_path)


def test_the_shipped_batch_environment_is_async_and_scales_to_zero() -> None:
    settings = load_settings("batch")
    assert settings.endpoint.kind == "async"
    assert settings.scaling is None
    assert settings.async_inference.min_capacity == 0
    assert settings.async_inference.scales_to_zero


def test_a_minimal_async_environment_loads(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    assert settings.async_inference.max_concurrent_invocations_per_instance == 4


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"scaling": {"min_capacity": 1, "max_capacity": 2}}, "scaling", "backlog"),
        (
            {"endpoint": {"data_capture_percent": 10}},
            "endpoint.data_capture_percent",
            "set it to 0",
        ),
        (
            {"model_monitor": {"enabled": True, "drift_features": ["f1"]}},
            "model_monitor.enabled",
            "false for an async",
        ),
        ({"endpoint": {"instance_type": "ml.t2.medium"}}, "endpoint.instance_type", "burstable"),
        (
            {"endpoint": {"initial_instance_count": 3}},
            "endpoint.initial_instance_count",
            "outside the fleet range 1-2",
        ),
        ({"async_inference": {"min_capacity": -1}}, "async_inference.min_capacity", "at least 0"),
        (
            {"async_inference": {"max_capacity": 0}},
            "async_inference.max_capacity",
            "at least 1",
        ),
        (
            {"async_inference": {"min_capacity": 3, "max_capacity": 2}},
            "async_inference.max_capacity",
            "min_capacity 3",
        ),
        (
            {"async_inference": {"max_concurrent_invocations_per_instance": 0}},
            "async_inference.max_concurrent_invocations_per_instance",
            "1-1000",
        ),
        (
            {"async_inference": {"max_concurrent_invocations_per_instance": 1001}},
            "async_inference.max_concurrent_invocations_per_instance",
            "1-1000",
        ),
        (
            {"async_inference": {"target_backlog_per_instance": 0}},
            "async_inference.target_backlog_per_instance",
            "above 0",
        ),
        (
            {"async_inference": {"wake_cooldown_s": 4000}},
            "async_inference.wake_cooldown_s",
            "0-3600",
        ),
        ({"async_inference": {"surprise": 1}}, "async_inference", "unknown field"),
        ({"async_inference": {"retention_days": 0}}, "async_inference.retention_days", "1-3650"),
        (
            {"promotion": {"traffic_shifting": "canary"}},
            "promotion.traffic_shifting",
            "all at once",
        ),
        ({"endpoint": {"kind": "queued"}}, "endpoint.kind", ""),
    ],
)
def test_async_refusals_name_the_field(
    tmp_path: Path, changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, **changes)
    assert f"{field}" in str(raised.value)
    assert message in str(raised.value)


def test_minimum_capacity_zero_is_for_async_endpoints_only(tmp_path: Path) -> None:
    data = {"endpoint": {"kind": "instance"}, "scaling": {"min_capacity": 0, "max_capacity": 2}}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"scaling\.min_capacity: 0 must be at least 1"):
        load_settings("test", tmp_path)


def test_an_async_endpoint_is_named_apart_from_a_real_time_one() -> None:
    """Switching kind replaces the endpoint (and its scalable target) instead of updating it."""
    realtime = endpoint_name("mlserving-x", InstanceVariant(instance_type="ml.m5.large"))
    asynchronous = endpoint_name("mlserving-x", AsyncVariant(instance_type="ml.m5.large"))
    assert (realtime, asynchronous) == ("mlserving-x-m5-large", "mlserving-x-async-m5-large")
