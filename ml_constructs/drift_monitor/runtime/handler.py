"""The monitor's function: EventBridge Scheduler invokes it every ``window_hours``.

One run reads the window's captured requests (a reservoir sample of their rows) and the served
model's training rows, runs Evidently (drift per feature, data quality), joins the older
window's predictions with their ground truth (model quality), publishes the figures to
CloudWatch, writes an HTML and a JSON report to the bucket (SSE-KMS, the project key) and names
them in its log (and on the alarm topic when it finds drift). Bad records are counted and
reported; a missing baseline or an empty window is reported and publishes what it can.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .capture import CapturedRequest, Rejection, parse_ground_truth, parse_record
from .config import AnalyzerConfig
from .reader import ReadStats, WindowReader, capture_hours, label_hours
from .sampling import Reservoir
from .windows import Window, Windows, windows_of

REFERENCE_KEY = "reference/features.csv"
#: Fewer valid rows than this in a window: no drift test (its statistics would mean nothing).
MIN_ROWS = 10
METRIC_BATCH = 500


@cache
def _config() -> AnalyzerConfig:
    return AnalyzerConfig.from_env(os.environ)


@cache
def _clients() -> tuple[Any, Any, Any]:
    import boto3

    return boto3.client("s3"), boto3.client("cloudwatch"), boto3.client("sns")


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    config = _config()
    windows = windows_of(event, config.window_hours, config.label_delay_hours)
    s3, cloudwatch, sns = _clients()
    report = Run(config, s3, dt.datetime.now(dt.UTC)).execute(windows)
    Publisher(config, s3, cloudwatch, sns).publish(report)
    print(json.dumps({"monitor": report.summary()}))
    return report.summary()


@dataclass
class Report:
    """One run's findings (``document`` is the JSON report) and Evidently's snapshots."""

    windows: Windows
    document: dict[str, Any]
    metrics: dict[str, float]
    drift_snapshot: Any = None
    quality_snapshot: Any = None
    uris: dict[str, str] | None = None

    @property
    def drifted(self) -> list[str]:
        drift = self.document.get("drift") or {}
        return list(drift.get("drifted_features", []))

    def summary(self) -> dict[str, Any]:
        return {
            "window": self.windows.data.to_json(),
            "status": self.document["status"],
            "rows_analyzed": self.document["records"]["rows_sampled"],
            "drifted_features": self.drifted,
            "model_quality": (self.document.get("model_quality") or {}).get("metrics"),
            "reports": self.uris or {},
        }


class Run:
    """Read, analyze and score one pair of windows."""

    def __init__(self, config: AnalyzerConfig, s3: Any, now: dt.datetime) -> None:
        self.config, self.s3, self.now = config, s3, now
        #: What the data window's pass read (the quality pass counts its own).
        self.stats = ReadStats()

    def execute(self, windows: Windows) -> Report:
        document: dict[str, Any] = {
            "endpoint": self.config.endpoint_name,
            "window": windows.data.to_json(),
            "quality_window": windows.quality.to_json(),
        }
        metrics: dict[str, float] = {}
        reference = self._reference()
        if isinstance(reference, str):
            document["status"] = "no-baseline"
            document["baseline"] = {
                "missing": f"s3://{self.config.bucket}/{self.config.baseline_prefix}"
                f"{REFERENCE_KEY}: {reference}"
            }
            document["records"] = {"rows_sampled": 0}
            metrics["baseline_missing"] = 1.0
            return Report(windows, document, metrics)
        features = list(reference.columns)
        document["baseline"] = {"reference_rows": len(reference), "features": len(features)}
        sample = self._sample(windows.data, features)
        document["records"] = self._records(sample)
        metrics.update(
            rows_analyzed=float(len(sample.items)),
            rows_in_window=float(sample.seen),
            rows_rejected=float(sum(self.stats.rejected.values())),
            baseline_missing=0.0,
        )
        report = Report(windows, document, metrics)
        if len(sample.items) < MIN_ROWS:
            document["status"] = "too-few-rows"
            document["drift"] = {"skipped": f"{len(sample.items)} valid rows, {MIN_ROWS} needed"}
        else:
            document["status"] = "analyzed"
            self._drift(report, reference, sample.items, features)
        if self.config.model_quality:
            self._quality(report, windows.quality, features)
        document["read"] = self.stats.to_json()
        return report

    # -- pieces ------------------------------------------------------------------------------

    def _reference(self) -> Any:
        """The served model's training rows, or why there are none."""
        import pandas as pd

        key = f"{self.config.baseline_prefix}{REFERENCE_KEY}"
        try:
            body = self.s3.get_object(Bucket=self.config.bucket, Key=key)["Body"].read()
        except Exception as error:  # botocore's ClientError
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return "the served model carries no reference rows"
            if code in ("AccessDenied", "403"):
                # S3 answers 403 for a missing key to a role without s3:ListBucket there
                return (
                    "AccessDenied: no object there (the served model carries no reference "
                    "rows), or this role may not read it"
                )
            raise
        return pd.read_csv(io.BytesIO(body), dtype=float)

    def _reader(self, stats: ReadStats) -> WindowReader:
        return WindowReader(self.s3, self.config.bucket, self.config.max_objects, stats)

    def _requests(self, window: Window, features: list[str], stats: ReadStats) -> Any:
        """The window's valid captured requests (rejections counted in ``stats``)."""
        reader = self._reader(stats)
        for variant in reader.variants(self.config.capture_prefix):
            for line in reader.lines(variant, capture_hours(window)):
                parsed = parse_record(line, features)
                if isinstance(parsed, Rejection):
                    stats.rejected[parsed.reason] += parsed.rows
                elif parsed.time in window:
                    yield parsed

    def _sample(self, window: Window, features: list[str]) -> Reservoir[list[float | None]]:
        sample: Reservoir[list[float | None]] = Reservoir(
            self.config.sample_size, seed=int(window.start.timestamp())
        )
        for request in self._requests(window, features, self.stats):
            sample.extend(request.rows)
        return sample

    def _records(self, sample: Reservoir[Any]) -> dict[str, Any]:
        return {
            "rows_in_window": sample.seen,
            "rows_sampled": len(sample.items),
            "sample_size": self.config.sample_size,
            "sampling": (
                f"reservoir (Algorithm R) of {self.config.sample_size} rows, seeded by the window"
                if sample.sampled
                else "every row of the window"
            ),
            "rejected": dict(sorted(self.stats.rejected.items())),
        }

    def _drift(
        self, report: Report, reference: Any, rows: list[list[float | None]], features: list[str]
    ) -> None:
        import pandas as pd

        from .analysis import analyze

        current = pd.DataFrame(rows, columns=features, dtype=float)
        analysis = analyze(
            current,
            reference,
            drift_share=self.config.drift_share,
            stattest=self.config.stattest,
            stattest_threshold=self.config.stattest_threshold,
        )
        report.document.update(analysis.to_json())
        report.drift_snapshot = analysis.snapshot
        for name, column in analysis.columns.items():
            report.metrics[f"feature_drift_score_{name}"] = column.score
            report.metrics[f"feature_drifted_{name}"] = float(column.drifted)
        report.metrics.update(
            drifted_features_count=float(analysis.drifted_count),
            drifted_features_share=analysis.drifted_share,
            dataset_drift=float(analysis.dataset_drift),
            missing_values_share=_mean(analysis.missing_share.values()),
            out_of_range_share=_mean(analysis.out_of_range_share.values()),
        )

    def _quality(self, report: Report, window: Window, features: list[str]) -> None:
        from .quality import model_quality

        stats = ReadStats()
        lines = self._reader(stats).lines(
            self.config.ground_truth_prefix, label_hours(window, self.now)
        )
        labels = parse_ground_truth(list(lines))
        pairs: Reservoir[tuple[int, float]] = Reservoir(
            self.config.sample_size, seed=int(window.start.timestamp())
        )
        mismatched = 0
        for request in self._labelled(window, features, labels.by_id, stats):
            truth = labels.by_id[str(request.inference_id)]
            if request.probabilities is None or len(truth) != len(request.probabilities):
                mismatched += 1
                continue
            pairs.extend(zip(truth, request.probabilities, strict=True))
        quality = model_quality(
            pairs.items,
            min_labels=self.config.min_labels,
            threshold=self.config.probability_threshold,
        )
        report.document["model_quality"] = {
            **quality.to_json(),
            "labels_read": len(labels.by_id),
            "labels_rejected": labels.rejected,
            "requests_whose_labels_do_not_match_their_rows": mismatched,
            "read": stats.to_json(),
        }
        report.quality_snapshot = quality.snapshot
        report.metrics["label_count"] = float(quality.label_count)
        if quality.metrics is not None:
            report.metrics.update(quality.metrics)

    def _labelled(
        self,
        window: Window,
        features: list[str],
        labelled: dict[str, list[int]],
        stats: ReadStats,
    ) -> Any:
        for request in self._requests(window, features, stats):
            if request.inference_id is not None and request.inference_id in labelled:
                yield request


def _mean(values: Any) -> float:
    values = list(values)
    return float(sum(values) / len(values)) if values else 0.0


class Publisher:
    """CloudWatch metrics, the reports in S3, the log line and the drift announcement."""

    def __init__(self, config: AnalyzerConfig, s3: Any, cloudwatch: Any, sns: Any) -> None:
        self.config, self.s3, self.cloudwatch, self.sns = config, s3, cloudwatch, sns

    def publish(self, report: Report) -> None:
        finite = {name: v for name, v in report.metrics.items() if math.isfinite(v)}
        if len(finite) < len(report.metrics):
            # CloudWatch refuses NaN and infinities (and the whole request with them)
            report.document["metrics_not_published"] = {
                name: str(v) for name, v in report.metrics.items() if name not in finite
            }
        report.uris = self._write_reports(report)
        self._put_metrics(finite)
        if report.drifted or (report.document.get("drift") or {}).get("dataset_drift"):
            self._announce(report)

    def _put_metrics(self, metrics: dict[str, float]) -> None:
        dimensions = [{"Name": "Endpoint", "Value": self.config.endpoint_name}]
        data = [
            {"MetricName": name, "Value": value, "Dimensions": dimensions}
            for name, value in sorted(metrics.items())
        ]
        for start in range(0, len(data), METRIC_BATCH):
            self.cloudwatch.put_metric_data(
                Namespace=self.config.namespace, MetricData=data[start : start + METRIC_BATCH]
            )

    def _write_reports(self, report: Report) -> dict[str, str]:
        end = report.windows.data.end
        base = f"{self.config.reports_prefix}{self.config.endpoint_name}/{end:%Y/%m/%d/%H%M}/"
        uris: dict[str, str] = {}
        for name, snapshot in (
            ("report", report.drift_snapshot),
            ("quality", report.quality_snapshot),
        ):
            if snapshot is not None:
                uris[f"{name}_html"] = self._put(
                    f"{base}{name}.html", html_report(snapshot), "text/html"
                )
        report.document["reports"] = {
            **uris,
            "json": f"s3://{self.config.bucket}/{base}report.json",
        }
        uris["json"] = self._put(
            f"{base}report.json",
            json.dumps(report.document, indent=1, default=str).encode(),
            "application/json",
        )
        return uris

    def _put(self, key: str, body: bytes, content_type: str) -> str:
        self.s3.put_object(
            Bucket=self.config.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self.config.key_arn,
        )
        return f"s3://{self.config.bucket}/{key}"

    def _announce(self, report: Report) -> None:
        window = report.windows.data.to_json()
        drifted = ", ".join(report.drifted) or "none by itself (the share of drifted features)"
        message = (
            f"Drift in {self.config.endpoint_name}'s traffic {window['start']}..{window['end']}: "
            f"{drifted}.\nReport: {report.uris.get('report_html', '-') if report.uris else '-'}\n"
            f"Figures: {report.uris.get('json', '-') if report.uris else '-'}"
        )
        self.sns.publish(
            TopicArn=self.config.topic_arn,
            Subject=f"Drift in {self.config.endpoint_name}"[:99],
            Message=message,
        )


def html_report(snapshot: Any) -> bytes:
    """Evidently's HTML report (plots of every feature's distributions) as bytes."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "report.html"
        snapshot.save_html(str(path))
        return path.read_bytes()


__all__ = ["CapturedRequest", "Publisher", "Report", "Run", "lambda_handler"]
