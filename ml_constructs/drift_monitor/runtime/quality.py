"""Model quality of the labelled traffic: captured predictions joined with the ground truth by
inference id, scored with Evidently (AUC from the probabilities; accuracy, precision, recall
and F1 at the model's decision threshold, as the model labels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Evidently metric type -> the CloudWatch metric name (the AUC alarm reads ``auc``).
METRICS = {
    "evidently:metric_v2:RocAuc": "auc",
    "evidently:metric_v2:Accuracy": "accuracy",
    "evidently:metric_v2:Precision": "precision",
    "evidently:metric_v2:Recall": "recall",
    "evidently:metric_v2:F1Score": "f1",
}


@dataclass(frozen=True)
class Quality:
    """``metrics`` of ``label_count`` labelled rows, or why there are none (``skipped``)."""

    label_count: int
    metrics: dict[str, float] | None
    skipped: str | None = None
    snapshot: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"label_count": self.label_count, "metrics": self.metrics, "skipped": self.skipped}


def model_quality(
    labelled: list[tuple[int, float]], *, min_labels: int, threshold: float
) -> Quality:
    """Score (label, probability) pairs; fewer than ``min_labels``, or one class only, publish
    nothing and say so."""
    count = len(labelled)
    if count < min_labels:
        return Quality(count, None, f"{count} labelled rows, at least {min_labels} needed")
    if len({label for label, _ in labelled}) < 2:
        return Quality(count, None, f"{count} labelled rows of one class only (AUC needs both)")
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.metrics import Accuracy, F1Score, Precision, Recall, RocAuc

    frame = pd.DataFrame(
        {
            "target": [label for label, _ in labelled],
            "probability": [p for _, p in labelled],
            "prediction": [int(p >= threshold) for _, p in labelled],
        }
    )
    definition = DataDefinition(
        classification=[
            BinaryClassification(
                target="target",
                prediction_probas="probability",
                prediction_labels="prediction",
                pos_label=1,
            )
        ],
        numerical_columns=["probability"],
    )
    metrics = [
        m(probas_threshold=threshold) for m in (RocAuc, Accuracy, Precision, Recall, F1Score)
    ]
    snapshot = Report(metrics).run(
        current_data=Dataset.from_pandas(frame, data_definition=definition)
    )
    values = {METRICS[m["config"]["type"]]: float(m["value"]) for m in snapshot.dict()["metrics"]}
    return Quality(count, values, None, snapshot)
