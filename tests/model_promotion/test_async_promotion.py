"""A promotion into an asynchronous endpoint, against moto: the new EndpointConfig carries the
stack's AsyncInferenceConfig, and the update moves all at once (the fleet may be at zero)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_constructs.model_promotion.runtime.config import ConfigurationError, PromotionConfig
from tests.model_promotion import artifacts
from tests.model_promotion.conftest import BUCKET, KEY_ARN, REGION, Account, environment
from tests.model_promotion.test_promotion import KEY, run

TOPICS = f"arn:aws:sns:{REGION}:123456789012:mlserving-dev-async"
ASYNC_CONFIG = {
    "OutputConfig": {
        "S3OutputPath": f"s3://{BUCKET}/async/output/",
        "S3FailurePath": f"s3://{BUCKET}/async/failures/",
        "KmsKeyId": KEY_ARN,
        "NotificationConfig": {
            "SuccessTopic": f"{TOPICS}-success",
            "ErrorTopic": f"{TOPICS}-error",
        },
    },
    "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
}
ASYNC_ENV = {"ASYNC_INFERENCE_CONFIG": json.dumps(ASYNC_CONFIG), "DATA_CAPTURE_CONFIG": ""}


def test_promotion_copies_async_inference_config_and_moves_all_at_once(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateEndpointConfig",
        lambda params, **_: sent.append(params),
    )
    event = account.upload(KEY, artifacts.build())
    assert run(account, event, monkeypatch, **ASYNC_ENV) == {"batchItemFailures": []}
    name = account.endpoint()["EndpointConfigName"]
    assert name.startswith("mlserving-dev-p-")
    (request,) = sent
    assert request["AsyncInferenceConfig"] == ASYNC_CONFIG
    assert "DataCaptureConfig" not in request
    assert "ServerlessConfig" not in request["ProductionVariants"][0]
    stored = account.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert stored["AsyncInferenceConfig"] == ASYNC_CONFIG
    (deployment,) = account.deployments()
    # The environment's policy is a canary; an async fleet may be at zero: all at once.
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
    assert deployment["AutoRollbackConfiguration"]["Alarms"]


def test_real_time_promotions_carry_no_async_config(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateEndpointConfig",
        lambda params, **_: sent.append(params),
    )
    run(account, account.upload(KEY, artifacts.build()), monkeypatch)
    assert "AsyncInferenceConfig" not in sent[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ASYNC_INFERENCE_CONFIG": "{}"}, "S3OutputPath is missing"),
        ({"ASYNC_INFERENCE_CONFIG": "[1]"}, "ASYNC_INFERENCE_CONFIG"),
        (
            {
                **ASYNC_ENV,
                "PRODUCTION_VARIANT": json.dumps(
                    {
                        "VariantName": "AllTraffic",
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                    }
                ),
            },
            "instance variants only",
        ),
    ],
)
def test_async_configuration_errors_name_the_variable(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PromotionConfig.from_env(environment("arn:aws:sns:us-east-1:123456789012:t", **overrides))
