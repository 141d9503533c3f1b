"""Bad training data stops with one clear message (no TensorFlow needed for any of it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model_code.data import DataValidationError
from model_code.train import TrainConfig, load_splits

from .conftest import REPO_ROOT

HEADER = "f1,f2,label\n"


def _rows(n: int, label: int | None = None) -> str:
    return "".join(f"{i * 0.5},{i % 7},{label if label is not None else i % 2}\n" for i in range(n))


def _config(tmp_path: Path, train_text: str, test_text: str | None = None) -> TrainConfig:
    train = tmp_path / "train.csv"
    train.write_text(train_text)
    test = None
    if test_text is not None:
        test = tmp_path / "test.csv"
        test.write_text(test_text)
    return TrainConfig(
        train=str(train),
        test=str(test) if test else None,
        model_dir=str(tmp_path / "model"),
        output_data_dir=str(tmp_path / "output"),
        package_output=None,
        prepare_default_data=False,
    )


def _error(tmp_path: Path, train_text: str, test_text: str | None = None) -> str:
    with pytest.raises(DataValidationError) as info:
        load_splits(_config(tmp_path, train_text, test_text))
    return str(info.value)


def test_good_small_data_splits(tmp_path: Path) -> None:
    splits = load_splits(_config(tmp_path, HEADER + _rows(60)))
    total = splits.fit.n_rows + splits.validation.n_rows + splits.test.n_rows
    assert total == 60
    assert set(splits.test.labels.tolist()) == {0, 1}
    assert set(splits.validation.labels.tolist()) == {0, 1}


def test_missing_label_column(tmp_path: Path) -> None:
    message = _error(tmp_path, "f1,f2,target\n1,2,0\n")
    assert "Label column 'label' not found" in message
    assert "columns are: f1, f2, target" in message


def test_configurable_label_column(tmp_path: Path) -> None:
    config = _config(tmp_path, "f1,f2,target\n" + _rows(60))
    splits = load_splits(TrainConfig(**{**config.__dict__, "label_column": "target"}))
    assert splits.fit.feature_names == ("f1", "f2")


def test_labels_other_than_0_1(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(30) + "1,2,2\n3,4,yes\n")
    assert "must hold only 0 and 1" in message
    assert "'yes'" in message and "2" in message


def test_missing_label_value(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(30) + "1,2,\n")
    assert "Label column 'label'" in message and "1 missing value(s)" in message


def test_single_class(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(50, label=1))
    assert "single class (1)" in message and "needs both 0 and 1" in message


def test_non_numeric_feature(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(5) + "1.5,abc,0\n" + _rows(30))
    assert message.startswith("Feature column 'f2'")
    assert "non-numeric value 'abc' at data row 6" in message


def test_missing_feature_value(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(3) + ",1,0\n" + _rows(30))
    assert (
        "Feature column 'f1'" in message and "1 missing value(s) (first at data row 4)" in message
    )


def test_non_finite_feature_value(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(3) + "inf,1,0\n" + _rows(30))
    assert "Feature column 'f1'" in message and "non-finite value" in message


def test_too_few_rows(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(8))
    assert message.startswith("Too few rows to split")
    assert "got 8 rows (4 of class 0, 4 of class 1)" in message


def test_empty_file(tmp_path: Path) -> None:
    assert _error(tmp_path, "").endswith("is empty.")


def test_header_only_file(tmp_path: Path) -> None:
    assert "has a header but no data rows" in _error(tmp_path, HEADER)


def test_no_feature_columns(tmp_path: Path) -> None:
    assert "no feature columns" in _error(tmp_path, "label\n" + "0\n1\n" * 20)


def test_test_file_with_other_columns(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(60), "f1,f3,label\n1,2,0\n3,4,1\n")
    assert "differ from the training data" in message


def test_test_file_with_one_class(tmp_path: Path) -> None:
    message = _error(tmp_path, HEADER + _rows(60), HEADER + _rows(5, label=0))
    assert "(test data) has a single class (0)" in message


def test_directory_without_csv(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    channel.mkdir()
    config = TrainConfig(train=str(channel), test=None, prepare_default_data=False)
    with pytest.raises(DataValidationError, match="No CSV files found in directory"):
        load_splits(config)


def test_bad_hyperparameter(tmp_path: Path) -> None:
    config = _config(tmp_path, HEADER + _rows(60))
    with pytest.raises(DataValidationError, match="--epochs must be at least 1"):
        load_splits(TrainConfig(**{**config.__dict__, "epochs": 0}))


def test_cli_exits_non_zero_with_message_before_importing_tensorflow(tmp_path: Path) -> None:
    """SageMaker contract: message on stderr and in $SM_OUTPUT_DIR/failure, exit status 2."""
    channel = tmp_path / "train"
    channel.mkdir()
    (channel / "part.csv").write_text("f1,f2,target\n1,2,0\n")
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
        "SM_OUTPUT_DIR": str(tmp_path / "output"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    started = time.perf_counter()
    # -X importtime is not needed: a sitecustomize-free check that TF never loads is enough.
    code = (
        "import sys, runpy\n"
        "try:\n"
        "    runpy.run_module('model_code.train', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    print('tensorflow' in sys.modules, file=sys.stdout)\n"
        "    raise\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == "False"  # TensorFlow was never imported
    assert "ERROR: Bad training data: Label column 'label' not found" in proc.stderr
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("Bad training data: Label column 'label' not found")
    assert elapsed < 60
