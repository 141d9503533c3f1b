"""One typed config per function: the construct writes it with ``to_env()``, the runtime reads
it with ``from_env()``; the two agree on every variable, and the template holds exactly what
``to_env()`` writes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from ml_constructs.drift_monitor.runtime.config import AnalyzerConfig
from ml_constructs.inference_api.runtime.api_config import ApiConfig
from ml_constructs.model_promotion.runtime.config import PromotionConfig
from ml_constructs.retraining.runtime.retraining import RetrainingConfig
from tests.model_promotion.conftest import environment
from tests.synth_cache import synth

TOPIC = "arn:aws:sns:us-east-1:123456789012:mlserving-dev-alarms"


def _function_env(env: str, marker: str) -> dict[str, Any]:
    template = synth(env).serving_json
    (variables,) = [
        r["Properties"]["Environment"]["Variables"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and marker in r["Properties"].get("Environment", {}).get("Variables", {})
    ]
    return dict(variables)


def test_the_promotion_config_round_trips() -> None:
    config = PromotionConfig.from_env(environment(TOPIC))
    assert PromotionConfig.from_env(config.to_env()) == config
    vpc = {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    fuller = replace(
        config,
        package_group="g",
        package_group_account="111111111111",
        mark_rejected_packages=True,
        monitoring_baseline_prefix="monitoring/baseline/",
        vpc_config=vpc,
    )
    assert PromotionConfig.from_env(fuller.to_env()) == fuller


@pytest.mark.parametrize("env", ["prod", "batch", "lowtraffic"])
def test_the_promotion_function_holds_what_to_env_writes(env: str) -> None:
    variables = _function_env(env, "PRODUCTION_VARIANT")
    sample = PromotionConfig.from_env(environment(TOPIC))
    expected = set(sample.to_env())
    if "PACKAGE_GROUP" in variables:
        expected |= {"PACKAGE_GROUP", "PACKAGE_GROUP_ACCOUNT", "MARK_REJECTED_PACKAGES"}
    optional = {"MONITORING_BASELINE_PREFIX", "VPC_CONFIG", "ASYNC_INFERENCE_CONFIG"}
    assert set(variables) - optional == expected
    assert ("ASYNC_INFERENCE_CONFIG" in variables) == (env == "batch")


@pytest.mark.parametrize("mode", ["realtime", "async"])
def test_the_inference_config_round_trips(mode: str) -> None:
    config = ApiConfig(
        endpoint_name="e",
        feature_count=3,
        feature_names=("a", "b", "c"),
        max_rows=7,
        connect_timeout_s=0.5,
        read_timeout_s=2.5,
        max_attempts=2,
        retry_after_s=4,
        mode=mode,
        async_bucket="b" if mode == "async" else "",
        async_kms_key_arn="k" if mode == "async" else "",
        service_name="mlserving-dev-inference",
        metrics_namespace="MlServing/InferenceApi",
    )
    assert ApiConfig.from_environment(config.to_env()) == config


@pytest.mark.parametrize("env", ["prod", "batch"])
def test_the_inference_function_holds_what_to_env_writes(env: str) -> None:
    variables = _function_env(env, "INVOCATION_MODE")
    mode = variables["INVOCATION_MODE"]
    sample = ApiConfig(endpoint_name="e", feature_count=1, mode=mode, async_bucket="b")
    assert list(variables) == list(sample.to_env())


def test_the_retraining_config_round_trips() -> None:
    config = RetrainingConfig(
        prefix="mlserving-dev",
        bucket="b",
        key_arn="k",
        role_arn="r",
        image_uri="i",
        instance_type="ml.m5.large",
        volume_size_gb=30,
        max_runtime_s=3600,
        cooldown_hours=24,
        topic_arn="t",
        alarm_name_prefixes=("mlserving-dev-drift-", "mlserving-dev-auc"),
        promotes_uploads=True,
        environment_name="dev",
        hyperparameters={"epochs": "5"},
        metric_definitions=[{"Name": "auc", "Regex": "auc=(.*?);"}],
        vpc_config={"Subnets": ["s"], "SecurityGroupIds": ["g"]},
    )
    assert RetrainingConfig.from_env(config.to_env()) == config
    assert json.loads(config.to_env()["VPC_CONFIG"]) == config.vpc_config


def test_the_retraining_function_holds_what_to_env_writes() -> None:
    variables = _function_env("dev", "TRAINING_IMAGE_URI")
    assert set(variables) == set(
        RetrainingConfig("p", "b", "k", "r", "i", "t", 1, 1, 1, "t", (), True, "e").to_env()
    )


def test_the_monitor_function_holds_what_to_env_writes() -> None:
    variables = _function_env("prod", "STATTEST")
    resolved = {  # deploy-time references as the values they resolve to
        "BUCKET": "mlserving-prod-artifacts",
        "KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/k",
        "TOPIC_ARN": TOPIC,
    }
    text = {k: v if isinstance(v, str) else resolved[k] for k, v in variables.items()}
    config = AnalyzerConfig.from_env(text)
    assert config.to_env() == text
