"""Ground-truth labels for model-quality monitoring: Model Monitor's record format and S3
layout, SSE-KMS, and a message naming the line for every bad label."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from deploy_tools.ground_truth import GroundTruthError, main, read_labels, upload_labels


def test_labels_are_written_as_model_monitor_records_in_the_hour_they_were_collected() -> None:
    labels = read_labels(["inference_id,label", "req-1,1", "req-2,0"])
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        collected = dt.datetime(2026, 11, 28, 9, 41, tzinfo=dt.UTC)
        uri = upload_labels(s3, "artifacts", key_arn, labels, collected)
        key = uri.removeprefix("s3://artifacts/")
        assert key.startswith("ground-truth/2026/11/28/09/") and key.endswith(".jsonl")
        stored = s3.get_object(Bucket="artifacts", Key=key)
        assert stored["SSEKMSKeyId"] == key_arn
        lines = [json.loads(line) for line in stored["Body"].read().decode().splitlines()]
    assert lines == [
        {
            "groundTruthData": {"data": "1", "encoding": "CSV"},
            "eventMetadata": {"eventId": "req-1"},
            "eventVersion": "0",
        },
        {
            "groundTruthData": {"data": "0", "encoding": "CSV"},
            "eventMetadata": {"eventId": "req-2"},
            "eventVersion": "0",
        },
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["req-1,2"], r"labels:1: label '2' is not 0 or 1"),
        (["req-1"], r"labels:1: expected inference_id,label, got 1 fields"),
        (["   ,1"], r"labels:1: '' is not an inference id"),
        (["x" * 65 + ",1"], r"labels:1: 'x{65}' is not an inference id"),
        (["req-1,1", "req-1,0"], r"labels:2: req-1 is labelled twice"),
        (["inference_id,label"], r"labels: no labels"),
        (["é,1"], r"labels:1: 'é' is not an inference id"),
    ],
)
def test_bad_labels_name_their_line(lines: list[str], message: str) -> None:
    with pytest.raises(GroundTruthError, match=message):
        read_labels(lines)


def test_cli_reports_a_missing_file_and_a_missing_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--env", "dev", str(tmp_path / "absent.csv")]) == 2
    assert "absent.csv does not exist" in capsys.readouterr().err
    labels = tmp_path / "labels.csv"
    labels.write_text("req-1,1\n")
    with mock_aws():
        assert main(["--env", "dev", str(labels)]) == 2
    assert "mlserving-dev-data is not deployed" in capsys.readouterr().err
