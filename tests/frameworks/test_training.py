"""Each framework trains on the bundled data under the SageMaker contract: quality, metrics.json
(with its framework), determinism, the artifact's layout, and ``train.py --framework``."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model_code import metrics as metrics_module
from model_code import package
from tests.frameworks.conftest import FRAMEWORKS, read_archive, train
from tests.model_code.conftest import MODEL_CODE_DIR, run_train_script, sagemaker_environment

FORMATS = {"pytorch": "torchscript", "xgboost": "xgboost-json", "sklearn": "joblib"}


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_quality_well_above_chance_and_near_the_baseline(
    framework_runs: dict[str, Any], framework: str
) -> None:
    metrics = framework_runs[framework].metrics
    test, baseline = metrics["test"], metrics["baseline"]
    assert test["roc_auc"] > 0.99  # the Keras model gets 0.996 on the same rows
    assert test["accuracy"] > 0.95
    assert test["accuracy"] >= baseline["accuracy"] - 0.02
    assert test["n_rows"] == baseline["n_rows"] == 114
    assert baseline["model"] == "StandardScaler + LogisticRegression"
    assert framework_runs[framework].wall_seconds < 20


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_metrics_json_declares_the_framework_and_its_evidence(
    framework_runs: dict[str, Any], framework: str
) -> None:
    run = framework_runs[framework]
    written = json.loads((run.model_dir / "metrics.json").read_text())
    assert (
        written == json.loads(run.metrics_path.read_text()) == json.loads(json.dumps(run.metrics))
    )
    declared = written["framework"]
    assert declared["name"] == framework
    assert declared["model_format"] == FORMATS[framework]
    model = run.model_dir / declared["model_member"]
    assert declared["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert written["data"]["n_features"] == 30
    onnx = written["onnx"]
    assert onnx["max_abs_diff"] <= onnx["max_abs_diff_bound"] == 1e-5
    assert onnx["sha256"] == hashlib.sha256((run.model_dir / "model.onnx").read_bytes()).hexdigest()
    assert f"test_roc_auc={written['test']['roc_auc']:.6f};" in "\n".join(
        metrics_module.metric_lines(written)
    )


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_artifact_layout(framework_runs: dict[str, Any], framework: str) -> None:
    run = framework_runs[framework]
    members = read_archive(run.package_path)
    assert set(package.FRAMEWORK_MEMBERS[framework]) <= set(members)
    assert "model.onnx" in members and "monitoring/data-quality/statistics.json" in members
    assert (
        members["code/inference.py"] == (MODEL_CODE_DIR / f"inference_{framework}.py").read_bytes()
    )
    assert members["code/serving_io.py"] == (MODEL_CODE_DIR / "inference.py").read_bytes()
    assert package.validate_archive(run.package_path) == package.validate_archive(
        run.package_path, framework
    )
    if framework == "sklearn":
        pins = members["code/requirements.txt"].decode().split()
        assert "scikit-learn==1.7.2" in pins


@pytest.mark.slow
def test_package_refuses_a_directory_without_the_model(
    framework_runs: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(package.PackageError, match=r"lacks model\.json"):
        package.package(framework_runs["pytorch"].model_dir, tmp_path / "m.tar.gz", "xgboost")


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_seed_same_model(
    framework_runs: dict[str, Any], framework: str, tmp_path: Path, data_dir: Path
) -> None:
    """A second run: identical metrics.json and model, byte for byte, except TorchScript's
    archive, which carries a random serialization id (its weights are compared instead)."""
    again = train(framework, tmp_path, data_dir)
    first = framework_runs[framework]
    member = first.metrics["framework"]["model_member"]
    metrics = [copy.deepcopy(run.metrics) for run in (first, again)]
    if framework == "pytorch":
        for document in metrics:
            del document["framework"]["model_sha256"]
        for name, tensor in first.model.state_dict().items():
            assert again.model.state_dict()[name].equal(tensor), name
    else:
        assert (again.model_dir / member).read_bytes() == (first.model_dir / member).read_bytes()
    assert metrics[0] == metrics[1]
    assert np.array_equal(again.test_probabilities, first.test_probabilities)


@pytest.mark.slow
def test_train_py_runs_each_framework_as_sagemaker_does(
    framework_runs: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    """``python train.py --framework sklearn`` from inside model_code/ with SageMaker's
    variables (one framework, the cheapest: the dispatch is the same for all)."""
    env = sagemaker_environment(tmp_path, data_dir)
    flags = ["--framework", "sklearn", "--save_plots", "false", "--model_dir", "s3://b/k"]
    proc = run_train_script(flags, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert written == framework_runs["sklearn"].metrics
    assert "test_roc_auc=" in proc.stdout


def test_unknown_framework_and_sklearn_without_onnx_are_refused(tmp_path: Path) -> None:
    from model_code import train as train_module

    assert train_module.main(["--framework", "caffe"]) == 2
    code = train_module.main(
        ["--framework", "sklearn", "--onnx", "false", "--train", str(tmp_path / "x.csv")]
    )
    assert code == 2


@pytest.mark.slow
def test_a_model_dir_reused_across_frameworks_packages_one_model(
    framework_runs: dict[str, Any], tmp_path: Path, data_dir: Path
) -> None:
    shutil.copytree(framework_runs["pytorch"].model_dir, tmp_path / "model")
    run = train("sklearn", tmp_path, data_dir)
    members = set(read_archive(run.package_path))
    assert "model.joblib" in members and "model.pt" not in members
    code = {m for m in members if m.startswith("code/")}
    assert code == {
        f"code/{n}"
        for n in (
            "inference.py",
            "script_mode.py",
            "serving_io.py",
            "serving_config.json",
            "requirements.txt",
        )
    }
