"""Model Monitor baselines written at training time, in the formats the service documents.

SageMaker Model Monitor compares captured traffic with a baseline. A baselining job (the
analyzer container) would write it; training writes the same files instead, from the rows the
model learned from, so that every model carries its own baseline (``monitoring/`` in
``model.tar.gz``):

- ``data-quality/statistics.json``: "Schema for Statistics (statistics.json file)" (SageMaker
  Developer Guide, Model Monitor): per feature ``inferred_type``, ``numerical_statistics``
  (``common.num_present``/``num_missing``, ``mean``, ``sum``, ``std_dev``, ``min``, ``max``,
  ``distribution.kll`` with 10 equal-width ``buckets`` and the KLL ``sketch``);
- ``data-quality/constraints.json``: "Schema for Constraints (constraints.json file)": per
  feature type, completeness and non-negativity, and ``monitoring_config`` (metrics emitted,
  drift compared with the ``Robust`` method, which discounts small samples);
- ``model-quality/statistics.json`` and ``constraints.json``: the held-out binary
  classification metrics (``binary_classification_metrics``) and the floors a monitoring run
  compares them with (``binary_classification_constraints``, ``LessThanThreshold``);
- ``preprocessor.py``: the record preprocessor that turns one captured request into one
  record per row, named as the model's features;
- ``reference/features.csv``: the training rows (a seeded sample of at most 10,000) with a
  header of the feature names, which the in-account monitor (Evidently) tests the captured
  traffic against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model_code.kll import KllSketch
from model_code.package import (
    DATA_QUALITY_CONSTRAINTS,
    DATA_QUALITY_STATISTICS,
    MODEL_QUALITY_CONSTRAINTS,
    MODEL_QUALITY_STATISTICS,
    MONITOR_PREPROCESSOR,
    REFERENCE_MAX_ROWS,
    REFERENCE_ROWS,
)

BUCKETS = 10  # "By default, the distribution is materialized in 10 buckets. You can't change this."
DRIFT_THRESHOLD = 0.1  # the documented default comparison_threshold
#: Held-out metrics -> the names Model Monitor's binary classification reports use.
QUALITY_METRICS = {"roc_auc": "auc", "accuracy": "accuracy", "f1": "f1"}
PREPROCESSOR_TEMPLATE = Path(__file__).with_name("monitor_preprocessor.py")
FEATURE_NAMES_LINE = "FEATURE_NAMES: list[str] = []  # written by model_code.baselines"


def _number(value: float) -> float:
    """A float32 feature as the decimal it was read from (``16.02``, not ``16.0200004577``)."""
    return float(f"{float(value):.7g}")


def _buckets(values: NDArray[Any], low: float, high: float) -> list[dict[str, float]]:
    """10 equal-width buckets from min to max; the last includes max."""
    if high <= low:
        single = [float(values.size)] + [0.0] * (BUCKETS - 1)
        return [{"lower_bound": low, "upper_bound": high, "count": c} for c in single]
    edges = np.linspace(low, high, BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(c)}
        for i, c in enumerate(counts)
    ]


def _feature_statistics(name: str, column: NDArray[Any]) -> dict[str, Any]:
    present = column[~np.isnan(column)]
    values = np.array([_number(v) for v in present], dtype=np.float64)
    integral = bool(values.size) and bool(np.all(values == np.round(values)))
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    return {
        "name": name,
        "inferred_type": "Integral" if integral else "Fractional",
        "numerical_statistics": {
            "common": {
                "num_present": int(values.size),
                "num_missing": int(column.size - values.size),
            },
            "mean": float(values.mean()) if values.size else 0.0,
            "sum": float(values.sum()),
            "std_dev": float(values.std()) if values.size else 0.0,  # population, as the analyzer
            "min": low,
            "max": high,
            "distribution": {
                "kll": {
                    "buckets": _buckets(values, low, high),
                    "sketch": KllSketch().extend(values.tolist()).as_json(),
                }
            },
        },
    }


def data_quality_statistics(features: NDArray[Any], names: Sequence[str]) -> dict[str, Any]:
    """statistics.json of the feature matrix ``features`` (rows x ``names``)."""
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise ValueError(f"features are {matrix.shape}, expected (rows, {len(names)})")
    return {
        "version": 0.0,
        "dataset": {"item_count": int(matrix.shape[0])},
        "features": [_feature_statistics(n, matrix[:, i]) for i, n in enumerate(names)],
    }


def data_quality_constraints(
    statistics: Mapping[str, Any], drift_threshold: float = DRIFT_THRESHOLD
) -> dict[str, Any]:
    """constraints.json suggested from ``statistics``: each feature's type, its completeness,
    non-negativity where the baseline has no negative value; drift compared (Robust)."""
    features = []
    for feature in statistics["features"]:
        numbers = feature["numerical_statistics"]
        common = numbers["common"]
        total = common["num_present"] + common["num_missing"]
        features.append(
            {
                "name": feature["name"],
                "inferred_type": feature["inferred_type"],
                "completeness": common["num_present"] / total if total else 0.0,
                "num_constraints": {"is_non_negative": numbers["min"] >= 0},
            }
        )
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 0.1,
            "domain_content_threshold": 0.1,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": drift_threshold,
                "comparison_method": "Robust",
            },
        },
    }


def model_quality_statistics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """statistics.json of a model-quality baseline from the held-out metrics."""
    values = {
        reported: {"value": float(metrics[ours]), "standard_deviation": "NaN"}
        for ours, reported in QUALITY_METRICS.items()
    }
    return {
        "version": 0.0,
        "dataset": {"item_count": int(metrics.get("n_rows", 0))},
        "binary_classification_metrics": values,
    }


def model_quality_constraints(metrics: Mapping[str, Any], margin: float) -> dict[str, Any]:
    """constraints.json: a monitoring run violates a metric that falls ``margin`` below what the
    held-out rows measured."""
    return {
        "version": 0.0,
        "binary_classification_constraints": {
            reported: {
                "threshold": max(0.0, float(metrics[ours]) - margin),
                "comparison_operator": "LessThanThreshold",
            }
            for ours, reported in QUALITY_METRICS.items()
        },
    }


def preprocessor_source(names: Sequence[str]) -> str:
    """monitor_preprocessor.py with the model's feature names written in."""
    template = PREPROCESSOR_TEMPLATE.read_text(encoding="utf-8")
    if template.count(FEATURE_NAMES_LINE) != 1:
        raise RuntimeError(f"{PREPROCESSOR_TEMPLATE} lost its line {FEATURE_NAMES_LINE!r}")
    filled = f"FEATURE_NAMES: list[str] = {json.dumps(list(names))}"
    return template.replace(FEATURE_NAMES_LINE, filled)


def write_baselines(
    model_dir: Path,
    features: NDArray[Any],
    names: Sequence[str],
    metrics: Mapping[str, Any],
    *,
    drift_threshold: float = DRIFT_THRESHOLD,
    quality_margin: float = 0.05,
) -> dict[str, Path]:
    """Write every baseline file under ``model_dir``; returns member name -> path."""
    statistics = data_quality_statistics(features, names)
    documents: dict[str, Any] = {
        DATA_QUALITY_STATISTICS: statistics,
        DATA_QUALITY_CONSTRAINTS: data_quality_constraints(statistics, drift_threshold),
        MODEL_QUALITY_STATISTICS: model_quality_statistics(metrics),
        MODEL_QUALITY_CONSTRAINTS: model_quality_constraints(metrics, quality_margin),
    }
    written: dict[str, Path] = {}
    for member, document in documents.items():
        path = model_dir / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        written[member] = path
    path = model_dir / MONITOR_PREPROCESSOR
    path.write_text(preprocessor_source(names), encoding="utf-8")
    written[MONITOR_PREPROCESSOR] = path
    path = model_dir / REFERENCE_ROWS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reference_rows(features, names), encoding="utf-8")
    written[REFERENCE_ROWS] = path
    return written


def reference_rows(
    features: NDArray[Any], names: Sequence[str], max_rows: int = REFERENCE_MAX_ROWS, seed: int = 0
) -> str:
    """The training rows as CSV with a header of the feature names: all of them, or a seeded
    sample of ``max_rows`` (in their original order) when there are more."""
    rows = np.asarray(features)
    if len(rows) > max_rows:
        picked = np.sort(np.random.default_rng(seed).choice(len(rows), max_rows, replace=False))
        rows = rows[picked]
    lines = [",".join(names)]
    lines += [",".join(repr(_number(v)) for v in row) for row in rows]
    return "\n".join(lines) + "\n"
