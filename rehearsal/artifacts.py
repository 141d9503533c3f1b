"""Step 1: the bundled data, the two trained models and a corrupt upload, reused when current.

A model is retrained only when its inputs change: the model code, the data files and the
training flags (the framework's among them) are hashed into
``.rehearsal/models/<framework>/<label>/inputs.sha256``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving_core.frameworks import DEFAULT_FRAMEWORK

REPO = Path(__file__).resolve().parent.parent
MODEL_CODE = REPO / "model_code"


class ArtifactError(RuntimeError):
    """Training or data preparation failed; the message says which and where the log is."""


@dataclass(frozen=True)
class ModelSpec:
    """One model the rehearsal trains: a label, its framework (``model.framework``) and its
    training flags."""

    label: str
    flags: tuple[str, ...]
    framework: str = DEFAULT_FRAMEWORK

    @property
    def command_flags(self) -> tuple[str, ...]:
        """``model_code.train``'s flags: the framework picks the trainer."""
        return ("--framework", self.framework, *self.flags)

    def directory(self, workdir: Path) -> Path:
        """``models/<framework>/<label>``: each framework's models are cached apart."""
        return workdir / "models" / self.framework / self.label


def model_specs(framework: str = DEFAULT_FRAMEWORK) -> tuple[ModelSpec, ModelSpec]:
    """The first model serves from the start; the second one (another seed and the trainer's
    alternative hyperparameters) is uploaded to be promoted."""
    from model_code.train import config_type

    alternative = config_type(framework).ALTERNATIVE_FLAGS
    return (
        ModelSpec("initial", ("--seed", "42"), framework),
        ModelSpec("candidate", ("--seed", "7", *alternative), framework),
    )


@dataclass(frozen=True)
class TrainedModel:
    """A packaged model and the held-out metrics its training measured."""

    label: str
    package: Path
    metrics: dict[str, Any]
    reused: bool

    @property
    def accuracy(self) -> float:
        return float(self.metrics["test"]["accuracy"])

    @property
    def auc(self) -> float:
        return float(self.metrics["test"]["roc_auc"])

    @property
    def threshold(self) -> float:
        return float(self.metrics["test"].get("threshold", 0.5))


def _digest(paths: Sequence[Path], extra: str) -> str:
    sha = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        label = path.relative_to(REPO) if path.is_relative_to(REPO) else Path(path.name)
        sha.update(label.as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def prepare_data(workdir: Path) -> tuple[Path, Path]:
    """The bundled data set as train.csv/test.csv (written once; the split is seeded)."""
    data_dir = workdir / "data"
    train, test = data_dir / "train.csv", data_dir / "test.csv"
    if not (train.exists() and test.exists()):
        log = workdir / "logs" / "prepare_data.log"
        process = _run(
            [sys.executable, "-m", "model_code.prepare_data", "--output-dir", str(data_dir)], log
        )
        if process.wait() != 0:
            raise ArtifactError(f"preparing the data failed; see {log}")
    return train, test


def _run(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)


class Training:
    """Models being trained in background processes; :meth:`wait` gives all the models."""

    def __init__(
        self,
        pending: dict[str, tuple[subprocess.Popen[bytes], Path, Path, str]],
        results: dict[str, TrainedModel],
    ) -> None:
        self._pending = pending
        self._results = results
        self._ended: list[float] = []
        self.started_at = time.perf_counter()
        self._watchers = [
            threading.Thread(target=self._watch, args=(process,), daemon=True)
            for process, _, _, _ in pending.values()
        ]
        for watcher in self._watchers:
            watcher.start()

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self._ended.append(time.perf_counter())

    @property
    def finished_at(self) -> float:
        """``time.perf_counter()`` when the last process ended (when it started if none ran)."""
        return max(self._ended, default=self.started_at)

    def wait(self) -> dict[str, TrainedModel]:
        for label, (process, log, stamp, key) in self._pending.items():
            if process.wait() != 0:
                tail = log.read_text(errors="replace")[-2000:]
                raise ArtifactError(f"training the {label} model failed (log {log}):\n{tail}")
            stamp.write_text(key)
            out = stamp.parent
            self._results[label] = TrainedModel(
                label, out / "model.tar.gz", _metrics(out / "model" / "metrics.json"), False
            )
        for watcher in self._watchers:
            watcher.join()
        return self._results


def train_models(
    workdir: Path, specs: Sequence[ModelSpec], *, force: bool = False, reuse_only: bool = False
) -> dict[str, TrainedModel]:
    """Train every spec whose inputs changed (in parallel processes); reuse the others."""
    return start_training(workdir, specs, force=force, reuse_only=reuse_only).wait()


def start_training(
    workdir: Path, specs: Sequence[ModelSpec], *, force: bool = False, reuse_only: bool = False
) -> Training:
    """Start training what is out of date in background processes (reuse the rest)."""
    train, test = prepare_data(workdir)
    sources = [p for p in MODEL_CODE.rglob("*.py") if "__pycache__" not in p.parts]
    pending: dict[str, tuple[subprocess.Popen[bytes], Path, Path, str]] = {}
    results: dict[str, TrainedModel] = {}
    for spec in specs:
        out = spec.directory(workdir)
        package = out / "model.tar.gz"
        stamp = out / "inputs.sha256"
        key = _digest([*sources, train, test], json.dumps(spec.command_flags))
        current = not force and package.exists() and stamp.exists() and stamp.read_text() == key
        if current or (reuse_only and package.exists()):
            results[spec.label] = TrainedModel(
                spec.label, package, _metrics(out / "model" / "metrics.json"), True
            )
            continue
        if reuse_only:
            raise ArtifactError(f"--skip-train: no trained {spec.label} model in {out}")
        command = [
            sys.executable,
            "-m",
            "model_code.train",
            "--train",
            str(train),
            "--test",
            str(test),
            "--model-dir",
            str(out / "model"),
            "--output-data-dir",
            str(out / "output"),
            "--package-output",
            str(package),
            "--save-plots",
            "false",
            *spec.command_flags,
        ]
        log = workdir / "logs" / f"train-{spec.label}.log"
        pending[spec.label] = (_run(command, log), log, stamp, key)

    return Training(pending, results)


def _metrics(path: Path) -> dict[str, Any]:
    metrics: dict[str, Any] = json.loads(path.read_text())
    return metrics


def corrupt_artifact(workdir: Path) -> Path:
    """A model.tar.gz that is not a gzip archive at all: promotion must reject it."""
    path = workdir / "models" / "corrupt" / "model.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a model archive\n" * 8)
    return path


def held_out_rows(test_csv: Path) -> tuple[list[list[float]], list[int]]:
    """Feature rows and labels of the held-out split (the columns training used)."""
    import csv

    with test_csv.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f for f in reader.fieldnames or [] if f != "label"]
        rows, labels = [], []
        for record in reader:
            rows.append([float(record[f]) for f in fields])
            labels.append(int(float(record["label"])))
    return rows, labels
