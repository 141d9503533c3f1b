"""One real training per framework per session (PyTorch, XGBoost, scikit-learn), on the
bundled data set (``data_dir``, tests/conftest.py), and one local server for the three."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FRAMEWORKS = ("pytorch", "xgboost", "sklearn")


def train(framework: str, root: Path, data_dir: Path) -> Any:
    """One run of ``framework``'s trainer with its defaults, everything under ``root``."""
    from model_code.train import run_framework
    from model_code.training_common import local_flags

    started = time.perf_counter()
    result = run_framework(
        framework, local_flags(data_dir, root, "--save-plots=false", "--quiet=true")
    )
    result.wall_seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="session")
def framework_runs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Any]:
    """Each framework trained once with its defaults (a few seconds in all)."""
    return {
        framework: train(framework, tmp_path_factory.mktemp(framework), data_dir)
        for framework in FRAMEWORKS
    }


@pytest.fixture(scope="session")
def framework_server(framework_runs: dict[str, Any]) -> Iterator[Any]:
    """The local SageMaker stand-in serving each framework's model.tar.gz as its own endpoint."""
    from model_code.local_server import start_server

    endpoints = {name: run.package_path for name, run in framework_runs.items()}
    server = start_server(None, endpoints=endpoints)
    yield server
    server.shutdown()


def read_archive(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def write_archive(path: Path, members: dict[str, bytes]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue()))
    return str(path)


Edit = Callable[[dict[str, bytes]], None]
