"""Train the example binary classifier, the way a SageMaker training job runs it.

SageMaker contract (all optional; without them it runs locally with the defaults below):

- hyperparameters arrive as command-line flags (``--epochs 50``; ``--learning_rate`` and
  ``--learning-rate`` both work);
- data: ``SM_CHANNEL_TRAIN`` (required channel), ``SM_CHANNEL_VALIDATION`` and
  ``SM_CHANNEL_TEST`` (optional), each a CSV file or a directory of CSV files with a ``label``
  column (``--label-column``) of 0/1 and numeric feature columns. Without a test channel a
  stratified test split is held out of the training data; without a validation channel, the
  early-stopping validation split is carved from the training data;
- ``SM_MODEL_DIR``: receives the artifact root (SageMaker tars it into ``model.tar.gz``):
  ``1/`` (SavedModel), ``code/inference.py``, ``code/serving_config.json``, ``metrics.json``,
  the Model Monitor baseline ``monitoring/`` (``model_code.baselines``) and ``model.onnx``
  (``model_code.onnx_export``; ``--onnx auto`` exports it where tf2onnx is installed, which
  SageMaker's training image is not);
- ``SM_OUTPUT_DATA_DIR``: ``metrics.json``, ``roc_curve.png``, ``confusion_matrix.png``,
  ``training_summary.json`` (timings, history) and ``model.keras``;
- ``SM_OUTPUT_DIR``: on bad data, the message goes to ``failure`` there (SageMaker shows it as
  the job's FailureReason), and the process exits with status 2 (3 when the ONNX export
  fails or differs from the SavedModel beyond its bound).

Local defaults: data ``build/data/train.csv`` and ``build/data/test.csv`` (written by
``prepare_data`` if missing), model ``build/model``, reports ``build/output``, and
``build/model.tar.gz`` (``--package-output``; not written on SageMaker, which packages
``SM_MODEL_DIR`` itself).

Runs as ``python -m model_code.train`` and as ``python train.py`` inside the folder (SageMaker
copies ``source_dir`` to ``/opt/ml/code`` and runs the script there).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

if not __package__:  # run as a script: make this folder importable as ``model_code``
    _HERE = Path(__file__).resolve().parent
    if "model_code" not in sys.modules:
        _spec = importlib.util.spec_from_file_location(
            "model_code", _HERE / "__init__.py", submodule_search_locations=[str(_HERE)]
        )
        assert _spec is not None and _spec.loader is not None
        _package = importlib.util.module_from_spec(_spec)
        sys.modules["model_code"] = _package
        _spec.loader.exec_module(_package)

import numpy as np
from numpy.typing import NDArray

from model_code import training_common as common
from model_code.training_common import (
    EXIT_BAD_DATA,
    EXIT_EXPORT_FAILED,
    LOCAL_DATA_DIR,
    LOCAL_MODEL_DIR,
    LOCAL_OUTPUT_DIR,
    LOCAL_PACKAGE,
    ONNX_CHOICES,
    CommonConfig,
    Fitted,
    Say,
    Splits,
    TrainResult,
    load_splits,
)

MODEL_VERSION = "1"
#: ``--framework`` picks the trainer; SageMaker runs this script for all of them (the
#: hyperparameter ``framework``), locally ``python -m model_code.train_<framework>`` works too.
FRAMEWORK_TRAINERS = {
    "pytorch": "model_code.train_pytorch",
    "xgboost": "model_code.train_xgboost",
    "sklearn": "model_code.train_sklearn",
}
FRAMEWORKS = ("tensorflow", *FRAMEWORK_TRAINERS)


def run_framework(
    framework: str,
    config: Any = None,
    print_line: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train with ``framework``'s trainer in this process (its config, or flags)."""
    if framework == "tensorflow":
        return run(config, print_line)
    import importlib

    trainer = importlib.import_module(FRAMEWORK_TRAINERS[framework])
    return trainer.run(config, print_line)  # type: ignore[no-any-return]


def config_type(framework: str) -> type[CommonConfig]:
    """The config class of ``framework``'s trainer (its flags, defaults and alternative)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework {framework!r} is not one of {', '.join(FRAMEWORKS)}")
    import importlib

    trainer = importlib.import_module(FRAMEWORK_TRAINERS.get(framework, "model_code.train"))
    return trainer.CONFIG  # type: ignore[no-any-return]


__all__ = [
    "EXIT_BAD_DATA",
    "EXIT_EXPORT_FAILED",
    "LOCAL_DATA_DIR",
    "LOCAL_MODEL_DIR",
    "LOCAL_OUTPUT_DIR",
    "LOCAL_PACKAGE",
    "ONNX_CHOICES",
    "Splits",
    "TrainConfig",
    "TrainResult",
    "config_type",
    "load_splits",
    "main",
    "parse_args",
    "run",
    "run_framework",
]


def units(text: str) -> tuple[int, ...]:
    """``32`` or ``64,32``: the hidden layer sizes of an MLP (Keras here, PyTorch too)."""
    try:
        sizes = tuple(int(u) for u in str(text).replace(" ", "").split(",") if u)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of ints"
        ) from None
    if not sizes or any(u < 1 for u in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: need one or more positive layer sizes")
    return sizes


@dataclass(frozen=True)
class TrainConfig(CommonConfig):
    """Everything a run needs; ``parse_args`` builds it from flags and SageMaker variables.
    The MLP's hyperparameters (PyTorch's MLP takes the same)."""

    FRAMEWORK_FLAGS: ClassVar[tuple[common.FlagSpec, ...]] = (
        ("hidden-units", units, "comma-separated layer sizes, e.g. 32 or 64,32"),
        ("dropout", float, ""),
        ("optimizer", ("adam", "sgd"), ""),
        ("learning-rate", float, ""),
        ("epochs", int, ""),
        ("batch-size", int, ""),
        ("patience", int, "early-stopping patience"),
    )
    ALTERNATIVE_FLAGS: ClassVar[tuple[str, ...]] = ("--hidden-units", "16", "--dropout", "0.1")

    hidden_units: tuple[int, ...] = (32,)
    dropout: float = 0.2
    optimizer: str = "adam"
    learning_rate: float = 0.003
    epochs: int = 200
    batch_size: int = 32
    patience: int = 15

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.epochs < 1:
            problems.append("--epochs must be at least 1")
        if self.batch_size < 1:
            problems.append("--batch-size must be at least 1")
        if self.patience < 0:
            problems.append("--patience must be 0 or more")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("--dropout must be in [0, 1)")
        if self.learning_rate <= 0:
            problems.append("--learning-rate must be positive")
        if self.optimizer not in ("adam", "sgd"):
            problems.append("--optimizer must be adam or sgd")
        return problems


#: This trainer's config (each trainer module names its own: :func:`config_type`).
CONFIG = TrainConfig


def build_parser() -> argparse.ArgumentParser:
    return common.build_parser(TrainConfig)


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> TrainConfig:
    """Flags over SageMaker variables over local defaults. Unknown flags are ignored."""
    return common.parse_config(TrainConfig, argv, environ)


def _export_onnx(
    config: TrainConfig,
    saved_model_dir: Path,
    model_dir: Path,
    held_out: NDArray[Any],
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """``model.onnx`` from the SavedModel just written, checked on the held-out rows; its
    metrics.json section, or None when not exported (a stale export is removed)."""
    from model_code import onnx_export

    target = model_dir / onnx_export.ONNX_MEMBER
    target.unlink(missing_ok=True)
    if config.onnx == "false":
        return None
    if config.onnx == "auto" and not onnx_export.available():
        say(
            "onnx: model.onnx not exported (tf2onnx, onnx and onnxruntime are not all "
            "installed; --onnx true requires them)"
        )
        return None
    exported = onnx_export.export(saved_model_dir, target, held_out)
    say(exported.summary())
    return exported.to_metrics()


class TensorFlow:
    """The Keras MLP: a SavedModel for TensorFlow Serving (``1/``), ``model.keras`` as a report."""

    name = "tensorflow"
    model_member = MODEL_VERSION
    model_format = "savedmodel"
    display_name = "Keras MLP"

    def version(self) -> str:
        import tensorflow as tf

        return str(tf.__version__)

    def fit(self, config: TrainConfig, splits: Splits, say: Say) -> Fitted:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        from model_code import model as model_module

        model_module.make_deterministic(config.seed)
        model = model_module.build_model(
            splits.fit.features,
            config.hidden_units,
            config.dropout,
            config.optimizer,
            config.learning_rate,
            config.seed,
        )
        callbacks = [model_module.epoch_logger(say)]
        if config.patience > 0:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=config.patience, restore_best_weights=True
                )
            )
        fit_started = time.perf_counter()
        history = model.fit(
            splits.fit.features,
            splits.fit.labels.astype(np.float32),
            validation_data=(
                splits.validation.features,
                splits.validation.labels.astype(np.float32),
            ),
            epochs=config.epochs,
            batch_size=config.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
        )
        train_seconds = time.perf_counter() - fit_started
        val_losses = [float(v) for v in history.history.get("val_loss", [])]
        epochs_run = len(val_losses)
        best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run
        say(f"trained {epochs_run} epochs (best {best_epoch}) in {train_seconds:.1f} s")
        return Fitted(
            model=model,
            predict=lambda rows: model_module.predict_probabilities(model, rows),
            training={"epochs_run": epochs_run, "best_epoch": best_epoch},
            history={k: [float(v) for v in vs] for k, vs in history.history.items()},
            train_seconds=train_seconds,
        )

    def save(
        self, config: TrainConfig, fitted: Fitted, model_dir: Path, splits: Splits, say: Say
    ) -> dict[str, Any]:
        from model_code import model as model_module

        saved_model_dir = model_dir / MODEL_VERSION
        if saved_model_dir.exists():
            shutil.rmtree(saved_model_dir)
        model_module.export_saved_model(fitted.model, saved_model_dir)
        output_dir = Path(config.output_data_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        fitted.model.save(output_dir / "model.keras")
        onnx_metrics = _export_onnx(config, saved_model_dir, model_dir, splits.test.features, say)
        return {} if onnx_metrics is None else {"onnx": onnx_metrics}

    def write_code(self, code_dir: Path) -> None:
        from model_code import inference

        code_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(inference.__file__), code_dir / "inference.py")


def run(
    config: TrainConfig | Sequence[str] | None = None,
    print_line: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train, evaluate, export and (optionally) package in this process.

    ``config`` is a :class:`TrainConfig` or command-line flags (parsed like the CLI, with the
    SageMaker variables of this process). Raises :class:`DataValidationError` on bad data.
    """
    chosen = common.config_from(TrainConfig, config, parse_args)
    return common.run_training(TensorFlow(), chosen, print_line)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    framework = common.framework_of(arguments)
    if framework not in FRAMEWORKS:
        print(
            f"ERROR: --framework {framework!r} is not one of {', '.join(FRAMEWORKS)}",
            file=sys.stderr,
        )
        return common.EXIT_BAD_DATA
    if framework in FRAMEWORK_TRAINERS:
        import importlib

        trainer = importlib.import_module(FRAMEWORK_TRAINERS[framework])
        return int(trainer.main(arguments))
    return common.main_for(parse_args, run, arguments)


if __name__ == "__main__":
    raise SystemExit(main())
