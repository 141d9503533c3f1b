"""A stand-in for one execution of Model Monitor's data-quality analyzer (the container cannot
run here), following the constraint semantics the service documents ("Schema for Violations
(constraint_violations.json file)", "Schema for Constraints (constraints.json file)"):

- ``missing_column_check`` / ``extra_column_check``: a baseline feature the records lack, a
  feature the baseline does not know;
- ``completeness_check``: the share of records with a value is below the feature's
  ``completeness``;
- ``data_type_check``: more than ``datatype_check_threshold`` of the values are not of the
  baseline's ``inferred_type``;
- ``baseline_drift_check``: the distance between the baseline's KLL sketch and the records'
  distribution is above ``comparison_threshold`` (L-infinity of the CDFs; ``Robust`` takes off
  the Kolmogorov-Smirnov allowance for the two sample sizes, as Deequ does).

It is the rehearsal's evidence that the baseline, the preprocessor and the alarms fit together,
not a reimplementation of the analyzer: the service's own numbers may differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from model_code.kll import Cdf, linf_distance, linf_robust


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class Analysis:
    """The violations and each baseline feature's drift distance."""

    violations: list[Violation]
    distances: dict[str, float]
    item_count: int

    def report(self) -> dict[str, Any]:
        """constraint_violations.json as the analyzer writes it."""
        return {"violations": [v.as_dict() for v in self.violations]}


def _is_type(value: Any, inferred: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return inferred != "Integral" or float(value).is_integer()


def analyze(
    records: Sequence[Mapping[str, Any]],
    statistics: Mapping[str, Any],
    constraints: Mapping[str, Any],
) -> Analysis:
    """Check ``records`` (the preprocessor's output) against the baseline."""
    config = constraints.get("monitoring_config", {})
    distribution = config.get("distribution_constraints", {})
    threshold = float(distribution.get("comparison_threshold", 0.1))
    robust = distribution.get("comparison_method", "Robust") == "Robust"
    type_threshold = float(config.get("datatype_check_threshold", 0.1))
    expected = {f["name"]: f for f in constraints.get("features", [])}
    sketches = {
        f["name"]: f["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
        for f in statistics["features"]
    }
    seen = {name for record in records for name in record}
    violations = [
        Violation(name, "extra_column_check", f"{name} is not in the baseline")
        for name in sorted(seen - set(sketches))
    ]
    distances: dict[str, float] = {}
    for name, sketch in sketches.items():
        constraint = expected.get(name, {})
        if name not in seen:
            violations.append(
                Violation(name, "missing_column_check", f"{name} is missing from the records")
            )
            continue
        values = [record.get(name) for record in records]
        present = [v for v in values if v is not None]
        completeness = len(present) / len(values) if values else 0.0
        if completeness < float(constraint.get("completeness", 0.0)):
            violations.append(
                Violation(
                    name,
                    "completeness_check",
                    f"Completeness {completeness:.4f} is below {constraint['completeness']}",
                )
            )
        inferred = constraint.get("inferred_type", "Fractional")
        numbers = [float(v) for v in present if _is_type(v, inferred)]
        mismatched = 1 - len(numbers) / len(present) if present else 0.0
        if mismatched > type_threshold:
            violations.append(
                Violation(
                    name,
                    "data_type_check",
                    f"{mismatched:.2%} of the values are not {inferred} (threshold "
                    f"{type_threshold:.0%})",
                )
            )
        if not numbers:
            continue
        baseline, current = Cdf(sketch), Cdf([numbers])
        distance = linf_robust(baseline, current) if robust else linf_distance(baseline, current)
        distances[name] = distance
        if distance > threshold:
            violations.append(
                Violation(
                    name,
                    "baseline_drift_check",
                    f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold}",
                )
            )
    return Analysis(violations, distances, len(records))
