"""Model Monitor baselines written by training, checked against the documented schemas
("Schema for Statistics (statistics.json file)", "Schema for Constraints (constraints.json
file)", SageMaker Developer Guide) and against what they must say about the bundled data."""

from __future__ import annotations

import base64
import json
import math
import random
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from model_code import baselines, kll
from model_code.package import BASELINE_MEMBERS, DATA_QUALITY_STATISTICS

INFERRED_TYPES = {"Integral", "Fractional", "String", "Unknown"}


def check_statistics_schema(document: dict[str, Any]) -> None:
    """Every field the documented schema gives a numeric feature, with its type."""
    assert isinstance(document["version"], float)
    assert isinstance(document["dataset"]["item_count"], int)
    for feature in document["features"]:
        assert isinstance(feature["name"], str) and feature["name"]
        assert feature["inferred_type"] in {"Integral", "Fractional"}
        numbers = feature["numerical_statistics"]
        common = numbers["common"]
        assert {type(common["num_present"]), type(common["num_missing"])} == {int}
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert isinstance(numbers[key], float), key
        distribution = numbers["distribution"]["kll"]
        buckets = distribution["buckets"]
        assert len(buckets) == 10  # "materialized in 10 buckets. You can't change this."
        for bucket in buckets:
            assert set(bucket) == {"lower_bound", "upper_bound", "count"}
            assert all(isinstance(v, float) for v in bucket.values())
        assert buckets[0]["lower_bound"] == numbers["min"]
        assert math.isclose(buckets[-1]["upper_bound"], numbers["max"])
        assert sum(b["count"] for b in buckets) == common["num_present"]
        sketch = distribution["sketch"]
        assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
        assert all(isinstance(level, list) for level in sketch["data"])


def check_constraints_schema(document: dict[str, Any]) -> None:
    assert isinstance(document["version"], float)
    for feature in document["features"]:
        assert set(feature) == {"name", "inferred_type", "completeness", "num_constraints"}
        assert feature["inferred_type"] in INFERRED_TYPES
        assert 0.0 <= feature["completeness"] <= 1.0
        assert isinstance(feature["num_constraints"]["is_non_negative"], bool)
    config = document["monitoring_config"]
    assert config["evaluate_constraints"] == config["emit_metrics"] == "Enabled"
    distribution = config["distribution_constraints"]
    assert distribution["perform_comparison"] == "Enabled"
    # The schema block and real baselining output spell it "Robust"/"Simple" (the options
    # table says linf_robust/linf_simple).
    assert distribution["comparison_method"] in {"Robust", "Simple"}
    assert 0.0 < distribution["comparison_threshold"] < 1.0


@pytest.fixture(scope="module")
def model_dir(trained: Any) -> Path:
    return Path(trained.model_dir)


def load(model_dir: Path, member: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((model_dir / member).read_text())
    return document


def test_training_writes_the_baseline_of_the_30_features(trained: Any, model_dir: Path) -> None:
    statistics = load(model_dir, DATA_QUALITY_STATISTICS)
    check_statistics_schema(statistics)
    names = [f["name"] for f in statistics["features"]]
    assert names == list(trained.feature_names) and len(names) == 30
    data = trained.metrics["data"]
    rows = data["n_fit"] + data["n_validation"]  # every training row, none of the test rows
    assert statistics["dataset"]["item_count"] == rows
    for feature in statistics["features"]:
        assert feature["inferred_type"] == "Fractional"
        common = feature["numerical_statistics"]["common"]
        assert (common["num_present"], common["num_missing"]) == (rows, 0)
        (level,) = feature["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
        assert len(level) == rows  # below the sketch size every value stays raw
    constraints = load(model_dir, "monitoring/data-quality/constraints.json")
    check_constraints_schema(constraints)
    assert [f["name"] for f in constraints["features"]] == names
    assert all(f["completeness"] == 1.0 for f in constraints["features"])
    assert all(f["num_constraints"]["is_non_negative"] for f in constraints["features"])


def test_the_statistics_are_those_of_the_training_rows(data_dir: Path, model_dir: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(data_dir / "train.csv")
    statistics = load(model_dir, DATA_QUALITY_STATISTICS)
    radius = next(f for f in statistics["features"] if f["name"] == "mean_radius")
    numbers = radius["numerical_statistics"]
    column = frame["mean_radius"]  # training rows: a subset of train.csv (the test split held out)
    assert column.min() <= numbers["min"] and numbers["max"] <= column.max()
    values = np.array(radius["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"][0])
    assert math.isclose(numbers["mean"], values.mean()) and math.isclose(
        numbers["sum"], values.sum()
    )
    assert math.isclose(numbers["std_dev"], values.std())  # population, as the analyzer writes
    assert set(np.round(values, 4)) <= set(np.round(column.to_numpy(), 4))


def test_model_quality_baseline_carries_the_held_out_metrics(trained: Any, model_dir: Path) -> None:
    test = trained.metrics["test"]
    statistics = load(model_dir, "monitoring/model-quality/statistics.json")
    metrics = statistics["binary_classification_metrics"]
    assert metrics["auc"]["value"] == test["roc_auc"]
    assert metrics["accuracy"]["value"] == test["accuracy"] and metrics["f1"]["value"] == test["f1"]
    constraints = load(model_dir, "monitoring/model-quality/constraints.json")
    auc = constraints["binary_classification_constraints"]["auc"]
    assert auc == {
        "threshold": pytest.approx(test["roc_auc"] - 0.05),
        "comparison_operator": "LessThanThreshold",
    }


def test_the_package_carries_the_baseline(trained: Any) -> None:
    with tarfile.open(trained.package_path) as archive:
        names = set(archive.getnames())
    assert set(BASELINE_MEMBERS) <= names


def test_the_preprocessor_turns_a_request_into_one_record_per_row(model_dir: Path) -> None:
    """It runs alone in the analyzer: executed here from its file with nothing imported."""
    namespace: dict[str, Any] = {"__name__": "preprocessor"}
    exec(
        compile((model_dir / "monitoring/preprocessor.py").read_text(), "pre.py", "exec"), namespace
    )
    names = namespace["FEATURE_NAMES"]
    assert len(names) == 30 and names[0] == "mean_radius"
    handler = namespace["preprocess_handler"]
    row = [float(i) for i in range(30)]

    def record(data: str, encoding: str) -> Any:
        captured = SimpleNamespace(data=data, encoding=encoding, observedContentType="x")
        return SimpleNamespace(endpoint_input=captured)

    body = json.dumps({"instances": [row, row[::-1]]})
    (first, second) = handler(record(body, "JSON"))
    assert first == dict(zip(names, row, strict=True)) and second["mean_radius"] == 29.0
    assert handler(record(json.dumps([row]), "JSON")) == [dict(zip(names, row, strict=True))]
    csv_body = ",".join(map(str, row)) + "\n" + ",".join(map(str, row)) + "\n"
    assert len(handler(record(csv_body, "CSV"))) == 2
    encoded = base64.b64encode(body.encode()).decode()
    assert len(handler(record(encoded, "BASE64"))) == 2
    assert handler(record(json.dumps({"instances": [[1.0, 2.0]]}), "JSON")) == []  # other width
    assert handler(record("{not json", "JSON")) == []


def test_a_large_column_is_compacted_as_deequ_does_without_losing_weight() -> None:
    rng = random.Random(7)
    values = [rng.gauss(0.0, 1.0) for _ in range(20_000)]
    sketch = kll.KllSketch().extend(values)
    data = sketch.as_json()["data"]
    assert len(data) > 1 and len(data[0]) <= sketch.capacity(0)
    # As in Deequ, only the items in all levels together are bounded (one level compacts per
    # overflow): far fewer than the 20,000 values.
    assert sum(map(len, data)) <= sum(sketch.capacity(h) for h in range(len(data))) < 8000
    cdf = kll.Cdf(data)
    assert cdf.total == len(values)  # compaction halves items and doubles their weight
    exact = sorted(values)
    for q in (0.1, 0.5, 0.9):
        x = exact[int(q * len(exact))]
        assert abs(cdf(x) - q) < 0.01


def test_drift_distance_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = random.Random(3)
    baseline = kll.Cdf([[rng.gauss(0, 1) for _ in range(455)]])
    same = kll.Cdf([[rng.gauss(0, 1) for _ in range(114)]])
    shifted = kll.Cdf([[rng.gauss(4, 1) for _ in range(114)]])
    assert kll.linf_robust(baseline, same) == 0.0
    assert kll.linf_distance(baseline, shifted) > 0.9
    assert kll.linf_robust(baseline, shifted) > 0.5


def test_statistics_of_a_small_matrix_by_hand() -> None:
    statistics = baselines.data_quality_statistics(
        np.array([[1.0, 0.5], [2.0, np.nan], [3.0, -1.5], [4.0, 2.0]]), ["count", "score"]
    )
    count, score = statistics["features"]
    assert count["inferred_type"] == "Integral" and score["inferred_type"] == "Fractional"
    numbers = count["numerical_statistics"]
    assert (numbers["mean"], numbers["sum"], numbers["min"], numbers["max"]) == (
        2.5,
        10.0,
        1.0,
        4.0,
    )
    assert numbers["std_dev"] == pytest.approx(1.118033988749895)
    assert score["numerical_statistics"]["common"] == {"num_present": 3, "num_missing": 1}
    constraints = baselines.data_quality_constraints(statistics, 0.2)
    assert [f["completeness"] for f in constraints["features"]] == [1.0, 0.75]
    assert [f["num_constraints"]["is_non_negative"] for f in constraints["features"]] == [
        True,
        False,
    ]
    assert (
        constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.2
    )
    with pytest.raises(ValueError, match=r"expected \(rows, 3\)"):
        baselines.data_quality_statistics(np.zeros((2, 2)), ["a", "b", "c"])


def test_training_rows_travel_as_the_reference_of_the_in_account_monitor(trained: Any) -> None:
    from model_code.package import REFERENCE_ROWS

    path = Path(trained.model_dir) / REFERENCE_ROWS
    lines = path.read_text(encoding="utf-8").splitlines()
    names = json.loads((Path(trained.model_dir) / "code" / "serving_config.json").read_text())[
        "feature_names"
    ]
    assert lines[0].split(",") == names
    data = trained.metrics["data"]
    assert len(lines) - 1 == data["n_fit"] + data["n_validation"]
    assert all(len(line.split(",")) == len(names) for line in lines[1:])


def test_a_large_training_set_is_sampled_to_the_cap_in_order() -> None:
    import numpy as np

    from model_code.baselines import reference_rows

    rows = np.arange(50, dtype=float).reshape(25, 2)
    text = reference_rows(rows, ["a", "b"], max_rows=10, seed=1)
    lines = text.splitlines()
    assert lines[0] == "a,b" and len(lines) == 11
    firsts = [float(line.split(",")[0]) for line in lines[1:]]
    assert firsts == sorted(firsts) and len(set(firsts)) == 10  # a sample, in original order
    assert reference_rows(rows, ["a", "b"], max_rows=10, seed=1) == text  # deterministic
    assert len(reference_rows(rows, ["a", "b"], max_rows=100).splitlines()) == 26
