"""Fixtures of the Lambda-hosted model's tests: the session's trained artifact (which carries
model.onnx), the environment both POST /predict functions read, and the two handlers side by
side (the inference API in front of the local TensorFlow server, and the onnxruntime one)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.inference_api.runtime import handler as front_door
from ml_constructs.lambda_model.runtime import handler as lambda_model
from tests.inference_api.conftest import ENDPOINT, FEATURES, MAX_ROWS, Context

VARIANT = "AllTraffic"


def base_env(artifact: Path | str) -> dict[str, str]:
    """The variables both functions read (the same names for the same limits)."""
    return {
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANT_NAME": VARIANT,
        "MODEL_DATA_URL": str(artifact),
        "FEATURE_COUNT": str(FEATURES),
        "MAX_ROWS": str(MAX_ROWS),
        "INVOKE_CONNECT_TIMEOUT_S": "1",
        "INVOKE_READ_TIMEOUT_S": "5",
        "INVOKE_MAX_ATTEMPTS": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "Test/InferenceApi",
        "POWERTOOLS_SERVICE_NAME": "test-inference",
    }


@pytest.fixture(scope="session")
def artifact(trained: Any) -> Path:
    """The session's model.tar.gz (trained once, with model.onnx beside the SavedModel)."""
    return Path(trained.package_path)


@pytest.fixture(scope="session")
def tf_server(artifact: Path) -> Iterator[Any]:
    """The local SageMaker stand-in serving the same artifact through TensorFlow."""
    from model_code.local_server import start_server

    server = start_server(artifact)
    yield server
    server.shutdown()


@pytest.fixture
def function_env(artifact: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = base_env(artifact)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("FEATURE_NAMES", "MODEL_SHA256", "CAPTURE_PERCENT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    lambda_model.reset()
    front_door.reset()
    yield env
    lambda_model.reset()
    front_door.reset()


@pytest.fixture
def both(function_env: dict[str, str], tf_server: Any) -> Any:
    """Call the front door (TensorFlow behind it) and the onnxruntime function alike."""
    from model_code.local_server import runtime_endpoint_client

    front_door._client = runtime_endpoint_client(tf_server.url)
    return function_env


def call(module: Any, evt: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Invoke a handler; return (status, parsed body, headers)."""
    result = module.lambda_handler(evt, Context())
    return result["statusCode"], json.loads(result["body"]), result["headers"]
