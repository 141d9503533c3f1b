"""The local SageMaker stand-in: container contract over HTTP, runtime API through boto3."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config

from model_code.local_server import LocalModelServer, start_server


def request(
    server: Any, method: str, path: str, body: str | bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def runtime_client(url: str | None = None) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def rows_json(trained: Any, n: int) -> str:
    return json.dumps({"instances": trained.test_features[:n].tolist()})


def probabilities(body: bytes) -> np.ndarray:
    return np.array([p["probability"] for p in json.loads(body)["predictions"]])


# --- container contract ----------------------------------------------------------------------


def test_ping(served: Any) -> None:
    status, _, _ = request(served, "GET", "/ping")
    assert status == 200


def test_invocations_json_and_csv(served: Any, trained: Any) -> None:
    status, headers, body = request(
        served, "POST", "/invocations", rows_json(trained, 5), Content_Type="application/json"
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert np.max(np.abs(probabilities(body) - trained.test_probabilities[:5])) <= 1e-6
    csv_rows = "\n".join(",".join(map(repr, r)) for r in trained.test_features[:3].tolist())
    status, _, body = request(
        served, "POST", "/invocations", csv_rows, Content_Type="text/csv", Accept="text/csv"
    )
    assert status == 200
    lines = body.decode().splitlines()
    assert len(lines) == 3 and all(line.split(",")[1] in ("0", "1") for line in lines)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (
            '{"instances": [[1, 2]]}',
            "application/json",
            400,
            "Row 0 has 2 values; the model expects 30 features.",
        ),
        (
            json.dumps([[0.0] * 29 + ["x"]]),
            "application/json",
            400,
            "Row 0, feature 29 ('worst_fractal_dimension'): value 'x' is not a number.",
        ),
        (
            json.dumps([[0.0] * 29]).replace("]]", ", NaN]]"),
            "application/json",
            400,
            "Row 0, feature 29 ('worst_fractal_dimension'): value nan is not finite "
            "(NaN and infinity are not allowed).",
        ),
        (
            json.dumps([[0.0] * 30] * 1001),
            "application/json",
            413,
            "Batch of 1001 rows exceeds the limit of 1000 rows per request; "
            "split it into smaller requests.",
        ),
        (
            "1,2,3",
            "text/plain",
            415,
            "Unsupported content type 'text/plain'; send application/json or text/csv.",
        ),
    ],
)
def test_bad_requests_over_http(
    served: Any, body: str, content_type: str, status: int, message: str
) -> None:
    got, headers, payload = request(served, "POST", "/invocations", body, Content_Type=content_type)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert json.loads(payload) == {"error": message}


def test_keep_alive_connection_serves_many_requests(served: Any, trained: Any) -> None:
    connection = http.client.HTTPConnection(served.host, served.port, timeout=10)
    body = rows_json(trained, 1)
    for _ in range(20):
        connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Connection") != "close"
        response.read()
    connection.close()


def test_unknown_route(served: Any) -> None:
    assert request(served, "POST", "/predict", b"{}")[0] == 404


def test_no_keras_predict_per_request(
    served: Any, trained: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("model.predict called while serving")

    monkeypatch.setattr(keras.Model, "predict", forbidden)
    status, _, _ = request(served, "POST", "/invocations", rows_json(trained, 2))
    assert status == 200


# --- runtime API through boto3 ---------------------------------------------------------------


def test_boto3_invoke_endpoint(served: Any, trained: Any) -> None:
    response = runtime_client(served.url).invoke_endpoint(
        EndpointName="ml-serving-dev", Body=rows_json(trained, 4), ContentType="application/json"
    )
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ContentType"] == "application/json"
    got = probabilities(response["Body"].read())
    assert np.max(np.abs(got - trained.test_probabilities[:4])) <= 1e-6


def test_boto3_model_error(served: Any) -> None:
    client = runtime_client(served.url)
    with pytest.raises(client.exceptions.ModelError) as info:
        client.invoke_endpoint(
            EndpointName="ml-serving-dev",
            Body='{"instances": [[1]]}',
            ContentType="application/json",
        )
    response = info.value.response
    message = "Row 0 has 1 values; the model expects 30 features."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["Error"]["Code"] == "ModelError"
    assert response["OriginalStatusCode"] == 400
    assert response["OriginalMessage"] == message
    assert response["Error"]["Message"].startswith(
        f'Received client error (400) from primary with message "{message}"'
    )


def test_boto3_oversized_batch_is_model_error_413(served: Any) -> None:
    client = runtime_client(served.url)
    with pytest.raises(client.exceptions.ModelError) as info:
        client.invoke_endpoint(
            EndpointName="x",
            Body="0," * 29 + "0\n" * 1 + ("0," * 29 + "0\n") * 1000,
            ContentType="text/csv",
        )
    assert info.value.response["OriginalStatusCode"] == 413


def test_boto3_through_endpoint_url_environment(
    served: Any, trained: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", served.url)
    response = runtime_client().invoke_endpoint(
        EndpointName="any", Body=rows_json(trained, 1), ContentType="application/json"
    )
    assert len(json.loads(response["Body"].read())["predictions"]) == 1


# --- model swaps -----------------------------------------------------------------------------


@pytest.fixture
def swap_server(trained: Any) -> Iterator[LocalModelServer]:
    server = start_server(None, endpoints={"champion": trained.model_dir})
    yield server
    server.shutdown()


def test_endpoints_and_swap(swap_server: LocalModelServer, trained: Any, tiny_run: Any) -> None:
    client = runtime_client(swap_server.url)
    body = rows_json(trained, 3)

    def score(endpoint: str) -> tuple[np.ndarray, str]:
        out = client.invoke_endpoint(
            EndpointName=endpoint, Body=body, ContentType="application/json"
        )
        return probabilities(out["Body"].read()), out["InvokedProductionVariant"]

    assert request(swap_server, "GET", "/ping")[0] == 503  # no default model yet
    with pytest.raises(client.exceptions.ClientError) as info:
        client.invoke_endpoint(EndpointName="missing", Body=body, ContentType="application/json")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["Error"]["Message"] == (
        "Endpoint missing of account 123456789012 not found."
    )

    champion, variant = score("champion")
    assert variant == "AllTraffic"
    assert np.max(np.abs(champion - trained.test_probabilities[:3])) <= 1e-6

    # Promote a second model in place (a bare SavedModel version dir works too).
    swap_server.load_model(tiny_run.saved_model_dir, endpoint_name="champion", variant_name="Blue")
    swapped, variant = score("champion")
    assert variant == "Blue"
    assert np.max(np.abs(swapped - tiny_run.test_probabilities[:3])) <= 1e-6
    assert not np.allclose(swapped, champion)

    swap_server.load_model(trained.package_path)  # default model from model.tar.gz
    assert request(swap_server, "GET", "/ping")[0] == 200
    default, _ = score("anything-else")
    assert np.max(np.abs(default - trained.test_probabilities[:3])) <= 1e-6
    swap_server.unload_model("champion")
    assert np.allclose(score("champion")[0], default)


def test_container_errors_mode_matches_the_real_tfs_container(trained: Any) -> None:
    """The TFS image's python service turns any handler exception into HTTP 500."""
    server = start_server(trained.model_dir, container_errors=True)
    try:
        status, _, body = request(server, "POST", "/invocations", "[[1]]")
        message = "Row 0 has 1 values; the model expects 30 features."
        assert status == 500 and json.loads(body) == {"error": message}
        client = runtime_client(server.url)
        with pytest.raises(client.exceptions.ModelError) as info:
            client.invoke_endpoint(EndpointName="e", Body="[[1]]", ContentType="application/json")
        response = info.value.response
        assert response["OriginalStatusCode"] == 500
        assert json.loads(response["OriginalMessage"]) == {"error": message}
        assert response["Error"]["Message"].startswith("Received server error (500) from primary")
    finally:
        server.shutdown()
