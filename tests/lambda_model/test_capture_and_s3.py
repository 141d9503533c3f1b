"""The function in its AWS setting (moto): the artifact read from S3 at cold start, and sampled
requests captured in SageMaker's data-capture format, where and how the monitors read them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_constructs.drift_monitor.runtime.capture import CapturedRequest, parse_record
from ml_constructs.drift_monitor.runtime.reader import ReadStats, WindowReader
from ml_constructs.lambda_model.runtime import capture
from ml_constructs.lambda_model.runtime import handler as lambda_model
from tests.inference_api.conftest import ENDPOINT, event
from tests.lambda_model.conftest import VARIANT, call

BUCKET = "mlserving-test-artifacts"
KEY = "models/releases/abc/model.tar.gz"


@pytest.fixture
def aws(
    function_env: dict[str, str], artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A bucket holding the artifact, the project key, and the function pointed at both."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=artifact.read_bytes())
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        monkeypatch.setenv("MODEL_DATA_URL", f"s3://{BUCKET}/{KEY}")
        monkeypatch.setenv("CAPTURE_BUCKET", BUCKET)
        monkeypatch.setenv("CAPTURE_KMS_KEY_ARN", key_arn)
        lambda_model.reset()
        yield {"s3": s3, "key_arn": key_arn}
        lambda_model.reset()


def captured_keys(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="data-capture/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_the_artifact_is_read_from_s3_once_per_container(aws: dict[str, Any]) -> None:
    rows = [[0.5 + i / 100 for i in range(30)]]
    assert call(lambda_model, event(instances=rows))[0] == 200
    aws["s3"].delete_object(Bucket=BUCKET, Key=KEY)  # a warm container never reads it again
    assert call(lambda_model, event(instances=rows))[0] == 200
    lambda_model.reset()  # a new container
    status, body, _ = call(lambda_model, event(instances=rows))
    assert (status, body["error"]["code"]) == (502, "upstream_error")


def test_sampled_requests_are_captured_as_sagemaker_does_and_the_monitor_parses_them(
    aws: dict[str, Any], trained: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPTURE_PERCENT", "100")
    rows = trained.test_features[:3].astype(float).tolist()
    status, body, _ = call(lambda_model, event(instances=rows, request_id="req-42"))
    assert status == 200
    (key,) = captured_keys(aws["s3"])
    now = dt.datetime.now(dt.UTC)
    folder = f"data-capture/{ENDPOINT}/{VARIANT}/"
    assert key.startswith(folder) and key.endswith(".jsonl")
    head = aws["s3"].head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == aws["key_arn"]

    # Read as the in-account monitor reads an endpoint's captures.
    stats = ReadStats()
    reader = WindowReader(aws["s3"], BUCKET, 100, stats)
    assert reader.variants(f"data-capture/{ENDPOINT}/") == [folder]
    hour = now.replace(minute=0, second=0, microsecond=0)
    (line,) = list(reader.lines(folder, [hour, hour - dt.timedelta(hours=1)]))
    parsed = parse_record(line, list(trained.feature_names))
    assert isinstance(parsed, CapturedRequest)
    assert parsed.inference_id == body["inference_id"] == "req-42"
    assert parsed.rows == rows
    assert parsed.probabilities == [p["probability"] for p in body["predictions"]]
    assert abs((parsed.time - now).total_seconds()) < 60

    record = json.loads(line)
    assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
    for side, mode in (("endpointInput", "INPUT"), ("endpointOutput", "OUTPUT")):
        payload = record["captureData"][side]
        assert payload["observedContentType"] == "application/json"
        assert (payload["mode"], payload["encoding"]) == (mode, "JSON")
    assert json.loads(record["captureData"]["endpointOutput"]["data"]) == {
        "predictions": body["predictions"]
    }
    assert set(record["eventMetadata"]) == {"eventId", "inferenceId", "inferenceTime"}


def test_capture_is_sampled_and_off_by_default(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    rows = [[0.5] * 30]
    call(lambda_model, event(instances=rows))
    assert captured_keys(aws["s3"]) == []
    monkeypatch.setenv("CAPTURE_PERCENT", "30")
    lambda_model.reset()
    for i in range(200):
        call(lambda_model, event(instances=rows, request_id=f"r{i}"))
    written = len(captured_keys(aws["s3"]))
    assert 30 <= written <= 95  # 30 % of 200, loosely
    states = [
        json.loads(line).get("capture")
        for line in capsys.readouterr().out.splitlines()
        if '"request finished"' in line
    ]
    assert set(states) == {"off", "skipped", "written"}


def test_batches_make_one_put_per_invocation_at_most(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPTURE_PERCENT", "100")
    monkeypatch.setenv("CAPTURE_MAX_RECORDS", "4")
    for i in range(10):
        call(lambda_model, event(instances=[[float(i)] * 30], request_id=f"r{i}"))
    keys = captured_keys(aws["s3"])
    assert len(keys) == 2  # 8 records written, 2 still buffered
    lines = [
        line
        for key in keys
        for line in aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()
    ]
    assert len(lines) == 8


def test_a_failed_capture_write_never_fails_the_request(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("CAPTURE_PERCENT", "100")
    monkeypatch.setenv("CAPTURE_BUCKET", "no-such-bucket-anywhere")
    status, _, _ = call(lambda_model, event(instances=[[0.5] * 30]))
    assert status == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (warning,) = [line for line in lines if line.get("message") == "capture not written"]
    (finished,) = [line for line in lines if line.get("message") == "request finished"]
    assert warning["records"] == 1 and "NoSuchBucket" in warning["reason"]
    assert finished["capture"] == "failed"


# --- the buffer on its own ---------------------------------------------------------------


T0 = dt.datetime(2026, 5, 1, 10, 59, 50, tzinfo=dt.UTC)


def test_the_buffer_writes_full_old_or_previous_hour_batches() -> None:
    buffer = capture.CaptureBuffer(max_records=3, max_age_s=60)
    assert buffer.add("a", T0) is None
    assert buffer.add("b", T0) is None
    full = buffer.add("c", T0)
    assert full is not None and full.lines == ["a", "b", "c"]
    assert buffer.add("d", T0) is None
    turned = buffer.add("e", T0 + dt.timedelta(seconds=15))  # 11:00:05: a new hour folder
    assert turned is not None and turned.lines == ["d"] and turned.started == T0
    assert buffer.due(T0 + dt.timedelta(seconds=30)) is None
    aged = buffer.due(T0 + dt.timedelta(seconds=80))
    assert aged is not None and aged.lines == ["e"]
    assert buffer.due(T0 + dt.timedelta(seconds=500)) is None


def test_keys_follow_sagemakers_layout() -> None:
    key = capture.object_key("data-capture/ep/AllTraffic/", T0)
    prefix, name = key.rsplit("/", 1)
    assert prefix == "data-capture/ep/AllTraffic/2026/05/01/10"
    assert name.startswith("59-50-000-") and name.endswith(".jsonl")


def test_sampling_follows_the_percentage() -> None:
    assert not any(capture.sampled(0) for _ in range(1000))
    assert all(capture.sampled(100) for _ in range(1000))
    assert 350 < sum(capture.sampled(50) for _ in range(1000)) < 650
