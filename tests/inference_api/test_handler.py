"""The inference function: predictions, every validation failure and every error mapping."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ml_constructs.inference_api.runtime import handler
from tests.inference_api.conftest import (
    ENDPOINT,
    FEATURES,
    MAX_ROWS,
    FakeRuntime,
    RecordingClient,
    Reply,
    call,
    event,
    predictions_body,
    row,
)

pytestmark = pytest.mark.usefixtures("function_env")


# --- success, against moto's sagemaker-runtime -------------------------------------------


def _moto_results(*bodies: bytes, variant: str = "AllTraffic") -> None:
    import requests

    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={
            "results": [
                {
                    "Body": body.decode(),
                    "ContentType": "application/json",
                    "InvokedProductionVariant": variant,
                    "CustomAttributes": "",
                }
                for body in bodies
            ]
        },
        timeout=5,
    )


@mock_aws
def test_one_row_returns_its_prediction_and_the_variant() -> None:
    _moto_results(json.dumps({"predictions": [{"probability": 0.93, "label": 1}]}).encode())
    status, body, headers = call(event(instances=[row()]))
    assert status == 200
    assert body["predictions"] == [{"probability": 0.93, "label": 1}]
    assert body["model"] == {"endpoint": ENDPOINT, "variant": "AllTraffic"}
    assert body["request_id"] == "req-1" == headers["X-Request-Id"]


@mock_aws
def test_batch_returns_one_prediction_per_row() -> None:
    _moto_results(predictions_body(MAX_ROWS), variant="Blue")
    status, body, _ = call(event(instances=[row(i) for i in range(MAX_ROWS)]))
    assert status == 200
    assert len(body["predictions"]) == MAX_ROWS
    assert body["model"]["variant"] == "Blue"


@mock_aws
def test_answer_that_is_not_predictions_is_502() -> None:
    # moto's default answer is the text "body": not this API's contract.
    status, body, _ = call(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (502, "upstream_error")


def test_prediction_count_must_match_rows() -> None:
    client = handler.get_client(handler.get_config())
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": io.BytesIO(predictions_body(1)), "InvokedProductionVariant": "v"},
        )
        status, body, _ = call(event(instances=[row(), row()]))
    assert status == 502
    assert "1 predictions for 2 rows" in body["error"]["message"]


def test_the_endpoint_receives_the_validated_rows_as_json() -> None:
    fake = RecordingClient()
    handler._client = fake
    named = [[1, 2.5] + [0] * (FEATURES - 2)]
    status, _, _ = call(event(instances=named))
    assert status == 200
    (sent,) = fake.calls
    assert sent["EndpointName"] == ENDPOINT
    assert sent["ContentType"] == "application/json"
    assert json.loads(sent["Body"]) == {"instances": named}


def test_the_request_id_is_the_inference_id_and_comes_back() -> None:
    """Model Monitor's model-quality jobs join ground truth on InferenceId: the caller gets it
    back, so it can upload labels for it."""
    fake = RecordingClient()
    handler._client = fake
    status, body, _ = call(
        event(instances=[row()], request_id="c0ffee00-1234-4abc-8def-0123456789ab")
    )
    assert status == 200
    (sent,) = fake.calls
    assert sent["InferenceId"] == "c0ffee00-1234-4abc-8def-0123456789ab"
    assert body["inference_id"] == sent["InferenceId"] == body["request_id"]


@pytest.mark.parametrize(
    ("request_id", "expected"),
    [
        ("  padded id ", "padded id"),
        ("x" * 80, "x" * 64),
        ("line\nbreak\u00e9", "line_break_"),
        ("", "unknown"),
    ],
)
def test_inference_ids_satisfy_sagemakers_pattern(request_id: str, expected: str) -> None:
    """InferenceId: 1-64 characters, \\A\\S[\\p{Print}]*\\z (botocore's model)."""
    value = handler.inference_id(request_id)
    assert value == expected
    assert 1 <= len(value) <= 64 and not value[0].isspace()
    assert all(" " <= c <= "~" for c in value)


def test_named_features_are_ordered_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"f{i}" for i in range(FEATURES)]
    monkeypatch.setenv("FEATURE_NAMES", ",".join(names))
    handler.reset()
    fake = RecordingClient()
    handler._client = fake
    item = {name: float(i) for i, name in reversed(list(enumerate(names)))}
    status, _, _ = call(event(instances=[item]))
    assert status == 200
    assert json.loads(fake.calls[0]["Body"])["instances"] == [[float(i) for i in range(FEATURES)]]
    status, body, _ = call(event(instances=[{**item, "extra": 1}]))
    assert (status, body["error"]["code"]) == (400, "wrong_feature_names")
    assert "unknown extra" in body["error"]["message"]


# --- validation: status, code and field of each malformed request ------------------------

_BAD = [
    (event(body=None), 400, "empty_body", "body"),
    (event(body="   "), 400, "empty_body", "body"),
    (event(body='{"instances": [[1, 2'), 400, "invalid_json", "body"),
    (event(body='{"instances": [[NaN]]}'), 400, "invalid_json", "body"),
    (event(body='{"instances": [[Infinity]]}'), 400, "invalid_json", "body"),
    (event(body="[" * 100_000), 400, "invalid_json", "body"),
    (event(body='{"instances": [[' + "9" * 5000 + "]]}"), 400, "invalid_json", "body"),
    (event(body="[[1, 2]]"), 400, "invalid_body", "body"),
    (event(body='"text"'), 400, "invalid_body", "body"),
    (event(body="{}"), 400, "missing_field", "instances"),
    (event(body='{"inputs": [[1]]}'), 400, "unknown_field", "inputs"),
    (event(instances={"a": 1}), 400, "invalid_field", "instances"),
    (event(instances=[]), 400, "invalid_field", "instances"),
    (event(instances=[row()] * (MAX_ROWS + 1)), 413, "too_many_rows", "instances"),
    (event(instances=[row(n=FEATURES - 1)]), 400, "wrong_feature_count", "instances[0]"),
    (event(instances=[row(), row(n=FEATURES + 1)]), 400, "wrong_feature_count", "instances[1]"),
    (event(instances=[5]), 400, "invalid_row", "instances[0]"),
    (event(instances=[{"a": 1}]), 400, "named_features_unsupported", "instances[0]"),
    (
        event(instances=[[*row()[:-1], "1.0"]]),
        400,
        "invalid_value",
        f"instances[0][{FEATURES - 1}]",
    ),
    (event(instances=[[True, *row()[1:]]]), 400, "invalid_value", "instances[0][0]"),
    (event(instances=[[None, *row()[1:]]]), 400, "invalid_value", "instances[0][0]"),
    (event(instances=[[[1], *row()[1:]]]), 400, "invalid_value", "instances[0][0]"),
    (
        event(body='{"instances": [[1e999' + ",0" * (FEATURES - 1) + "]]}"),
        400,
        "invalid_value",
        "instances[0][0]",
    ),
    (event(instances=[[1e39, *row()[1:]]]), 400, "invalid_value", "instances[0][0]"),
    (event(instances=[[10**40, *row()[1:]]]), 400, "invalid_value", "instances[0][0]"),
    (
        event(instances=[row()], content_type="text/csv"),
        415,
        "unsupported_media_type",
        "Content-Type",
    ),
    (event(instances=[row()], content_type=None), 415, "unsupported_media_type", "Content-Type"),
    (event(instances=[row()], method="GET"), 405, "method_not_allowed", "method"),
    (event(body="not base64!", base64=True), 400, "invalid_encoding", "body"),
    (
        event(body=base64.b64encode(b"\xff\xfe").decode(), base64=True),
        400,
        "invalid_encoding",
        "body",
    ),
    (event(body='{"instances": "\ud800"}'), 400, "invalid_encoding", "body"),
]


@pytest.mark.parametrize(("evt", "status", "code", "field"), _BAD)
def test_malformed_requests_get_a_specific_4xx(
    evt: dict[str, Any], status: int, code: str, field: str
) -> None:
    fake = RecordingClient()
    handler._client = fake
    got_status, body, headers = call(evt)
    assert (got_status, body["error"]["code"], body["error"]["field"]) == (status, code, field)
    assert body["error"]["message"]
    assert headers["Content-Type"] == "application/json"
    assert fake.calls == []


def test_base64_bodies_and_content_type_parameters_are_accepted() -> None:
    handler._client = RecordingClient()
    raw = json.dumps({"instances": [row()]}).encode()
    evt = event(body=base64.b64encode(raw).decode(), base64=True)
    evt["headers"] = {"content-type": "application/json; charset=utf-8"}
    assert call(evt)[0] == 200


def test_payload_limit_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "2000")
    handler.reset()
    handler._client = RecordingClient()
    status, body, _ = call(event(instances=[row()] * 15))
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert "2000 bytes" in body["error"]["message"]


# --- error mappings (botocore Stubber: exact service errors) ------------------------------


def _stubbed(error_code: str, http_status: int, **extra: Any) -> tuple[int, dict[str, Any], Any]:
    client = handler.get_client(handler.get_config())
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code=error_code,
            service_message=f"{error_code} happened",
            http_status_code=http_status,
            modeled_fields=extra or None,
        )
        return call(event(instances=[row()]))


def test_model_error_is_502_with_the_models_message() -> None:
    status, body, _ = _stubbed(
        "ModelError",
        424,
        OriginalStatusCode=400,
        OriginalMessage='{"error": "Row 0, feature 3 (\'mean area\'): value is not finite"}',
        LogStreamArn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x",
    )
    assert (status, body["error"]["code"]) == (502, "model_error")
    assert "Row 0, feature 3 ('mean area'): value is not finite" in body["error"]["message"]


@pytest.mark.parametrize(
    ("code", "http"),
    [("ThrottlingException", 400), ("ServiceUnavailable", 503), ("ModelNotReadyException", 429)],
)
def test_throttling_is_503_with_retry_after(code: str, http: int) -> None:
    status, body, headers = _stubbed(code, http)
    assert (status, body["error"]["code"]) == (503, "throttled")
    assert headers["Retry-After"] == "7"


def test_sagemaker_internal_failure_is_502() -> None:
    status, body, _ = _stubbed("InternalFailure", 500)
    assert (status, body["error"]["code"]) == (502, "upstream_error")


def test_unexpected_service_error_is_500_with_request_id_only() -> None:
    status, body, _ = _stubbed("ValidationError", 400)
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "req-1" in body["error"]["message"]
    assert "ValidationError" not in json.dumps(body)


def test_a_bug_is_500_without_a_stack_trace(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def invoke_endpoint(self, **_: Any) -> Any:
            raise KeyError("secret internals")

    handler._client = Broken()
    status, body, _ = call(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "req-1" in body["error"]["message"]
    text = json.dumps(body)
    assert "Traceback" not in text and "secret internals" not in text
    assert "Traceback" in capsys.readouterr().out  # ...but the log has it


def test_missing_configuration_is_500_not_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEATURE_COUNT")
    handler.reset()
    status, body, _ = call(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "misconfigured" in body["error"]["message"]


# --- the real botocore client: timeouts, retries with backoff (local HTTP stand-in) -------

_THROTTLED = Reply(400, b'{"message":"Rate exceeded"}', {"x-amzn-ErrorType": "ThrottlingException"})


def test_throttling_is_retried_then_succeeds(fake_runtime: FakeRuntime) -> None:
    fake_runtime.replies[:] = [
        _THROTTLED,
        Reply(200, predictions_body(1), {"X-Amzn-Invoked-Production-Variant": "AllTraffic"}),
    ]
    status, body, _ = call(event(instances=[row()]))
    assert status == 200, body
    assert body["model"]["variant"] == "AllTraffic"
    assert len(fake_runtime.requests) == 2
    assert fake_runtime.requests[0]["path"] == f"/endpoints/{ENDPOINT}/invocations"


def test_throttling_after_all_retries_is_503(fake_runtime: FakeRuntime) -> None:
    fake_runtime.replies[:] = [_THROTTLED] * 3
    status, body, headers = call(event(instances=[row()]))
    assert (status, body["error"]["code"], headers["Retry-After"]) == (503, "throttled", "7")
    assert len(fake_runtime.requests) == 3  # INVOKE_MAX_ATTEMPTS


def test_model_error_over_http_is_502(fake_runtime: FakeRuntime) -> None:
    fake_runtime.replies[:] = [
        Reply(
            424,
            json.dumps(
                {
                    "message": "Received client error (400) from primary",
                    "OriginalStatusCode": 400,
                    "OriginalMessage": '{"error": "Batch of 5 rows exceeds the limit"}',
                }
            ).encode(),
            {"x-amzn-ErrorType": "ModelError"},
        )
    ]
    status, body, _ = call(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (502, "model_error")
    assert body["error"]["message"].endswith("Batch of 5 rows exceeds the limit")
    assert len(fake_runtime.requests) == 1  # a model error is not retried


def test_read_timeout_is_504(fake_runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOKE_READ_TIMEOUT_S", "0.2")
    monkeypatch.setenv("INVOKE_MAX_ATTEMPTS", "2")
    handler.reset()
    slow = Reply(200, predictions_body(1), delay_s=1.0)
    fake_runtime.replies[:] = [slow, slow]
    started = time.perf_counter()
    status, body, _ = call(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (504, "timeout")
    assert len(fake_runtime.requests) == 2
    assert time.perf_counter() - started < 3


def test_unreachable_endpoint_is_502(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9")
    monkeypatch.setenv("INVOKE_MAX_ATTEMPTS", "1")
    handler.reset()
    status, body, _ = call(event(instances=[row()]))
    assert status in (502, 504)
    assert body["error"]["code"] in ("upstream_error", "timeout")


def test_client_is_created_once_per_container() -> None:
    config = handler.get_config()
    first = handler.get_client(config)
    assert handler.get_client(config) is first
    assert first.meta.config.connect_timeout == 1
    assert first.meta.config.read_timeout == 1
    assert first.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}


# --- logs and metrics ----------------------------------------------------------------------


def test_each_request_logs_one_json_line_and_one_outcome_metric(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler._client = RecordingClient()
    call(event(instances=[row()], request_id="abc"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (log,) = [line for line in lines if line.get("message") == "request finished"]
    assert log["request_id"] == "abc"
    assert log["outcome"] == "Success" and log["status"] == 200
    assert log["latency_ms"] >= 0 and log["rows"] == 1
    (emf,) = [line for line in lines if "_aws" in line]
    metric_names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert metric_names == {"Success", "HandlerLatency"}


def test_stdlib_fallback_writes_the_same_log_and_metric(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from ml_constructs.bundling import bundle
    from ml_constructs.inference_api.construct import PACKAGE, RUNTIME_DIR

    package = bundle(RUNTIME_DIR, PACKAGE, core=True)  # what the construct's asset zips
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(package)!r})\n"
        f"from {PACKAGE} import handler, observability\n"  # imported as Lambda does
        "assert not observability.POWERTOOLS\n"
        "r = handler.lambda_handler({'httpMethod': 'POST', 'headers': {}, 'body': '{}'}, None)\n"
        "print(r['statusCode'])\n"
    )
    env = {**os.environ, "INFERENCE_POWERTOOLS": "off", "ENDPOINT_NAME": "e", "FEATURE_COUNT": "3"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    log, emf, status = json.loads(out[0]), json.loads(out[1]), out[2]
    assert status == "415"
    assert log["outcome"] == "ClientError" and log["error_code"] == "unsupported_media_type"
    assert emf["ClientError"] == 1 and emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def test_cold_path_imports_no_heavy_or_cdk_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import ml_constructs.inference_api.runtime.handler; "
        "bad = [m for m in ('aws_cdk', 'jsii', 'numpy', 'pandas', 'requests', 'aws_xray_sdk', "
        "'pydantic') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _unused(_: Any = boto3) -> None:  # boto3 is imported for moto's in-process patching
    pass


def test_deployment_package_is_small() -> None:
    from tests.inference_api.bench_handler import package_size

    zipped, _ = package_size()
    assert zipped < 100_000
