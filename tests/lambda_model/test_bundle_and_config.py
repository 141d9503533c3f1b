"""The function as Lambda runs it (its package: the runtime beside ``serving_core/``, in a fresh
process, configured by environment variables only), and its typed configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.bundling import bundle
from ml_constructs.lambda_model.runtime.config import ConfigurationError, ModelFunctionConfig
from tests.inference_api.conftest import event, row
from tests.lambda_model.conftest import base_env

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "ml_constructs" / "lambda_model" / "runtime"
PACKAGE = "lambda_model"

RUN_HANDLER = """
import importlib, json, sys
handler = importlib.import_module("lambda_model.handler")
loaded_at_init = handler._model is not None
result = handler.lambda_handler(json.load(sys.stdin), None)
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("aws_cdk", "constructs", "jsii", "tensorflow", "keras", "model_code")
)
print(json.dumps({"result": result, "heavy": heavy, "loaded_at_init": loaded_at_init}))
"""


def test_the_package_answers_in_a_fresh_process_with_the_model_loaded_at_init(
    artifact: Path,
) -> None:
    package = bundle(RUNTIME_DIR, PACKAGE, core=True)
    assert sorted(p.name for p in package.iterdir()) == [PACKAGE, "serving_core"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_FUNCTION_NAME": "mlserving-test-lambda-model",
        "AWS_DEFAULT_REGION": "us-east-1",
        "INFERENCE_POWERTOOLS": "off",
        **base_env(artifact),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_HANDLER],
        cwd=package,
        env=env,
        input=json.dumps(event(instances=[row()])),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    answer = json.loads(lines[-1])
    assert answer["heavy"] == [] and answer["loaded_at_init"]
    assert answer["result"]["statusCode"] == 200
    assert len(json.loads(answer["result"]["body"])["predictions"]) == 1
    logs = [json.loads(line) for line in lines[:-1]]
    assert any(log.get("message") == "model loaded" for log in logs)


SAMPLE = ModelFunctionConfig(
    endpoint_name="mlserving-dev-lambda",
    model_data_url="s3://mlserving-dev-artifacts/models/releases/0123456789abcdef/model.tar.gz",
    feature_count=3,
    model_sha256="ab" * 32,
    feature_names=("a", "b", "c"),
    max_rows=7,
    intra_op_threads=2,
    service_name="mlserving-dev-lambda-model",
    metrics_namespace="MlServing/InferenceApi",
)


@pytest.mark.parametrize("percent", [0, 5])
def test_the_config_round_trips(percent: int) -> None:
    config = replace(SAMPLE, capture_percent=percent)
    if percent:
        config = replace(
            config,
            capture_bucket="mlserving-dev-artifacts",
            capture_kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
            capture_max_records=10,
            capture_max_age_s=30,
        )
    assert ModelFunctionConfig.from_env(config.to_env()) == config
    assert config.capture_folder == "data-capture/mlserving-dev-lambda/AllTraffic/"


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"ENDPOINT_NAME": ""}, "ENDPOINT_NAME"),
        ({"ENDPOINT_NAME": "a/b"}, "ENDPOINT_NAME"),
        ({"MODEL_DATA_URL": "models/model.tar.gz"}, "MODEL_DATA_URL"),
        ({"MODEL_SHA256": "abc"}, "MODEL_SHA256"),
        ({"FEATURE_COUNT": ""}, "FEATURE_COUNT"),
        ({"FEATURE_NAMES": "a,a,b"}, "FEATURE_NAMES"),
        ({"MAX_PAYLOAD_BYTES": "7000000"}, "MAX_PAYLOAD_BYTES"),
        ({"ORT_INTRA_OP_THREADS": "0"}, "ORT_INTRA_OP_THREADS"),
        ({"CAPTURE_PERCENT": "101"}, "CAPTURE_PERCENT"),
        ({"CAPTURE_PERCENT": "5"}, "CAPTURE_BUCKET"),
        ({"CAPTURE_PERCENT": "5", "CAPTURE_BUCKET": "b"}, "CAPTURE_KMS_KEY_ARN"),
        (
            {"CAPTURE_PERCENT": "5", "CAPTURE_BUCKET": "b", "CAPTURE_KMS_KEY_ARN": "k"}
            | {"CAPTURE_PREFIX": "data-capture"},
            "CAPTURE_PREFIX",
        ),
    ],
)
def test_a_bad_setting_names_its_variable(change: dict[str, str], variable: str) -> None:
    env: dict[str, Any] = {**SAMPLE.to_env(), **change}
    with pytest.raises(ConfigurationError, match=variable):
        ModelFunctionConfig.from_env(env)


def test_the_request_limits_share_the_inference_apis_variables() -> None:
    from ml_constructs.inference_api.runtime.api_config import ApiConfig

    api = ApiConfig(endpoint_name="e", feature_count=3, feature_names=("a", "b", "c"), max_rows=7)
    shared = {"FEATURE_COUNT", "FEATURE_NAMES", "MAX_ROWS", "ENDPOINT_NAME"}
    ours = SAMPLE.to_env()
    assert {k: ours[k] for k in shared - {"ENDPOINT_NAME"}} == {
        k: api.to_env()[k] for k in shared - {"ENDPOINT_NAME"}
    }
    assert shared <= set(ours)
