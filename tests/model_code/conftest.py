"""Fixtures for model_code tests; the session's trained model is in tests/conftest.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_CODE_DIR = REPO_ROOT / "model_code"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Any:
    """A cheap second model (3 epochs, other seed): determinism check and model swaps."""
    from model_code.train import TrainConfig, run

    root = tmp_path_factory.mktemp("tiny")
    config = TrainConfig(
        train=str(data_dir / "train.csv"),
        test=str(data_dir / "test.csv"),
        model_dir=str(root / "model"),
        output_data_dir=str(root / "output"),
        package_output=None,
        prepare_default_data=False,
        epochs=3,
        seed=7,
        save_plots=False,
        quiet=True,
    )
    return run(config)


def sagemaker_environment(tmp_path: Path, data_dir: Path) -> dict[str, str]:
    """This process's environment as a SageMaker training job sees it: the train and test
    channels (copies of the bundled data under ``tmp_path/input``) and its output folders."""
    channels = {}
    for channel in ("train", "test"):
        folder = tmp_path / "input" / channel
        folder.mkdir(parents=True)
        (folder / f"{channel}.csv").write_bytes((data_dir / f"{channel}.csv").read_bytes())
        channels[f"SM_CHANNEL_{channel.upper()}"] = str(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_") and k != "PYTHONPATH"}
    return {
        **env,
        **channels,
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
        "SM_OUTPUT_DIR": str(tmp_path / "output"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def run_train_script(flags: list[str], env: dict[str, str], script: str = "train.py") -> Any:
    """``python train.py FLAGS`` from inside model_code/, as SageMaker runs the entry point."""
    return subprocess.run(
        [sys.executable, script, *flags],
        env=env,
        cwd=MODEL_CODE_DIR,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="session")
def served(trained: Any) -> Iterator[Any]:
    """The local SageMaker stand-in serving the session's model.tar.gz."""
    from model_code.local_server import start_server

    server = start_server(trained.package_path)
    yield server
    server.shutdown()


def import_like_container(path: Path) -> ModuleType:
    """Import a handler script the way the TFS container does (not put in sys.modules)."""
    spec = importlib.util.spec_from_file_location("inference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "inference" not in sys.modules or sys.modules["inference"] is not module
    return module


SMALL_CONFIG = {
    "feature_names": ["a", "b", "c"],
    "threshold": 0.5,
    "max_batch_rows": 4,
    "label_column": "label",
}


@pytest.fixture
def handlers() -> ModuleType:
    """A fresh inference.py module configured for 3 features and at most 4 rows."""
    module = import_like_container(MODEL_CODE_DIR / "inference.py")
    module.configure(SMALL_CONFIG)
    return module
