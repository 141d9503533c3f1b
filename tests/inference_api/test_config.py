"""ApiSettings and InferenceApiProps: limits are validated with the field that is wrong."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import App, Stack

from ml_constructs.inference_api.construct import InferenceApi, InferenceApiProps
from ml_constructs.inference_api.runtime import api_config
from serving_config import ConfigError, load_settings
from serving_config._parsing import build
from serving_config.api import ApiSettings, invoke_budget_s


@pytest.mark.parametrize(
    ("connect", "read", "attempts"), [(1, 3, 3), (0.5, 10, 1), (2, 2, 5), (0.1, 0.1, 2)]
)
def test_config_and_runtime_agree_on_the_retry_budget(
    connect: float, read: float, attempts: int
) -> None:
    assert invoke_budget_s(connect, read, attempts) == api_config.invoke_budget_s(
        connect, read, attempts
    )


def test_default_budget_is_what_the_docstring_says() -> None:
    # 3 attempts x (1 + 3) s + backoff (1 + 5) + (2 + 5) s
    assert ApiSettings().invoke_budget_s == 25


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"function_timeout_s": 20}, "api.function_timeout_s", "worst case 25 s"),
        ({"function_timeout_s": 40, "invoke_read_timeout_s": 1}, "api.function_timeout_s", "29"),
        ({"max_payload_bytes": 7_000_000}, "api.max_payload_bytes", "6291456"),
        ({"max_rows": 0}, "api.max_rows", "outside"),
        ({"log_retention_days": 31}, "api.log_retention_days", "retention"),
        ({"feature_names": ["a", "a"]}, "api.feature_names", "duplicates"),
        ({"feature_names": ["a,b"]}, "api.feature_names[0]", "comma"),
        ({"powertools_version": "latest"}, "api.powertools_version", "MAJOR.MINOR.PATCH"),
        ({"architecture": "sparc"}, "api.architecture", "not one of"),
        ({"invoke_max_attempts": 9}, "api.invoke_max_attempts", "outside"),
    ],
)
def test_invalid_api_settings_name_the_field(
    values: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as error:
        build(ApiSettings, values, "api")
    assert str(error.value).startswith(f"{field}:")
    assert fragment in str(error.value)


def test_every_environment_loads_and_fits_the_gateway_timeout() -> None:
    for env in ("dev", "prod", "lowtraffic", "local"):
        api = load_settings(env).api
        assert api.invoke_budget_s < api.function_timeout_s <= 29


def _props(**overrides: object) -> InferenceApiProps:
    base = InferenceApiProps(
        prefix="mlserving-test",
        endpoint_name="mlserving-test-endpoint",
        endpoint_arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/mlserving-test-endpoint",
        feature_count=30,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"feature_names": ("a", "b")}, "feature_names lists 2 names"),
        ({"function_timeout_s": 10}, "must exceed the SageMaker client's worst case"),
        ({"max_payload_bytes": 10_000_000}, "max_payload_bytes"),
        ({"prefix": "Bad_Prefix"}, "prefix"),
    ],
)
def test_props_reject_inconsistent_values(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        _props(**overrides)


def test_props_environment_is_what_the_runtime_reads() -> None:
    environment = _props(feature_names=tuple(f"f{i}" for i in range(30))).environment()
    config = api_config.ApiConfig.from_environment(environment)
    assert config.feature_count == 30 and len(config.feature_names) == 30
    assert config.endpoint_name == "mlserving-test-endpoint"
    assert config.invoke_budget_s == _props().invoke_budget_s
    assert set(api_config.ENVIRONMENT_VARIABLES) <= set(environment)


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({}, "ENDPOINT_NAME is not set"),
        ({"ENDPOINT_NAME": "e"}, "FEATURE_COUNT is not set"),
        ({"ENDPOINT_NAME": "e", "FEATURE_COUNT": "x"}, "not an integer"),
        ({"ENDPOINT_NAME": "e", "FEATURE_COUNT": "3", "MAX_ROWS": "0"}, "MAX_ROWS=0 is outside"),
        ({"ENDPOINT_NAME": "e", "FEATURE_COUNT": "3", "FEATURE_NAMES": "a,b"}, "3 distinct"),
        (
            {"ENDPOINT_NAME": "e", "FEATURE_COUNT": "3", "INVOKE_READ_TIMEOUT_S": "z"},
            "not a number",
        ),
    ],
)
def test_runtime_configuration_errors_name_the_variable(
    environ: dict[str, str], fragment: str
) -> None:
    with pytest.raises(api_config.ConfigurationError, match=fragment):
        api_config.ApiConfig.from_environment(environ)


def test_metric_helpers_for_alarms() -> None:
    stack = Stack(App(), "T")
    front = InferenceApi(stack, "Api", props=_props())
    assert front.metric_outcome("Throttled").metric_name == "Throttled"
    assert front.metric_outcome("ModelError").namespace == "MlServing/InferenceApi"
    with pytest.raises(ValueError, match="unknown outcome"):
        front.metric_outcome("Oops")
    assert front.metric_api_5xx().metric_name == "5XXError"
    assert front.metric_api_latency().metric_name == "Latency"
    assert front.metric_function_errors().metric_name == "Errors"
    assert front.metric_function_throttles().metric_name == "Throttles"
    assert front.metric_function_duration().metric_name == "Duration"
