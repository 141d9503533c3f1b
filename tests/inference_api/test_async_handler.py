"""POST /predict-async and GET /predict-async/{id} (INVOCATION_MODE=async), against moto's S3
and KMS: 202 with an id, pending, the result, the failure, unknown or malformed ids, and the
same body validation as POST /predict."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_constructs.inference_api.runtime import handler
from tests.inference_api.conftest import ENDPOINT, MAX_ROWS, call, event, row

BUCKET = "mlserving-test-artifacts"


class FakeAsyncRuntime:
    """InvokeEndpointAsync as SageMaker answers it: locations under the config's prefixes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_async(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        name = f"result-{len(self.calls)}"
        return {
            "InferenceId": kwargs["InferenceId"],
            "OutputLocation": f"s3://{BUCKET}/async/output/{name}.out",
            "FailureLocation": f"s3://{BUCKET}/async/failures/{name}-error.out",
        }


@pytest.fixture
def aws(function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("INVOCATION_MODE", "async")
        monkeypatch.setenv("ASYNC_BUCKET", BUCKET)
        monkeypatch.setenv("ASYNC_KMS_KEY_ARN", key)
        handler.reset()
        yield s3, key
        handler.reset()


@pytest.fixture
def runtime(aws: Any) -> FakeAsyncRuntime:
    fake = FakeAsyncRuntime()
    handler._client = fake
    return fake


def submit_event(instances: Any = None, **kwargs: Any) -> dict[str, Any]:
    evt = event(instances=instances, **kwargs)
    evt.update(resource="/predict-async", path="/predict-async")
    return evt


def result_event(request_id: Any) -> dict[str, Any]:
    return {
        "resource": "/predict-async/{id}",
        "path": f"/predict-async/{request_id}",
        "httpMethod": "GET",
        "headers": {},
        "pathParameters": {"id": request_id},
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "req-get", "stage": "v1"},
    }


def test_submit_stores_the_body_encrypted_and_answers_202(aws: Any, runtime: Any) -> None:
    s3, key = aws
    rows = [row(0.1), row(0.2)]
    status, body, headers = call(submit_event(rows))
    assert status == 202
    request_id = body["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert body["status"] == "pending"
    assert body["output_location"] == f"s3://{BUCKET}/async/output/result-1.out"
    assert headers["Location"] == f"/predict-async/{request_id}"
    (invoke,) = runtime.calls
    assert invoke["EndpointName"] == ENDPOINT
    assert invoke["InputLocation"] == f"s3://{BUCKET}/async/input/{request_id}.json"
    assert invoke["InferenceId"] == request_id
    assert invoke["ContentType"] == "application/json"
    stored = s3.get_object(Bucket=BUCKET, Key=f"async/input/{request_id}.json")
    assert json.loads(stored["Body"].read()) == {"instances": rows}
    assert stored["ServerSideEncryption"] == "aws:kms" and stored["SSEKMSKeyId"] == key
    record = s3.get_object(Bucket=BUCKET, Key=f"async/requests/{request_id}.json")
    assert record["SSEKMSKeyId"] == key
    assert json.loads(record["Body"].read())["rows"] == 2


def test_submit_through_botocore_to_moto(aws: Any) -> None:
    """The real client's InvokeEndpointAsync request (checked against botocore's model)."""
    status, body, _ = call(submit_event([row()]))
    assert status == 202 and body["output_location"].startswith("s3://")


def test_pending_result_and_failure(aws: Any, runtime: Any) -> None:
    s3, _ = aws
    _, first, _ = call(submit_event([row(0.1), row(0.2)]))
    status, pending, headers = call(result_event(first["id"]))
    assert (status, pending["status"], headers["Retry-After"]) == (202, "pending", "7")
    answer = {"predictions": [{"probability": 0.2, "label": 0}, {"probability": 0.9, "label": 1}]}
    s3.put_object(Bucket=BUCKET, Key="async/output/result-1.out", Body=json.dumps(answer))
    status, done, _ = call(result_event(first["id"]))
    assert status == 200 and done["status"] == "completed"
    assert done["predictions"] == answer["predictions"]
    assert done["model"] == {"endpoint": ENDPOINT}

    _, second, _ = call(submit_event([row()]))
    s3.put_object(
        Bucket=BUCKET, Key="async/failures/result-2-error.out", Body=b"ModelError: bad row 0"
    )
    status, failed, _ = call(result_event(second["id"]))
    assert status == 200 and failed["status"] == "failed"
    assert failed["error"] == {"code": "model_error", "message": "ModelError: bad row 0"}


@pytest.mark.parametrize(
    "bad",
    [
        "../requests/x",
        "..%2F..%2Fmodels",
        "ABCDEF0123456789ABCDEF0123456789",
        "0" * 31,
        "0" * 33,
        "",
        None,
        "0123456789abcdef0123456789abcdef/",
        "0123456789abcdef0123456789abcdef\n",
    ],
)
def test_malformed_ids_are_404(aws: Any, runtime: Any, bad: Any) -> None:
    status, body, _ = call(result_event(bad))
    assert status == 404 and body["error"]["code"] == "unknown_request"
    assert body["error"]["field"] == "id"


def test_an_id_never_handed_out_is_404(aws: Any, runtime: Any) -> None:
    status, body, _ = call(result_event("0123456789abcdef0123456789abcdef"))
    assert status == 404 and body["error"]["code"] == "unknown_request"


@pytest.mark.parametrize(
    "instances",
    [
        [[1.0, 2.0]],  # feature count
        [],  # no rows
        [row()] * (MAX_ROWS + 1),  # too many rows
        [[*row()[:-1], "x"]],  # a string
        "not rows",
    ],
)
def test_bodies_are_validated_exactly_as_predict(
    aws: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch, instances: Any
) -> None:
    s3, _ = aws
    status, body, _ = call(submit_event(instances))
    monkeypatch.setenv("INVOCATION_MODE", "realtime")
    handler.reset()
    expected_status, expected, _ = call(event(instances=instances))
    assert status == expected_status and 400 <= status < 500
    assert body["error"] == expected["error"]
    assert runtime.calls == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_empty_and_non_json_bodies_are_refused(aws: Any, runtime: Any) -> None:
    for raw in ("", "{not json"):
        status, body, _ = call(submit_event(body=raw))
        assert status == 400 and body["error"]["field"] == "body"
    assert runtime.calls == []


def test_predict_answers_a_clear_error_on_an_async_endpoint(aws: Any, runtime: Any) -> None:
    status, body, _ = call(event(instances=[row()]))
    assert status == 404 and body["error"]["code"] == "use_predict_async"
    assert "/predict-async" in body["error"]["message"]
    assert runtime.calls == []


def test_a_result_that_is_not_one_prediction_per_row_is_502(aws: Any, runtime: Any) -> None:
    s3, _ = aws
    _, accepted, _ = call(submit_event([row(), row()]))
    s3.put_object(
        Bucket=BUCKET, Key="async/output/result-1.out", Body=json.dumps({"predictions": [1]})
    )
    status, body, _ = call(result_event(accepted["id"]))
    assert status == 502 and body["error"]["code"] == "upstream_error"


def test_a_record_pointing_outside_the_async_prefixes_is_never_read(aws: Any, runtime: Any) -> None:
    s3, _ = aws
    _, accepted, _ = call(submit_event([row()]))
    s3.put_object(Bucket=BUCKET, Key="models/secret.json", Body=b'{"predictions": [1]}')
    record = {
        "id": accepted["id"],
        "rows": 1,
        "output_location": f"s3://{BUCKET}/models/secret.json",
        "failure_location": "",
    }
    s3.put_object(
        Bucket=BUCKET, Key=f"async/requests/{accepted['id']}.json", Body=json.dumps(record)
    )
    status, body, _ = call(result_event(accepted["id"]))
    assert status == 502 and "predictions" not in body


def test_throttled_invoke_is_503(aws: Any) -> None:
    from botocore.exceptions import ClientError

    class Throttled:
        def invoke_endpoint_async(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                "InvokeEndpointAsync",
            )

    handler._client = Throttled()
    status, body, headers = call(submit_event([row()]))
    assert status == 503 and body["error"]["code"] == "throttled"
    assert headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("variables", "missing"),
    [({"ASYNC_BUCKET": ""}, "ASYNC_BUCKET"), ({"INVOCATION_MODE": "batch"}, "INVOCATION_MODE")],
)
def test_misconfigured_async_function_is_500(
    aws: Any, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], missing: str
) -> None:
    from ml_constructs.inference_api.runtime.api_config import ApiConfig, ConfigurationError

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    handler.reset()
    status, body, _ = call(submit_event([row()]))
    assert status == 500 and body["error"]["code"] == "internal_error"
    import os

    with pytest.raises(ConfigurationError, match=missing):
        ApiConfig.from_environment(dict(os.environ))


def test_real_time_cold_start_does_not_import_the_async_module() -> None:
    code = (
        "import sys; import ml_constructs.inference_api.runtime.handler; "
        "print('ml_constructs.inference_api.runtime.async_requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_prefixes_match_the_buckets() -> None:
    from ml_constructs import artifact_storage
    from ml_constructs.inference_api.runtime import api_config

    for name in ("INPUT", "OUTPUT", "FAILURES", "REQUESTS"):
        attribute = f"ASYNC_{name}_PREFIX"
        assert getattr(api_config, attribute) == getattr(artifact_storage, attribute)
