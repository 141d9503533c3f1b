"""Drift and data quality of a window's rows against the served model's training rows, with
Evidently (imported here only, when there are rows to analyze).

Per feature, Evidently's ``ValueDrift`` with the method Evidently chooses for the column (or
the configured one) and that method's threshold; whether a column drifted is Evidently's own
test verdict, so a p-value test (drift when the score is *below* its threshold) and a
distance (drift when it is *above*) are never confused. ``DriftedColumnsCount`` gives the
share of drifted features, the window drifts when it reaches ``drift_share``. Data quality:
each feature's share of missing values and of values outside the training range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DRIFT = "evidently:metric_v2:ValueDrift"
DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
OUT_OF_RANGE = "evidently:metric_v2:OutRangeValueCount"
MISSING = "evidently:metric_v2:MissingValueCount"


@dataclass(frozen=True)
class ColumnDrift:
    """One feature's drift: the method and its threshold, the score, Evidently's verdict."""

    method: str
    threshold: float
    score: float
    drifted: bool


@dataclass(frozen=True)
class Analysis:
    """What a window's rows show; ``snapshot`` is Evidently's, for the HTML report."""

    columns: dict[str, ColumnDrift]
    drifted_count: int
    drifted_share: float
    dataset_drift: bool
    missing_share: dict[str, float]
    out_of_range_share: dict[str, float]
    snapshot: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "drift": {
                "columns": {
                    name: {
                        "method": c.method,
                        "threshold": c.threshold,
                        "score": c.score,
                        "drifted": c.drifted,
                    }
                    for name, c in self.columns.items()
                },
                "drifted_features": sorted(n for n, c in self.columns.items() if c.drifted),
                "drifted_count": self.drifted_count,
                "drifted_share": self.drifted_share,
                "dataset_drift": self.dataset_drift,
            },
            "data_quality": {
                "missing_share": self.missing_share,
                "out_of_range_share": self.out_of_range_share,
            },
        }


def analyze(
    current: Any,
    reference: Any,
    *,
    drift_share: float,
    stattest: str | None = None,
    stattest_threshold: float | None = None,
) -> Analysis:
    """Run Evidently on two pandas DataFrames with the same feature columns."""
    from evidently import Report
    from evidently.metrics import MissingValueCount, OutRangeValueCount
    from evidently.presets import DataDriftPreset

    features = list(reference.columns)
    metrics: list[Any] = [
        DataDriftPreset(
            columns=features,
            drift_share=drift_share,
            method=stattest,
            threshold=stattest_threshold,
        )
    ]
    metrics += [
        OutRangeValueCount(
            column=name, left=float(reference[name].min()), right=float(reference[name].max())
        )
        for name in features
    ]
    metrics += [MissingValueCount(column=name) for name in features]
    snapshot = Report(metrics, include_tests=True).run(
        current_data=current, reference_data=reference
    )
    return _read(snapshot, features)


def _read(snapshot: Any, features: list[str]) -> Analysis:
    result = snapshot.dict()
    failed = {
        (t["metric_config"]["params"]["type"], t["metric_config"]["params"].get("column"))
        for t in result["tests"]
        if str(getattr(t["status"], "value", t["status"])) == "FAIL"
    }
    columns: dict[str, ColumnDrift] = {}
    out_of_range: dict[str, float] = {}
    missing: dict[str, float] = {}
    count, share = 0, 0.0
    for metric in result["metrics"]:
        config, value = metric["config"], metric["value"]
        kind, column = config["type"], config.get("column")
        if kind == DRIFT:
            columns[column] = ColumnDrift(
                str(config["method"]),
                float(config["threshold"]),
                float(value),
                (DRIFT, column) in failed,
            )
        elif kind == DRIFTED_COUNT:
            count, share = int(value["count"]), float(value["share"])
        elif kind == OUT_OF_RANGE:
            out_of_range[column] = float(value["share"])
        elif kind == MISSING:
            missing[column] = float(value["share"])
    drifted = {c for c, d in columns.items() if d.drifted}
    if len(drifted) != count:
        raise RuntimeError(f"Evidently counts {count} drifted columns, its tests {len(drifted)}")
    drift_share = next(
        float(m["config"]["drift_share"])
        for m in result["metrics"]
        if m["config"]["type"] == DRIFTED_COUNT
    )
    return Analysis(
        columns={n: columns[n] for n in features},
        drifted_count=count,
        drifted_share=share,
        dataset_drift=share >= drift_share,
        missing_share={n: missing[n] for n in features},
        out_of_range_share={n: out_of_range[n] for n in features},
        snapshot=snapshot,
    )
