"""Each framework's artifact served by the local server through its own code/inference.py, as
its SageMaker image would: the runtime route gives the in-process probabilities, and requests
are refused with the same statuses and messages as the TensorFlow handlers'."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from model_code.local_server import ScriptModeModel, runtime_endpoint_client
from tests.frameworks.conftest import FRAMEWORKS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_runtime_route_gives_the_in_process_probabilities(
    framework_runs: dict[str, Any], framework_server: Any, framework: str
) -> None:
    run = framework_runs[framework]
    client = runtime_endpoint_client(framework_server.url)
    rows = run.test_features.tolist()
    response = client.invoke_endpoint(
        EndpointName=framework, Body=json.dumps({"instances": rows}), ContentType="application/json"
    )
    assert response["ContentType"] == "application/json"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"]
    predictions = json.loads(response["Body"].read())["predictions"]
    served = np.array([p["probability"] for p in predictions])
    assert np.max(np.abs(served - run.test_probabilities)) <= 1e-6
    labels = [p["label"] for p in predictions]
    assert labels == [int(p >= 0.5) for p in served]

    csv_body = "\n".join(",".join(repr(v) for v in row) for row in rows[:5])
    response = client.invoke_endpoint(
        EndpointName=framework, Body=csv_body, ContentType="text/csv", Accept="text/csv"
    )
    lines = response["Body"].read().decode().splitlines()
    from_csv = np.array([float(line.split(",")[0]) for line in lines])
    assert np.max(np.abs(from_csv - served[:5])) <= 1e-6  # float32 sums differ by batch size


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bad_requests_get_the_shared_statuses(framework_server: Any, framework: str) -> None:
    served = framework_server.endpoints[framework]
    assert isinstance(served, ScriptModeModel) and served.framework == framework
    row = [1.0] * 30
    cases = [
        (b'{"instances": [[1, 2]]}', "application/json", None, 400, "Row 0 has 2 values"),
        (json.dumps([[*row[:-1], "x"]]).encode(), "application/json", None, 400, "not a number"),
        (json.dumps([row] * 1001).encode(), "application/json", None, 413, "exceeds the limit"),
        (b"1,2", "application/x-npy", None, 415, "Unsupported content type"),
        (json.dumps([row]).encode(), "application/json", "image/png", 406, "Cannot answer"),
    ]
    for body, content_type, accept, status, message in cases:
        result = served.invoke(body, content_type, accept)
        assert result.status == status, (result.status, result.error_message)
        assert message in (result.error_message or "")


def test_runtime_route_reports_a_model_error_like_sagemaker(framework_server: Any) -> None:
    client = runtime_endpoint_client(framework_server.url)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName="xgboost", Body="1,2", ContentType="text/csv")
    assert raised.value.response["OriginalStatusCode"] == 400
    assert "the model expects 30 features" in raised.value.response["OriginalMessage"]
