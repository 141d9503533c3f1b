"""Classification metrics, SageMaker metric log lines and report plots (no TensorFlow import)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

METRIC_KEYS = ("accuracy", "roc_auc", "f1", "precision", "recall")
# A float as printed by format_metric_line (also accepts a sign and an exponent).
_FLOAT = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"

# SageMaker training-job ``metric_definitions``: each regex captures the value of one line
# printed by :func:`format_metric_line`, e.g. ``test_roc_auc=0.996032;``.
METRIC_DEFINITIONS: list[dict[str, str]] = [
    *({"Name": f"test:{k}", "Regex": rf"\btest_{k}={_FLOAT};"} for k in METRIC_KEYS),
    *({"Name": f"baseline:{k}", "Regex": rf"\bbaseline_{k}={_FLOAT};"} for k in METRIC_KEYS),
    {"Name": "train:loss", "Regex": rf"\btrain_loss={_FLOAT};"},
    {"Name": "validation:loss", "Regex": rf"\bvalidation_loss={_FLOAT};"},
    {"Name": "validation:accuracy", "Regex": rf"\bvalidation_accuracy={_FLOAT};"},
]


def classification_metrics(
    labels: NDArray[Any], probabilities: NDArray[Any], threshold: float
) -> dict[str, Any]:
    """Accuracy, ROC AUC, F1, precision, recall and the confusion matrix [[tn, fp], [fn, tp]]."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y_true = np.asarray(labels).astype(int).ravel()
    scores = np.asarray(probabilities, dtype=np.float64).ravel()
    y_pred = (scores >= threshold).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        "threshold": float(threshold),
        "n_rows": int(y_true.shape[0]),
    }


def format_metric_line(prefix: str, values: Mapping[str, float]) -> str:
    """``prefix_key=value;`` pairs on one line, the format ``METRIC_DEFINITIONS`` scrapes."""
    return " ".join(f"{prefix}_{key}={float(value):.6f};" for key, value in values.items())


def metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The log lines for the test and baseline metrics of a ``metrics.json`` document."""
    lines = []
    for section in ("test", "baseline"):
        block = metrics[section]
        lines.append(format_metric_line(section, {k: block[k] for k in METRIC_KEYS}))
    return lines


def scrape(log: str) -> dict[str, float]:
    """What SageMaker would extract from ``log`` with ``METRIC_DEFINITIONS`` (last match wins)."""
    found: dict[str, float] = {}
    for definition in METRIC_DEFINITIONS:
        matches = re.findall(definition["Regex"], log)
        if matches:
            found[definition["Name"]] = float(matches[-1])
    return found


def save_plots(
    output_dir: Path,
    labels: NDArray[Any],
    curves: Mapping[str, NDArray[Any]],
    confusion: list[list[int]],
    threshold: float,
) -> list[Path]:
    """``roc_curve.png`` (one curve per model) and ``confusion_matrix.png``; Agg, no pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_auc_score, roc_curve

    output_dir.mkdir(parents=True, exist_ok=True)
    roc_path = output_dir / "roc_curve.png"
    figure = Figure(figsize=(5, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, scores in curves.items():
        fpr, tpr, _ = roc_curve(labels, scores)
        axes.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(labels, scores):.4f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set_xlabel("False positive rate")
    axes.set_ylabel("True positive rate")
    axes.set_title("ROC curve (held-out test split)")
    axes.legend(loc="lower right")
    figure.savefig(roc_path, dpi=100, metadata={"Software": None})

    cm_path = output_dir / "confusion_matrix.png"
    figure = Figure(figsize=(4, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    matrix = np.asarray(confusion)
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour)
    axes.set_xticks([0, 1], labels=["0", "1"])
    axes.set_yticks([0, 1], labels=["0", "1"])
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    axes.set_title(f"Confusion matrix (threshold {threshold:g})")
    figure.savefig(cm_path, dpi=100, metadata={"Software": None})
    return [roc_path, cm_path]
