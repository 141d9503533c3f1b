"""The lambda hosting kind's configuration: the ``lambda_model:`` section and the variant's
rules named by field, and the promotion policy as CodeDeploy shifts a Lambda alias."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving_config import ENVIRONMENTS_DIR, ConfigError, load_settings
from serving_core.deployment_policy import (
    DeploymentPolicy,
    DeploymentPolicyError,
    lambda_traffic_shifting,
)


def load(tmp_path: Path, **changes: Any) -> Any:
    data = yaml.safe_load((ENVIRONMENTS_DIR / "smallmodel.yaml").read_text(encoding="utf-8"))
    for section, values in changes.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    (tmp_path / "smallmodel.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_settings("smallmodel", tmp_path)


def test_the_shipped_lambda_environment() -> None:
    settings = load_settings("smallmodel")
    variant = settings.variant
    assert variant.kind == "lambda" and not variant.supports("sagemaker_endpoint")
    assert (variant.memory_mb, variant.architecture, variant.timeout_s) == (1024, "arm64", 10)
    assert (variant.reserved_concurrency, variant.provisioned_concurrency) == (20, 1)
    assert variant.warm_range == (1, 4)
    assert settings.scaling is None and settings.endpoint.data_capture_percent == 20


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lambda_model": {"memory_mb": 64}}, "lambda_model.memory_mb"),
        ({"lambda_model": {"memory_mb": 10_241}}, "lambda_model.memory_mb"),
        ({"lambda_model": {"architecture": "arm"}}, "lambda_model.architecture"),
        ({"lambda_model": {"timeout_s": 60}}, "lambda_model.timeout_s"),
        ({"lambda_model": {"reserved_concurrency": 0}}, "lambda_model.reserved_concurrency"),
        # The business-hours schedule's 4 is above a reservation of 3.
        ({"lambda_model": {"reserved_concurrency": 3}}, "lambda_model.schedules"),
        ({"lambda_model": {"time_zone": "Mars/Olympus"}}, "lambda_model.time_zone"),
        (
            {
                "lambda_model": {
                    "schedules": [{"name": "x", "cron": "cron(0 8 * * * *)", "value": 2}]
                }
            },
            "lambda_model.schedules[0].cron",
        ),
        (
            {"lambda_model": {"schedules": [{"name": "x", "cron": "cron(0 8 ? * * *)"}]}},
            "lambda_model.schedules[0]",
        ),
        (
            {
                "lambda_model": {
                    "schedules": [
                        {"name": "x", "cron": "cron(0 8 ? * * *)", "value": 2, "max_capacity": 3}
                    ]
                }
            },
            "lambda_model.schedules[0].value",
        ),
        (
            {"lambda_model": {"provisioned_concurrency": None}},
            "lambda_model.schedules",
        ),
        ({"promotion": {"wait_before_shift_s": 90}}, "promotion.wait_before_shift_s"),
        (
            {"promotion": {"traffic_shifting": "linear", "max_execution_timeout_s": 600}},
            "promotion.max_execution_timeout_s",
        ),
        ({"model_monitor": {"engine": "sagemaker"}}, "model_monitor.engine"),
        (
            {"endpoint": {"serverless_provisioned_concurrency": 1}},
            "endpoint.serverless_provisioned_concurrency",
        ),
    ],
)
def test_a_broken_lambda_setting_names_its_field(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=rf"smallmodel.yaml: {re.escape(field)}:"):
        load(tmp_path, **changes)


def test_provisioned_concurrency_must_fit_the_reservation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="provisioned_concurrency: 5 is above reserved"):
        load(
            tmp_path,
            lambda_model={"provisioned_concurrency": 5, "reserved_concurrency": 4, "schedules": []},
        )


POLICY = DeploymentPolicy("canary", 10, 300, 0, 1800)


@pytest.mark.parametrize(
    ("policy", "expected", "predefined"),
    [
        (POLICY, ("canary", 10, 5), "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        (
            DeploymentPolicy("linear", 10, 60, 0, 1800),
            ("linear", 10, 1),
            "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
        ),
        (DeploymentPolicy("canary", 20, 120, 0, 1800), ("canary", 20, 2), None),
        (
            DeploymentPolicy("all_at_once", 10, 0, 0, 1800),
            ("all_at_once", 100, 0),
            "CodeDeployDefault.LambdaAllAtOnce",
        ),
    ],
)
def test_the_policy_maps_to_codedeploy(
    policy: DeploymentPolicy, expected: tuple[str, int, int], predefined: str | None
) -> None:
    shifting = lambda_traffic_shifting(policy)
    assert (shifting.traffic_shifting, shifting.percent, shifting.minutes) == expected
    assert shifting.predefined == predefined


def test_what_codedeploy_cannot_express_is_refused() -> None:
    with pytest.raises(DeploymentPolicyError, match=r"^wait_before_shift_s 30 "):
        lambda_traffic_shifting(DeploymentPolicy("canary", 10, 30, 0, 1800))
    # 10% every 10 minutes: 9 more shifts, 90 minutes, beyond a 30-minute budget.
    with pytest.raises(DeploymentPolicyError, match=r"^max_execution_timeout_s 1800 .* 90 minutes"):
        lambda_traffic_shifting(DeploymentPolicy("linear", 10, 600, 0, 1800))
