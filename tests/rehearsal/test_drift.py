"""The rehearsal's stand-in for Model Monitor's data-quality analyzer follows the documented
constraint checks; its inputs are the baseline files training writes."""

from __future__ import annotations

import random

import numpy as np

from model_code.baselines import data_quality_constraints, data_quality_statistics
from rehearsal.drift import analyze

NAMES = ["a", "b", "count"]


def baseline(rows: int = 400) -> tuple[dict, dict]:
    rng = np.random.default_rng(1)
    matrix = np.column_stack(
        [rng.normal(0, 1, rows), rng.normal(10, 2, rows), rng.integers(0, 5, rows)]
    )
    statistics = data_quality_statistics(matrix, NAMES)
    return statistics, data_quality_constraints(statistics)


def records(rows: int = 120, shift_b: float = 0.0) -> list[dict]:
    rng = random.Random(2)
    return [
        {"a": rng.gauss(0, 1), "b": rng.gauss(10, 2) + shift_b, "count": float(rng.randint(0, 4))}
        for _ in range(rows)
    ]


def test_traffic_like_the_training_data_has_no_violation() -> None:
    statistics, constraints = baseline()
    analysis = analyze(records(), statistics, constraints)
    assert analysis.violations == [] and analysis.item_count == 120
    assert set(analysis.distances) == set(NAMES)


def test_a_shifted_feature_is_exactly_the_one_that_drifts() -> None:
    statistics, constraints = baseline()
    analysis = analyze(records(shift_b=12.0), statistics, constraints)
    (violation,) = analysis.violations
    assert (violation.feature_name, violation.constraint_check_type) == (
        "b",
        "baseline_drift_check",
    )
    assert analysis.distances["b"] > 0.5 and analysis.distances["a"] < 0.1
    assert analysis.report() == {"violations": [violation.as_dict()]}


def test_missing_values_types_and_columns_are_violations() -> None:
    statistics, constraints = baseline()
    current = records()
    for record in current[:30]:
        record["a"] = None  # completeness 0.75 < 1.0
    for record in current[:20]:
        record["count"] = 2.5  # not Integral: 1/6 of the values > 10%
    for record in current:
        record.pop("b")
        record["new"] = 1.0
    kinds = {
        (v.feature_name, v.constraint_check_type)
        for v in analyze(current, statistics, constraints).violations
    }
    assert kinds == {
        ("a", "completeness_check"),
        ("count", "data_type_check"),
        ("b", "missing_column_check"),
        ("new", "extra_column_check"),
    }


def test_simple_method_reads_the_raw_distance() -> None:
    statistics, constraints = baseline()
    constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] = 0.01
    analysis = analyze(records(), statistics, constraints)
    assert {v.constraint_check_type for v in analysis.violations} == {"baseline_drift_check"}
