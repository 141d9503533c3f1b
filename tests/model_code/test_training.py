"""Training on the bundled data: quality floors, speed, reports, determinism, script mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from model_code import metrics as metrics_module

from .conftest import MODEL_CODE_DIR, sagemaker_environment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_quality_floors(trained: Any) -> None:
    test, baseline = trained.metrics["test"], trained.metrics["baseline"]
    assert test["roc_auc"] >= 0.99
    assert test["accuracy"] >= baseline["accuracy"] - 0.02
    assert test["n_rows"] == baseline["n_rows"] == 114  # same held-out split (test.csv)


def test_training_is_fast(trained: Any) -> None:
    # TensorFlow's import (~6 s a process) is shared with the rest of the session.
    assert trained.wall_seconds < 30, trained.wall_seconds


def test_metrics_json_contract(trained: Any) -> None:
    written = json.loads(trained.metrics_path.read_text())
    assert written == json.loads((trained.model_dir / "metrics.json").read_text())
    for section in ("test", "baseline"):
        block = written[section]
        for key in ("roc_auc", "accuracy", "f1", "precision", "recall"):
            assert isinstance(block[key], float) and 0.0 <= block[key] <= 1.0
        matrix = block["confusion_matrix"]
        assert np.array(matrix).shape == (2, 2) and sum(map(sum, matrix)) == block["n_rows"]
    assert written["data"]["n_features"] == 30


def test_metric_lines_scrape_with_metric_definitions(trained: Any) -> None:
    log = "\n".join(trained.log_lines)
    scraped = metrics_module.scrape(log)
    for key in metrics_module.METRIC_KEYS:
        assert abs(scraped[f"test:{key}"] - trained.metrics["test"][key]) < 1e-6
        assert abs(scraped[f"baseline:{key}"] - trained.metrics["baseline"][key]) < 1e-6
    assert "validation:loss" in scraped and "train:loss" in scraped
    assert all(len(d["Name"]) <= 255 for d in metrics_module.METRIC_DEFINITIONS)


def test_reports_and_plots(trained: Any) -> None:
    out = trained.output_data_dir
    for name in ("roc_curve.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["history"]["val_loss"]


def test_serving_config(trained: Any) -> None:
    config = json.loads((trained.model_dir / "code" / "serving_config.json").read_text())
    assert config["n_features"] == len(config["feature_names"]) == 30
    assert config["feature_names"][0] == "mean_radius"
    assert config["threshold"] == 0.5 and config["max_batch_rows"] == 1000
    assert config["label_column"] == "label"


def test_same_seed_same_metrics_across_processes_and_fresh_savedmodel_load(
    trained: Any, tiny_run: Any, data_dir: Path, tmp_path: Path
) -> None:
    """One fresh interpreter: loads the session's SavedModel (probabilities must match the
    in-memory Keras model) and re-runs the tiny training as ``python train.py`` inside
    model_code/ with SageMaker variables; its metrics.json must equal the in-process one."""
    env = sagemaker_environment(tmp_path, data_dir)
    rows = trained.test_features[:20].tolist()
    # SageMaker-style hyperparameters: underscores, all values as strings.
    flags = ["--epochs", "3", "--seed", "7", "--save_plots", "false", "--model_dir", "s3://b/k"]
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("fresh_process_check.py")),
            str(trained.saved_model_dir),
            json.dumps(rows),
            str(MODEL_CODE_DIR),
            *flags,
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBABILITIES="))
    fresh = np.array(json.loads(line.split("=", 1)[1]))
    assert np.max(np.abs(fresh - trained.test_probabilities[:20])) <= 1e-6

    script_metrics = (tmp_path / "output" / "data" / "metrics.json").read_text()
    assert script_metrics == tiny_run.metrics_path.read_text()
    model_dir = tmp_path / "model"
    assert (model_dir / "1" / "saved_model.pb").is_file()
    assert (model_dir / "code" / "inference.py").read_text() == (
        MODEL_CODE_DIR / "inference.py"
    ).read_text()
    assert not (tmp_path / "build").exists()  # nothing written to local defaults on SageMaker
    assert "test_roc_auc=" in proc.stdout
