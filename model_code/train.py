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
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

from model_code import data as data_module
from model_code import metrics as metrics_module
from model_code.baselines import write_baselines
from model_code.data import Dataset, DataValidationError
from model_code.onnx_export import OnnxExportError

LOCAL_DATA_DIR = Path("build/data")
LOCAL_MODEL_DIR = Path("build/model")
LOCAL_OUTPUT_DIR = Path("build/output")
LOCAL_PACKAGE = Path("build/model.tar.gz")
MODEL_VERSION = "1"
EXIT_BAD_DATA = 2
EXIT_EXPORT_FAILED = 3
ONNX_CHOICES = ("auto", "true", "false")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; ``parse_args`` builds it from flags and SageMaker variables."""

    train: str = str(LOCAL_DATA_DIR / "train.csv")
    validation: str | None = None
    test: str | None = str(LOCAL_DATA_DIR / "test.csv")
    model_dir: str = str(LOCAL_MODEL_DIR)
    output_data_dir: str = str(LOCAL_OUTPUT_DIR)
    output_dir: str | None = None
    package_output: str | None = str(LOCAL_PACKAGE)
    prepare_default_data: bool = True
    label_column: str = data_module.DEFAULT_LABEL_COLUMN
    hidden_units: tuple[int, ...] = (32,)
    dropout: float = 0.2
    optimizer: str = "adam"
    learning_rate: float = 0.003
    epochs: int = 200
    batch_size: int = 32
    patience: int = 15
    seed: int = 42
    threshold: float = 0.5
    test_size: float = 0.2
    validation_size: float = 0.2
    max_batch_rows: int = 1000
    drift_threshold: float = 0.1
    quality_margin: float = 0.05
    save_plots: bool = True
    quiet: bool = False
    #: ``model.onnx`` beside the SavedModel: ``auto`` (where tf2onnx, onnx and onnxruntime are
    #: installed), ``true`` (fail without them) or ``false``. Packaging, not training: it is
    #: not among the hyperparameters recorded in metrics.json.
    onnx: str = "auto"

    def hyperparameters(self) -> dict[str, Any]:
        keys = (
            "label_column",
            "hidden_units",
            "dropout",
            "optimizer",
            "learning_rate",
            "epochs",
            "batch_size",
            "patience",
            "seed",
            "threshold",
            "test_size",
            "validation_size",
            "max_batch_rows",
            "drift_threshold",
            "quality_margin",
        )
        values = asdict(self)
        return {k: list(values[k]) if k == "hidden_units" else values[k] for k in keys}


@dataclass
class TrainResult:
    """What a run produced; ``model`` is the in-memory Keras model."""

    config: TrainConfig
    model_dir: Path
    saved_model_dir: Path
    output_data_dir: Path
    metrics_path: Path
    package_path: Path | None
    metrics: dict[str, Any]
    feature_names: tuple[str, ...]
    test_features: NDArray[Any]
    test_labels: NDArray[Any]
    test_probabilities: NDArray[Any]
    train_seconds: float
    total_seconds: float
    model: Any = field(repr=False, default=None)


def _units(text: str) -> tuple[int, ...]:
    try:
        units = tuple(int(u) for u in str(text).replace(" ", "").split(",") if u)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of ints"
        ) from None
    if not units or any(u < 1 for u in units):
        raise argparse.ArgumentTypeError(f"{text!r}: need one or more positive layer sizes")
    return units


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model_code.train",
        description="Train the binary classifier (SageMaker training contract).",
    )
    default = TrainConfig()

    def flag(name: str, **kwargs: Any) -> None:
        names = {f"--{name}", f"--{name.replace('-', '_')}"}
        parser.add_argument(*sorted(names), dest=name.replace("-", "_"), **kwargs)

    channels = parser.add_argument_group("data and outputs (default from SM_* variables)")
    for name, env in (
        ("train", "SM_CHANNEL_TRAIN"),
        ("validation", "SM_CHANNEL_VALIDATION"),
        ("test", "SM_CHANNEL_TEST"),
        ("model-dir", "SM_MODEL_DIR"),
        ("output-data-dir", "SM_OUTPUT_DATA_DIR"),
    ):
        names = sorted({f"--{name}", f"--{name.replace('-', '_')}"})
        channels.add_argument(*names, dest=name.replace("-", "_"), help=f"default: ${env}")
    channels.add_argument(
        "--package-output",
        "--package_output",
        dest="package_output",
        help=f"also write model.tar.gz here ('' for none; default locally: {LOCAL_PACKAGE})",
    )
    flag("label-column", default=default.label_column)
    flag(
        "hidden-units",
        type=_units,
        default=default.hidden_units,
        help="comma-separated layer sizes, e.g. 32 or 64,32",
    )
    flag("dropout", type=float, default=default.dropout)
    flag("optimizer", choices=("adam", "sgd"), default=default.optimizer)
    flag("learning-rate", type=float, default=default.learning_rate)
    flag("epochs", type=int, default=default.epochs)
    flag("batch-size", type=int, default=default.batch_size)
    flag("patience", type=int, default=default.patience, help="early-stopping patience")
    flag("seed", type=int, default=default.seed)
    flag("threshold", type=float, default=default.threshold, help="decision threshold")
    flag("test-size", type=_fraction, default=default.test_size)
    flag("validation-size", type=_fraction, default=default.validation_size)
    flag("max-batch-rows", type=int, default=default.max_batch_rows)
    flag(
        "drift-threshold",
        type=_fraction,
        default=default.drift_threshold,
        help="baseline: distance at which a feature's distribution counts as drifted",
    )
    flag(
        "quality-margin",
        type=_fraction,
        default=default.quality_margin,
        help="baseline: a monitored metric this far below the held-out one is a violation",
    )
    flag("save-plots", type=_bool, default=default.save_plots)
    flag("quiet", type=_bool, default=default.quiet)
    flag(
        "onnx",
        choices=ONNX_CHOICES,
        default=default.onnx,
        help="export model.onnx (checked against the SavedModel on the held-out rows): auto "
        "exports where tf2onnx is installed",
    )
    return parser


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> TrainConfig:
    """Flags over SageMaker variables over local defaults. Unknown flags are ignored."""
    env = os.environ if environ is None else environ
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr)
    on_sagemaker = "SM_MODEL_DIR" in env or "SM_CHANNEL_TRAIN" in env
    model_dir = args.model_dir
    if model_dir is None or "://" in model_dir:  # the v2 estimator passed an S3 --model_dir
        model_dir = env.get("SM_MODEL_DIR", str(LOCAL_MODEL_DIR))
    train = args.train or env.get("SM_CHANNEL_TRAIN")
    if on_sagemaker or train:
        test = args.test or env.get("SM_CHANNEL_TEST")
    else:
        test = args.test or str(LOCAL_DATA_DIR / "test.csv")
    package_output = args.package_output
    if package_output is None:
        package_output = None if on_sagemaker else str(LOCAL_PACKAGE)
    values = vars(args)
    return TrainConfig(
        train=train or str(LOCAL_DATA_DIR / "train.csv"),
        validation=args.validation or env.get("SM_CHANNEL_VALIDATION"),
        test=test,
        model_dir=model_dir,
        output_data_dir=args.output_data_dir
        or env.get("SM_OUTPUT_DATA_DIR", str(LOCAL_OUTPUT_DIR)),
        output_dir=env.get("SM_OUTPUT_DIR"),
        package_output=package_output or None,
        prepare_default_data=not train,
        **{k: values[k] for k in TrainConfig().hyperparameters()},
        save_plots=args.save_plots,
        quiet=args.quiet,
        onnx=args.onnx,
    )


def _check_hyperparameters(config: TrainConfig) -> None:
    problems = []
    if config.epochs < 1:
        problems.append("--epochs must be at least 1")
    if config.batch_size < 1:
        problems.append("--batch-size must be at least 1")
    if config.patience < 0:
        problems.append("--patience must be 0 or more")
    if not 0.0 <= config.dropout < 1.0:
        problems.append("--dropout must be in [0, 1)")
    if config.learning_rate <= 0:
        problems.append("--learning-rate must be positive")
    if not 0.0 <= config.threshold <= 1.0:
        problems.append("--threshold must be in [0, 1]")
    if config.max_batch_rows < 1:
        problems.append("--max-batch-rows must be at least 1")
    if config.optimizer not in ("adam", "sgd"):
        problems.append("--optimizer must be adam or sgd")
    if config.onnx not in ONNX_CHOICES:
        problems.append(f"--onnx must be one of {', '.join(ONNX_CHOICES)}")
    if problems:
        raise DataValidationError("; ".join(problems))


@dataclass(frozen=True)
class Splits:
    fit: Dataset
    validation: Dataset
    test: Dataset
    test_source: str
    validation_source: str


def _subset(dataset: Dataset, index: NDArray[Any], source: str) -> Dataset:
    return Dataset(dataset.features[index], dataset.labels[index], dataset.feature_names, source)


def load_splits(config: TrainConfig) -> Splits:
    """Load and validate all data, then make the stratified splits. No TensorFlow here."""
    from sklearn.model_selection import train_test_split

    _check_hyperparameters(config)
    train_path = Path(config.train)
    if config.prepare_default_data and not train_path.exists():
        from model_code import prepare_data

        prepare_data.prepare(train_path.parent, seed=config.seed, label_column=config.label_column)
    train = data_module.load_csv(train_path, config.label_column)
    names = train.feature_names
    validation = test = None
    if config.validation:
        validation = data_module.load_csv(config.validation, config.label_column, names)
        data_module.check_evaluable(validation, "validation")
    if config.test:
        test = data_module.load_csv(config.test, config.label_column, names)
        data_module.check_evaluable(test, "test")
    data_module.check_trainable(train, splits=1 + (test is None) + (validation is None))

    rest_index = np.arange(train.n_rows)
    test_source = "test channel"
    if test is None:
        rest_index, test_index = train_test_split(
            rest_index,
            test_size=config.test_size,
            random_state=config.seed,
            stratify=train.labels,
        )
        test = _subset(train, test_index, "held out of train")
        test_source = f"stratified {config.test_size:g} of train"
    validation_source = "validation channel"
    if validation is None:
        fit_index, val_index = train_test_split(
            rest_index,
            test_size=config.validation_size,
            random_state=config.seed,
            stratify=train.labels[rest_index],
        )
        validation = _subset(train, val_index, "validation split of train")
        validation_source = f"stratified {config.validation_size:g} of the training rows"
    else:
        fit_index = rest_index
    fit = _subset(train, np.sort(fit_index), "fit split of train")
    return Splits(fit, validation, test, test_source, validation_source)


def _baseline_probabilities(config: TrainConfig, splits: Splits) -> NDArray[Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    baseline = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=5000, random_state=config.seed)
    )
    baseline.fit(splits.fit.features.astype(np.float64), splits.fit.labels)
    return np.asarray(baseline.predict_proba(splits.test.features.astype(np.float64))[:, 1])


def write_serving_code(code_dir: Path, feature_names: Sequence[str], config: TrainConfig) -> None:
    """``code/inference.py`` (this package's file) and ``code/serving_config.json``."""
    from model_code import inference

    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(inference.__file__), code_dir / "inference.py")
    serving = inference.ServingConfig(
        feature_names=tuple(feature_names),
        threshold=config.threshold,
        max_batch_rows=config.max_batch_rows,
        label_column=config.label_column,
    )
    text = json.dumps(serving.to_dict(), indent=2) + "\n"
    (code_dir / inference.SERVING_CONFIG_FILE).write_text(text, encoding="utf-8")


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


def _dump(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run(
    config: TrainConfig | Sequence[str] | None = None,
    print_line: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train, evaluate, export and (optionally) package in this process.

    ``config`` is a :class:`TrainConfig` or command-line flags (parsed like the CLI, with the
    SageMaker variables of this process). Raises :class:`DataValidationError` on bad data.
    """
    started = time.perf_counter()
    if config is None or not isinstance(config, TrainConfig):
        config = parse_args(list(config or []))
    quiet = config.quiet

    def say(line: str) -> None:
        if print_line is not None:
            print_line(line)
        elif not quiet:
            print(line, flush=True)

    splits = load_splits(config)  # all data checks happen before TensorFlow is imported
    say(
        f"data: {splits.fit.n_rows} fit rows, {splits.validation.n_rows} validation rows "
        f"({splits.validation_source}), {splits.test.n_rows} test rows ({splits.test_source}), "
        f"{len(splits.fit.feature_names)} features"
    )

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
    import keras

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
        validation_data=(splits.validation.features, splits.validation.labels.astype(np.float32)),
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

    probabilities = model_module.predict_probabilities(model, splits.test.features)
    baseline_probabilities = _baseline_probabilities(config, splits)
    test_metrics = metrics_module.classification_metrics(
        splits.test.labels, probabilities, config.threshold
    )
    baseline_metrics = metrics_module.classification_metrics(
        splits.test.labels, baseline_probabilities, config.threshold
    )
    validation_metrics = metrics_module.classification_metrics(
        splits.validation.labels,
        model_module.predict_probabilities(model, splits.validation.features),
        config.threshold,
    )
    metrics: dict[str, Any] = {
        "test": test_metrics,
        "baseline": {"model": "StandardScaler + LogisticRegression", **baseline_metrics},
        "validation": validation_metrics,
        "comparison": {
            "accuracy_minus_baseline": test_metrics["accuracy"] - baseline_metrics["accuracy"],
            "roc_auc_minus_baseline": test_metrics["roc_auc"] - baseline_metrics["roc_auc"],
        },
        "data": {
            "n_fit": splits.fit.n_rows,
            "n_validation": splits.validation.n_rows,
            "n_test": splits.test.n_rows,
            "n_features": len(splits.fit.feature_names),
            "test_source": splits.test_source,
            "validation_source": splits.validation_source,
        },
        "training": {"epochs_run": epochs_run, "best_epoch": best_epoch},
        "hyperparameters": config.hyperparameters(),
    }

    model_dir = Path(config.model_dir)
    saved_model_dir = model_dir / MODEL_VERSION
    if saved_model_dir.exists():
        shutil.rmtree(saved_model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model_module.export_saved_model(model, saved_model_dir)
    onnx_metrics = _export_onnx(config, saved_model_dir, model_dir, splits.test.features, say)
    if onnx_metrics is not None:
        metrics["onnx"] = onnx_metrics
    write_serving_code(model_dir / "code", splits.fit.feature_names, config)
    _dump(model_dir / "metrics.json", metrics)
    write_baselines(
        model_dir,
        np.concatenate([splits.fit.features, splits.validation.features]),
        splits.fit.feature_names,
        test_metrics,
        drift_threshold=config.drift_threshold,
        quality_margin=config.quality_margin,
    )

    output_dir = Path(config.output_data_dir)
    metrics_path = output_dir / "metrics.json"
    _dump(metrics_path, metrics)
    model.save(output_dir / "model.keras")
    if config.save_plots:
        metrics_module.save_plots(
            output_dir,
            splits.test.labels,
            {"Keras MLP": probabilities, "Logistic regression": baseline_probabilities},
            test_metrics["confusion_matrix"],
            config.threshold,
        )

    package_path = None
    if config.package_output:
        from model_code import package as package_module

        package_path = package_module.package(model_dir, config.package_output)

    for line in metrics_module.metric_lines(metrics):
        say(line)
    total_seconds = time.perf_counter() - started
    _dump(
        output_dir / "training_summary.json",
        {
            "train_seconds": train_seconds,
            "run_seconds": total_seconds,
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        },
    )
    say(f"trained {epochs_run} epochs (best {best_epoch}) in {train_seconds:.1f} s")
    return TrainResult(
        config=config,
        model_dir=model_dir,
        saved_model_dir=saved_model_dir,
        output_data_dir=output_dir,
        metrics_path=metrics_path,
        package_path=package_path,
        metrics=metrics,
        feature_names=splits.fit.feature_names,
        test_features=splits.test.features,
        test_labels=splits.test.labels,
        test_probabilities=probabilities,
        train_seconds=train_seconds,
        total_seconds=total_seconds,
        model=model,
    )


def _write_failure(config: TrainConfig | None, message: str) -> None:
    directory = config.output_dir if config else os.environ.get("SM_OUTPUT_DIR")
    if directory:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / "failure").write_text(message + "\n", encoding="utf-8")
        except OSError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    config = None
    try:
        config = parse_args(argv)
        run(config)
    except DataValidationError as exc:
        message = f"Bad training data: {exc}"
        print(f"ERROR: {message}", file=sys.stderr)
        _write_failure(config, message)
        return EXIT_BAD_DATA
    except OnnxExportError as exc:
        message = f"ONNX export failed: {exc}"
        print(f"ERROR: {message}", file=sys.stderr)
        _write_failure(config, message)
        return EXIT_EXPORT_FAILED
    return 0


__all__ = ["TrainConfig", "TrainResult", "main", "parse_args", "run"]

if __name__ == "__main__":
    raise SystemExit(main())
