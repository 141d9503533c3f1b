"""The in-account monitor's analyzer: its statistics against hand-computed values, the
reservoir, every kind of bad input, and whole runs against moto (S3, CloudWatch, SNS)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import random
from collections import Counter
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ml_constructs.drift_monitor.runtime import handler as analyzer
from ml_constructs.drift_monitor.runtime.analysis import analyze
from ml_constructs.drift_monitor.runtime.capture import (
    CapturedRequest,
    Rejection,
    parse_ground_truth,
    parse_record,
)
from ml_constructs.drift_monitor.runtime.config import AnalyzerConfig
from ml_constructs.drift_monitor.runtime.quality import model_quality
from ml_constructs.drift_monitor.runtime.sampling import Reservoir
from ml_constructs.drift_monitor.runtime.windows import EventError, windows_of

FEATURES = ["a", "b", "c"]
REGION = "us-east-1"
BUCKET = "artifacts"
ENDPOINT = "ep"


# -- statistics ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(rng.normal(0, 1, (400, 3)), columns=FEATURES)
    current = pd.DataFrame(rng.normal(0, 1, (120, 3)), columns=FEATURES)
    current["b"] += 1.5  # one feature moved
    current.loc[0, "c"] = np.nan  # one missing value
    current.loc[1, "a"] = 99.0  # one value outside the training range
    return reference, current


def test_the_default_test_is_evidentlys_k_s_p_value_for_small_references(samples: Any) -> None:
    reference, current = samples
    result = analyze(current, reference, drift_share=0.5)
    for name in FEATURES:
        column = result.columns[name]
        expected = stats.ks_2samp(reference[name], current[name].dropna()).pvalue
        assert column.method == "K-S p_value" and column.threshold == 0.05
        assert column.score == pytest.approx(expected, rel=1e-9)
        assert column.drifted == (expected < 0.05)  # a p-value drifts *below* its threshold
    assert [n for n, c in result.columns.items() if c.drifted] == ["b"]
    assert result.drifted_count == 1 and result.drifted_share == pytest.approx(1 / 3)
    assert result.dataset_drift is False  # 1/3 < drift_share 0.5


def test_a_distance_drifts_above_its_threshold(samples: Any) -> None:
    reference, current = samples
    result = analyze(current, reference, drift_share=0.3, stattest="wasserstein")
    for name in FEATURES:
        values = current[name].dropna()
        expected = stats.wasserstein_distance(reference[name], values) / np.std(reference[name])
        column = result.columns[name]
        assert column.method == "wasserstein" and column.threshold == 0.1
        assert column.score == pytest.approx(expected, rel=1e-9)
        assert column.drifted == (expected >= 0.1)
    assert result.columns["b"].drifted
    assert result.dataset_drift == (result.drifted_share >= 0.3)


def test_data_quality_shares_are_counted_per_feature(samples: Any) -> None:
    reference, current = samples
    result = analyze(current, reference, drift_share=0.5)
    assert result.missing_share == {"a": 0.0, "b": 0.0, "c": pytest.approx(1 / 120)}
    low, high = reference["a"].min(), reference["a"].max()
    outside = ((current["a"] < low) | (current["a"] > high)).sum()
    assert outside >= 1
    assert result.out_of_range_share["a"] == pytest.approx(outside / 120)


def test_model_quality_equals_sklearn_at_the_models_threshold() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    probabilities = np.clip(0.35 * labels + rng.random(300) * 0.65, 0, 1)
    quality = model_quality(
        list(zip(labels.tolist(), probabilities.tolist(), strict=True)),
        min_labels=30,
        threshold=0.6,
    )
    predicted = (probabilities >= 0.6).astype(int)
    assert quality.label_count == 300
    assert quality.metrics == pytest.approx(
        {
            "auc": roc_auc_score(labels, probabilities),
            "accuracy": accuracy_score(labels, predicted),
            "precision": precision_score(labels, predicted),
            "recall": recall_score(labels, predicted),
            "f1": f1_score(labels, predicted),
        }
    )


def test_too_few_labels_or_one_class_publish_nothing_and_say_so() -> None:
    few = model_quality([(1, 0.9)] * 5, min_labels=30, threshold=0.5)
    assert few.metrics is None and few.skipped == "5 labelled rows, at least 30 needed"
    one = model_quality([(1, 0.9)] * 40, min_labels=30, threshold=0.5)
    assert one.metrics is None and "one class" in str(one.skipped)


# -- the reservoir ------------------------------------------------------------------------------


def test_the_reservoir_keeps_at_most_its_capacity_each_item_equally_likely() -> None:
    counts: Counter[int] = Counter()
    runs, items, capacity = 2000, 50, 10
    for seed in range(runs):
        reservoir: Reservoir[int] = Reservoir(capacity, seed)
        reservoir.extend(range(items))
        assert len(reservoir.items) == capacity and reservoir.seen == items and reservoir.sampled
        counts.update(reservoir.items)
    expected = runs * capacity / items  # 400 each
    chi2 = sum((counts[i] - expected) ** 2 / expected for i in range(items))
    assert stats.chi2.sf(chi2, items - 1) > 0.001  # uniform (fixed seeds: deterministic)
    small: Reservoir[int] = Reservoir(10, 0)
    small.extend(range(4))
    assert small.items == [0, 1, 2, 3] and not small.sampled


def test_the_same_window_samples_the_same_rows() -> None:
    first: Reservoir[int] = Reservoir(5, seed=42)
    second: Reservoir[int] = Reservoir(5, seed=42)
    first.extend(range(1000))
    second.extend(range(1000))
    assert first.items == second.items


# -- bad input ------------------------------------------------------------------------------------


def record(
    body: str,
    content_type: str = "application/json",
    encoding: str = "JSON",
    probability: float = 0.8,
    **meta: Any,
) -> str:
    payload = {
        "observedContentType": content_type,
        "mode": "INPUT",
        "data": body,
        "encoding": encoding,
    }
    output = {
        "observedContentType": "application/json",
        "mode": "OUTPUT",
        "data": json.dumps({"predictions": [{"probability": probability, "label": 1}]}),
        "encoding": "JSON",
    }
    metadata = {"eventId": "e", "inferenceTime": "2026-12-04T10:30:00Z", **meta}
    return json.dumps(
        {
            "captureData": {"endpointInput": payload, "endpointOutput": output},
            "eventMetadata": metadata,
        }
    )


@pytest.mark.parametrize(
    ("line", "rows"),
    [
        (record('{"instances": [[1, 2, 3], [4, 5, 6]]}'), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        (record("[[1, 2, 3]]"), [[1.0, 2.0, 3.0]]),
        (record('{"instances": [{"c": 3, "a": 1, "b": 2}]}'), [[1.0, 2.0, 3.0]]),
        (record('{"instances": [[1, null, 3]]}'), [[1.0, None, 3.0]]),
        (record("a,b,c\n1,2,3\n4,5,6\n", "text/csv", "CSV"), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        (record(base64.b64encode(b"[[7, 8, 9]]").decode(), encoding="BASE64"), [[7.0, 8.0, 9.0]]),
    ],
)
def test_captured_bodies_of_every_documented_shape_parse(line: str, rows: list[Any]) -> None:
    parsed = parse_record(line, FEATURES)
    assert isinstance(parsed, CapturedRequest)
    assert parsed.rows == rows and parsed.probabilities == [0.8]
    assert parsed.time == dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("line", "reason", "rows"),
    [
        ("not json at all", "malformed-line", 1),
        ('{"captureData": {}}', "malformed-line", 1),
        (record('{"instances": [[1, 2], [1, 2, 3]]}'), "wrong-width", 2),
        (record('{"instances": [[1, "two", 3]]}'), "non-numeric", 1),
        (record('{"instances": [[1, "NaN", 3]]}'), "non-numeric", 1),
        (record('{"instances": [[1, true, 3]]}'), "non-numeric", 1),
        # "a,b" is not the model's header, so it is a row too: two rows of the wrong width.
        (record("a,b\n1,2\n", "text/csv", "CSV"), "wrong-width", 2),
        (record("!!!not-base64", encoding="BASE64"), "bad-base64", 1),
        (record("[[1,2,3]]", "application/x-npy"), "unsupported-content-type", 1),
        (record("[[1,2,3]]", encoding="GZIP"), "unsupported-encoding", 1),
        (record('{"instances": "rows"}'), "malformed-body", 1),
        (record("{not json"), "malformed-body", 1),
        (record("[[1,2,3]]", inferenceTime="yesterday"), "no-time", 1),
    ],
)
def test_bad_records_are_rejected_with_a_reason_never_raised(
    line: str, reason: str, rows: int
) -> None:
    parsed = parse_record(line, FEATURES)
    assert isinstance(parsed, Rejection)
    assert parsed.reason == reason and parsed.rows == rows and parsed.detail


def test_ground_truth_records_join_by_event_id_and_bad_ones_are_counted() -> None:
    lines = [
        json.dumps(
            {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "x"}}
        ),
        json.dumps(
            {
                "groundTruthData": {"data": "0,1", "encoding": "CSV"},
                "eventMetadata": {"eventId": "y"},
            }
        ),
        json.dumps({"groundTruthData": {"data": "2"}, "eventMetadata": {"eventId": "z"}}),
        "garbage",
        "",
    ]
    labels = parse_ground_truth(lines)
    assert labels.by_id == {"x": [1], "y": [0, 1]}
    assert labels.rejected == {"label-not-binary": 1, "malformed-label": 1}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "must be a JSON object"),
        ({"time": "x"}, "unexpected event fields"),
        ({"scheduled_time": "soon"}, "scheduled_time: 'soon' is not an ISO 8601 time"),
        ({"scheduled_time": "2026-12-04T10:00:00"}, "has no time zone"),
        (
            {"window_start": "2026-12-04T10:00:00Z", "window_end": "2026-12-04T09:00:00Z"},
            "is not after",
        ),
        (
            {"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-12-04T00:00:00Z"},
            "more than 7 days",
        ),
        (
            {
                "window_start": "2026-12-04T10:00:00Z",
                "window_end": "2026-12-04T11:00:00Z",
                "quality_window_start": "2026-12-03T10:00:00Z",
            },
            "go together",
        ),
    ],
)
def test_bad_events_are_refused_naming_the_field(event: Any, message: str) -> None:
    with pytest.raises(EventError, match=message):
        windows_of(event, window_hours=1, label_delay_hours=24)


def test_the_scheduled_window_is_the_hour_before_and_quality_the_delayed_one() -> None:
    windows = windows_of({"scheduled_time": "2026-12-04T11:00:07Z"}, 1, 24)
    assert windows.data.to_json() == {
        "start": "2026-12-04T10:00:00Z",
        "end": "2026-12-04T11:00:00Z",
    }
    assert windows.quality.to_json() == {
        "start": "2026-12-03T10:00:00Z",
        "end": "2026-12-03T11:00:00Z",
    }


def test_the_configuration_round_trips_through_the_environment_and_names_bad_variables() -> None:
    config = settings(stattest="ks", stattest_threshold=0.01, model_quality=False)
    assert AnalyzerConfig.from_env(config.to_env()) == config
    broken = {**config.to_env(), "SAMPLE_SIZE": "ten", "MODEL_QUALITY": "yes"}
    with pytest.raises(
        ValueError, match=r"SAMPLE_SIZE: .*; MODEL_QUALITY: 'yes' is not true or false"
    ):
        AnalyzerConfig.from_env(broken)
    with pytest.raises(ValueError, match="STATTEST: 'magic' is not one of"):
        settings(stattest="magic")


# -- whole runs against moto ----------------------------------------------------------------------


def settings(**changes: Any) -> AnalyzerConfig:
    base: dict[str, Any] = {
        "bucket": BUCKET,
        "endpoint_name": ENDPOINT,
        "capture_prefix": f"data-capture/{ENDPOINT}/",
        "ground_truth_prefix": "ground-truth/",
        "baseline_prefix": "monitoring/baseline/",
        "reports_prefix": "monitoring/reports/own/",
        "key_arn": "",
        "namespace": "mlserving-test/model-monitor",
        "topic_arn": "",
        "label_delay_hours": 0,
        "min_labels": 20,
        "sample_size": 100,
    }
    return AnalyzerConfig(**{**base, **changes})


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn
        )
        yield {"s3": s3, "key": key, "topic": topic, "sqs": sqs, "queue": queue}


def put_reference(s3: Any, rows: np.ndarray) -> None:
    text = ",".join(FEATURES) + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"
    s3.put_object(
        Bucket=BUCKET, Key="monitoring/baseline/reference/features.csv", Body=text.encode()
    )


def put_captures(s3: Any, lines: list[str], hour: str = "2026/12/04/10", name: str = "a") -> None:
    key = f"data-capture/{ENDPOINT}/AllTraffic/{hour}/{name}.jsonl"
    s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())


def captured(
    rows: np.ndarray, minute: int, probability: float = 0.7, inference_id: str | None = None
) -> str:
    return record(
        json.dumps({"instances": rows.tolist()}),
        probability=probability,
        inferenceTime=f"2026-12-04T10:{minute:02d}:00Z",
        **({"inferenceId": inference_id} if inference_id else {}),
    )


def run(
    aws: dict[str, Any], config: AnalyzerConfig, now: str = "2026-12-04T12:00:00Z"
) -> analyzer.Report:
    config = AnalyzerConfig(**{**config.__dict__, "key_arn": aws["key"], "topic_arn": aws["topic"]})
    windows = windows_of(
        {"window_start": "2026-12-04T10:00:00Z", "window_end": "2026-12-04T11:00:00Z"}, 1, 0
    )
    now_time = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
    report = analyzer.Run(config, aws["s3"], now_time).execute(windows)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    analyzer.Publisher(
        config, aws["s3"], cloudwatch, boto3.client("sns", region_name=REGION)
    ).publish(report)
    return report


def published(config: AnalyzerConfig) -> set[str]:
    metrics = boto3.client("cloudwatch", region_name=REGION).list_metrics(
        Namespace=config.namespace
    )
    return {m["MetricName"] for m in metrics["Metrics"]}


def test_a_run_finds_the_shifted_feature_amid_bad_lines_and_writes_both_reports(aws: Any) -> None:
    rng = np.random.default_rng(1)
    put_reference(aws["s3"], rng.normal(0, 1, (300, 3)))
    shifted = rng.normal(0, 1, (60, 3))
    shifted[:, 1] += 3.0
    lines = [captured(shifted[i : i + 3], minute=i % 50 + 1) for i in range(0, 60, 3)]
    bad = [
        "garbage",
        record('{"instances": [[1, 2]]}', inferenceTime="2026-12-04T10:05:00Z"),
        record('{"instances": [[1, "x", 3]]}', inferenceTime="2026-12-04T10:05:00Z"),
        captured(rng.normal(0, 1, (2, 3)), minute=0).replace("10:00:00Z", "09:59:59Z"),  # before
    ]
    put_captures(aws["s3"], lines + bad)
    aws["s3"].put_object(
        Bucket=BUCKET,
        Key=f"data-capture/{ENDPOINT}/AllTraffic/2026/12/04/10/c.jsonl",
        Body=b"\xff\xfe\n",
    )
    config = settings()
    report = run(aws, config)
    document = report.document
    assert document["status"] == "analyzed"
    assert document["records"]["rows_in_window"] == 60  # the early row is outside the window
    assert document["records"]["rejected"] == {
        "malformed-line": 1,
        "non-numeric": 1,
        "wrong-width": 1,
    }
    assert document["read"]["undecodable_lines"] == 1
    assert document["drift"]["drifted_features"] == ["b"]  # the bad lines hide nothing
    assert document["drift"]["columns"]["b"]["method"] == "K-S p_value"
    metrics = published(config)
    assert {
        "feature_drifted_b",
        "feature_drift_score_a",
        "drifted_features_share",
        "rows_rejected",
    } <= metrics
    uris = report.uris or {}
    assert set(uris) == {"report_html", "json"}  # no labels: no quality report
    html = aws["s3"].get_object(Bucket=BUCKET, Key=uris["report_html"].split(f"{BUCKET}/", 1)[1])
    assert (
        html["ServerSideEncryption"] == "aws:kms" and b"<html" in html["Body"].read()[:2000].lower()
    )
    stored = json.loads(
        aws["s3"]
        .get_object(Bucket=BUCKET, Key=uris["json"].split(f"{BUCKET}/", 1)[1])["Body"]
        .read()
    )
    assert (
        stored["drift"]["drifted_features"] == ["b"] and stored["reports"]["json"] == uris["json"]
    )
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)["Messages"]
    announced = json.loads(messages[0]["Body"])["Message"]
    assert "Drift in ep's traffic 2026-12-04T10:00:00Z..2026-12-04T11:00:00Z: b." in announced
    assert uris["report_html"] in announced


def test_model_quality_joins_labels_by_inference_id(aws: Any) -> None:
    rng = np.random.default_rng(2)
    put_reference(aws["s3"], rng.normal(0, 1, (300, 3)))
    truth = [int(v) for v in rng.integers(0, 2, 40)]
    probabilities = [
        round(0.3 * t + random.Random(i).random() * 0.7, 4) for i, t in enumerate(truth)
    ]
    lines = [
        captured(rng.normal(0, 1, (1, 3)), minute=i + 1, probability=p, inference_id=f"id-{i}")
        for i, p in enumerate(probabilities)
    ]
    put_captures(aws["s3"], lines)
    labels = "\n".join(
        json.dumps(
            {
                "groundTruthData": {"data": str(t), "encoding": "CSV"},
                "eventMetadata": {"eventId": f"id-{i}"},
            }
        )
        for i, t in enumerate(truth)
    )
    aws["s3"].put_object(
        Bucket=BUCKET, Key="ground-truth/2026/12/04/11/labels.jsonl", Body=labels.encode()
    )
    report = run(aws, settings())
    quality = report.document["model_quality"]
    assert quality["label_count"] == 40 and quality["labels_read"] == 40
    assert quality["metrics"]["auc"] == pytest.approx(roc_auc_score(truth, probabilities))
    assert quality["metrics"]["accuracy"] == pytest.approx(
        accuracy_score(truth, [int(p >= 0.5) for p in probabilities])
    )
    assert {"auc", "f1", "label_count"} <= published(settings())
    assert "quality_html" in (report.uris or {})


def test_an_empty_window_and_a_missing_baseline_are_reported_not_raised(aws: Any) -> None:
    config = settings()
    missing = run(aws, config)
    assert missing.document["status"] == "no-baseline"
    assert "carries no reference rows" in missing.document["baseline"]["missing"]
    assert published(config) == {"baseline_missing"}
    put_reference(aws["s3"], np.zeros((20, 3)))
    empty = run(aws, config)
    assert empty.document["status"] == "too-few-rows"
    assert empty.document["drift"] == {"skipped": "0 valid rows, 10 needed"}
    assert empty.document["model_quality"]["skipped"] == "0 labelled rows, at least 20 needed"
    assert "rows_analyzed" in published(config)


def test_a_missing_reference_read_without_list_permission_is_reported_as_such() -> None:
    """The monitor's role may not list monitoring/baseline/: S3 answers 403 for a missing key."""
    from botocore.exceptions import ClientError

    class Denied:
        def get_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")

    reason = analyzer.Run(settings(), Denied(), dt.datetime.now(dt.UTC))._reference()
    assert isinstance(reason, str) and reason.startswith("AccessDenied: no object there")


def test_non_finite_figures_are_reported_not_sent_to_cloudwatch(aws: Any) -> None:
    """CloudWatch refuses NaN and infinities, and the whole request that carries one."""
    config = AnalyzerConfig(
        **{**settings().__dict__, "key_arn": aws["key"], "topic_arn": aws["topic"]}
    )
    windows = windows_of(
        {"window_start": "2026-12-04T10:00:00Z", "window_end": "2026-12-04T11:00:00Z"}, 1, 0
    )
    report = analyzer.Report(
        windows, {"status": "analyzed"}, {"rows_analyzed": 50.0, "feature_drift_score_a": math.nan}
    )
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    analyzer.Publisher(
        config, aws["s3"], cloudwatch, boto3.client("sns", region_name=REGION)
    ).publish(report)
    assert published(config) == {"rows_analyzed"}
    assert report.document["metrics_not_published"] == {"feature_drift_score_a": "nan"}


def test_configuration_offers_exactly_the_methods_the_analyzer_accepts() -> None:
    """Two lists, one in the configuration (which may not import the runtime) and one in the
    runtime (whose image holds nothing else): they must agree."""
    from typing import get_args

    from ml_constructs.drift_monitor.runtime.config import STATTESTS
    from serving_config.model_monitoring import Stattest

    assert set(get_args(Stattest)) == set(STATTESTS)


def test_every_offered_method_runs_in_evidently_and_finds_a_half_sigma_shift() -> None:
    """Each name the configuration accepts is one Evidently 0.7 knows, and its verdict reads
    the right way round whatever its direction (p-value or distance)."""
    from ml_constructs.drift_monitor.runtime.config import STATTESTS

    rng = np.random.default_rng(0)
    reference = pd.DataFrame(rng.normal(0, 1, (200, 2)), columns=["a", "b"])
    current = pd.DataFrame(rng.normal(0, 1, (100, 2)), columns=["a", "b"])
    current["a"] += 1.0
    for method in STATTESTS:
        result = analyze(current, reference, drift_share=0.5, stattest=method)
        assert result.columns["a"].method == method
        assert result.columns["a"].drifted, (method, result.columns["a"])
