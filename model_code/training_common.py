"""The framework-neutral steps of a training run, shared by the four trainers.

``train.py`` (TensorFlow/Keras), ``train_pytorch.py``, ``train_xgboost.py`` and
``train_sklearn.py`` differ only in how they fit, predict and save a model (a
:class:`Framework`); everything else is here, once:

- the SageMaker contract: flags over ``SM_*`` variables over local defaults
  (:func:`build_parser`, :func:`parse_config`), the data channels and the stratified splits
  (:func:`load_splits`, all data checked before any framework is imported);
- evaluation on the held-out rows against the same baseline (:func:`evaluate`), and
  ``metrics.json`` with a ``framework`` section naming the framework, the model member and
  its format (what the promotion's validator checks the archive against);
- the artifact around the model: ``code/`` (the framework's inference script, the shared
  request handling, ``serving_config.json``), the Model Monitor baseline, the plots, the
  reports and ``model.tar.gz`` (:func:`run_training`);
- the exit statuses of a failed run (:func:`main_for`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

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
EXIT_BAD_DATA = 2
EXIT_EXPORT_FAILED = 3
ONNX_CHOICES = ("auto", "true", "false")
MODEL_CODE_DIR = Path(__file__).resolve().parent
#: In a script-mode artifact (PyTorch, XGBoost, scikit-learn), ``code/inference.py`` is the
#: framework's script; the request handling it shares with the TensorFlow handlers
#: (``model_code/inference.py``) travels beside it under this name, with ``script_mode.py``.
SHARED_REQUEST_CODE = "serving_io.py"
SCRIPT_MODE_CODE = "script_mode.py"

Say = Callable[[str], None]


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def boolean(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean")


Flag = Callable[..., None]
#: A hyperparameter's flag: name, type (or a tuple of choices) and help; its default is the
#: config field of the same name.
FlagSpec = tuple[str, Any, str]
COMMON_FLAGS: tuple[FlagSpec, ...] = (
    ("label-column", str, ""),
    ("seed", int, ""),
    ("threshold", float, "decision threshold"),
    ("test-size", fraction, ""),
    ("validation-size", fraction, ""),
    ("max-batch-rows", int, ""),
    (
        "drift-threshold",
        fraction,
        "baseline: distance at which a feature's distribution counts as drifted",
    ),
    (
        "quality-margin",
        fraction,
        "baseline: a monitored metric this far below the held-out one is a violation",
    ),
    ("save-plots", boolean, ""),
    ("quiet", boolean, ""),
    (
        "onnx",
        ONNX_CHOICES,
        "export model.onnx (checked against the model on the held-out rows): auto exports "
        "where the converter is installed",
    ),
)
#: The common flags that are not hyperparameters (how a run reports, not what it trains).
NOT_HYPERPARAMETERS = frozenset({"save-plots", "quiet", "onnx"})


@dataclass(frozen=True)
class CommonConfig:
    """What every trainer takes; a framework's config adds its own hyperparameters."""

    #: The trainer's command and its own hyperparameters' flags (their fields of the same
    #: name; recorded in metrics.json with the common ones).
    PROG: ClassVar[str] = "python -m model_code.train"
    FRAMEWORK_FLAGS: ClassVar[tuple[FlagSpec, ...]] = ()
    #: Flags of a second model of the same framework whose hyperparameters differ from the
    #: defaults (another seed aside): the rehearsal trains it as the candidate a promotion
    #: replaces the first model with, so the promoted model answers measurably differently.
    ALTERNATIVE_FLAGS: ClassVar[tuple[str, ...]] = ()

    train: str = str(LOCAL_DATA_DIR / "train.csv")
    validation: str | None = None
    test: str | None = str(LOCAL_DATA_DIR / "test.csv")
    model_dir: str = str(LOCAL_MODEL_DIR)
    output_data_dir: str = str(LOCAL_OUTPUT_DIR)
    output_dir: str | None = None
    package_output: str | None = str(LOCAL_PACKAGE)
    prepare_default_data: bool = True
    label_column: str = data_module.DEFAULT_LABEL_COLUMN
    seed: int = 42
    threshold: float = 0.5
    test_size: float = 0.2
    validation_size: float = 0.2
    max_batch_rows: int = 1000
    drift_threshold: float = 0.1
    quality_margin: float = 0.05
    save_plots: bool = True
    quiet: bool = False
    #: ``model.onnx`` beside the model: ``auto`` (where the converter is installed), ``true``
    #: (fail without it) or ``false``. Packaging, not training: not a recorded hyperparameter.
    onnx: str = "auto"

    @classmethod
    def hyperparameter_names(cls) -> tuple[str, ...]:
        """The fields recorded as ``hyperparameters`` in metrics.json."""
        flags = [name for name, _, _ in (*COMMON_FLAGS, *cls.FRAMEWORK_FLAGS)]
        return tuple(n.replace("-", "_") for n in flags if n not in NOT_HYPERPARAMETERS)

    def hyperparameters(self) -> dict[str, Any]:
        values = asdict(self)
        keys = self.hyperparameter_names()
        return {k: list(values[k]) if isinstance(values[k], tuple) else values[k] for k in keys}

    def problems(self) -> list[str]:
        """Hyperparameter problems; a framework's config extends the list."""
        problems = []
        if not 0.0 <= self.threshold <= 1.0:
            problems.append("--threshold must be in [0, 1]")
        if self.max_batch_rows < 1:
            problems.append("--max-batch-rows must be at least 1")
        if self.onnx not in ONNX_CHOICES:
            problems.append(f"--onnx must be one of {', '.join(ONNX_CHOICES)}")
        return problems

    def check(self) -> None:
        problems = self.problems()
        if problems:
            raise DataValidationError("; ".join(problems))


ConfigT = TypeVar("ConfigT", bound=CommonConfig)


def add_flags(flag: Flag, default: Any, specs: Sequence[FlagSpec]) -> None:
    """One flag per spec, its default read from ``default``'s field of the same name."""
    for name, kind, text in specs:
        value = getattr(default, name.replace("-", "_"))
        if isinstance(kind, tuple):
            flag(name, choices=kind, default=value, help=text or None)
        else:
            flag(name, type=kind, default=value, help=text or None)


def build_parser(cls: type[CommonConfig], description: str = "") -> argparse.ArgumentParser:
    """The trainer's parser: the channels, the common flags and ``cls``'s own, each under both
    spellings (``--learning-rate`` and ``--learning_rate``, as SageMaker passes them)."""
    parser = argparse.ArgumentParser(
        prog=cls.PROG,
        description=description or "Train the binary classifier (SageMaker training contract).",
    )

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
    flag("framework", default=None, help="the trainer: python train.py --framework pytorch")
    default = cls()
    add_flags(flag, default, COMMON_FLAGS)
    add_flags(flag, default, cls.FRAMEWORK_FLAGS)
    return parser


def parse_config(
    cls: type[ConfigT],
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConfigT:
    """Flags over SageMaker variables over local defaults. Unknown flags are ignored."""
    env = os.environ if environ is None else environ
    args, unknown = build_parser(cls).parse_known_args(argv)
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
    keys = cls.hyperparameter_names()
    return cls(
        train=train or str(LOCAL_DATA_DIR / "train.csv"),
        validation=args.validation or env.get("SM_CHANNEL_VALIDATION"),
        test=test,
        model_dir=model_dir,
        output_data_dir=args.output_data_dir
        or env.get("SM_OUTPUT_DATA_DIR", str(LOCAL_OUTPUT_DIR)),
        output_dir=env.get("SM_OUTPUT_DIR"),
        package_output=package_output or None,
        prepare_default_data=not train,
        **{k: values[k] for k in keys},
        save_plots=args.save_plots,
        quiet=args.quiet,
        onnx=args.onnx,
    )


def framework_of(argv: Sequence[str]) -> str:
    """The ``--framework`` flag's value (``tensorflow`` without one)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--framework", default="tensorflow")
    known, _ = parser.parse_known_args(argv)
    return str(known.framework)


@dataclass(frozen=True)
class Splits:
    fit: Dataset
    validation: Dataset
    test: Dataset
    test_source: str
    validation_source: str

    @property
    def training_rows(self) -> NDArray[Any]:
        """The rows the model learnt from (fit and validation): the baselines' reference."""
        return np.concatenate([self.fit.features, self.validation.features])


def _subset(dataset: Dataset, index: NDArray[Any], source: str) -> Dataset:
    return Dataset(dataset.features[index], dataset.labels[index], dataset.feature_names, source)


def load_splits(config: CommonConfig) -> Splits:
    """Load and validate all data, then make the stratified splits. No framework here."""
    from sklearn.model_selection import train_test_split

    config.check()
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


BASELINE_MODEL = "StandardScaler + LogisticRegression"


def baseline_probabilities(config: CommonConfig, splits: Splits) -> NDArray[Any]:
    """The same baseline for every framework: scaled logistic regression on the fit rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    baseline = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=5000, random_state=config.seed)
    )
    baseline.fit(splits.fit.features.astype(np.float64), splits.fit.labels)
    return np.asarray(baseline.predict_proba(splits.test.features.astype(np.float64))[:, 1])


Predict = Callable[[NDArray[Any]], NDArray[Any]]


@dataclass
class Fitted:
    """What a framework's fit gives back: the model, how it predicts, and its training log."""

    model: Any
    predict: Predict
    training: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    train_seconds: float = 0.0


class Framework(Protocol):
    """One framework's part of a run (its fit, its artifact member and its serving code)."""

    #: metrics.json's ``framework.name`` (``tensorflow``, ``pytorch``, ``xgboost``, ``sklearn``).
    name: str
    #: The model member in the artifact and its declared format.
    model_member: str
    model_format: str
    #: The label of its ROC curve in the plot.
    display_name: str

    def version(self) -> str: ...

    def fit(self, config: Any, splits: Splits, say: Say) -> Fitted: ...

    def save(
        self, config: Any, fitted: Fitted, model_dir: Path, splits: Splits, say: Say
    ) -> dict[str, Any]:
        """Write the model member (and ``model.onnx`` where it exports); return the extra
        metrics.json sections (``onnx``)."""
        ...

    def write_code(self, code_dir: Path) -> None:
        """The serving container's code besides ``serving_config.json``."""
        ...


class ScriptModeFramework:
    """A framework served by a script-mode image (PyTorch, XGBoost, scikit-learn): its model
    member at the artifact root, ``code/inference.py`` its script with the shared handlers,
    ``model.onnx`` converted from the model and checked against its probabilities."""

    name: str
    model_member: str
    model_format: str
    display_name: str
    #: The module whose ``__version__`` is the framework's version.
    module: str
    #: ``model_code/<script>`` becomes ``code/inference.py``.
    script: str
    #: What the ONNX conversion needs, at which opset; whether the artifact needs model.onnx.
    onnx_modules: tuple[str, ...]
    onnx_opset: int
    onnx_required = False

    def version(self) -> str:
        return str(importlib.import_module(self.module).__version__)

    def save_model(self, model: Any, path: Path) -> None:
        raise NotImplementedError

    def to_onnx(self, model: Any, n_features: int) -> bytes:
        raise NotImplementedError

    def requirements(self) -> list[str]:
        """``code/requirements.txt`` lines the serving image must install (none by default)."""
        return []

    def save(
        self, config: Any, fitted: Fitted, model_dir: Path, splits: Splits, say: Say
    ) -> dict[str, Any]:
        self.save_model(fitted.model, model_dir / self.model_member)
        rows = splits.test.features
        return export_onnx(
            config,
            model_dir,
            rows,
            fitted.predict,
            self.onnx_modules,
            lambda: self.to_onnx(fitted.model, int(rows.shape[1])),
            self.onnx_opset,
            f"the {self.display_name}",
            say,
            required=self.onnx_required,
        )

    def write_code(self, code_dir: Path) -> None:
        write_script_mode_code(code_dir, self.script, self.requirements())


def evaluate(
    config: CommonConfig, splits: Splits, fitted: Fitted, framework: Framework
) -> tuple[dict[str, Any], NDArray[Any], NDArray[Any]]:
    """metrics.json (without the export sections), the test probabilities and the baseline's."""
    probabilities = np.asarray(fitted.predict(splits.test.features)).reshape(-1)
    baseline = baseline_probabilities(config, splits)
    test_metrics = metrics_module.classification_metrics(
        splits.test.labels, probabilities, config.threshold
    )
    baseline_metrics = metrics_module.classification_metrics(
        splits.test.labels, baseline, config.threshold
    )
    validation_metrics = metrics_module.classification_metrics(
        splits.validation.labels, fitted.predict(splits.validation.features), config.threshold
    )
    metrics: dict[str, Any] = {
        "test": test_metrics,
        "baseline": {"model": BASELINE_MODEL, **baseline_metrics},
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
        "training": fitted.training,
        "hyperparameters": config.hyperparameters(),
        "framework": {
            "name": framework.name,
            "version": framework.version(),
            "model_member": framework.model_member,
            "model_format": framework.model_format,
        },
    }
    return metrics, probabilities, baseline


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_serving_config(code_dir: Path, feature_names: Sequence[str], config: Any) -> None:
    """``code/serving_config.json``: what the inference script needs to know of the model."""
    from model_code import inference

    code_dir.mkdir(parents=True, exist_ok=True)
    serving = inference.ServingConfig(
        feature_names=tuple(feature_names),
        threshold=config.threshold,
        max_batch_rows=config.max_batch_rows,
        label_column=config.label_column,
    )
    text = json.dumps(serving.to_dict(), indent=2) + "\n"
    (code_dir / inference.SERVING_CONFIG_FILE).write_text(text, encoding="utf-8")


def write_script_mode_code(code_dir: Path, script: str, requirements: Sequence[str] = ()) -> None:
    """A script-mode container's ``code/``: the framework's ``script`` as ``inference.py``,
    the shared handlers beside it, and ``requirements.txt`` when the container needs more."""
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODEL_CODE_DIR / script, code_dir / "inference.py")
    shutil.copyfile(MODEL_CODE_DIR / SCRIPT_MODE_CODE, code_dir / SCRIPT_MODE_CODE)
    shutil.copyfile(MODEL_CODE_DIR / "inference.py", code_dir / SHARED_REQUEST_CODE)
    target = code_dir / "requirements.txt"
    target.unlink(missing_ok=True)
    if requirements:
        target.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")


def export_onnx(
    config: CommonConfig,
    model_dir: Path,
    rows: NDArray[Any],
    predict: Callable[[NDArray[Any]], NDArray[Any]],
    modules: tuple[str, ...],
    convert: Callable[[], bytes],
    opset: int,
    reference: str,
    say: Say,
    required: bool = False,
) -> dict[str, Any]:
    """``model.onnx`` from ``convert()``, checked on the held-out rows against ``predict``;
    the metrics.json section (none when not exported; a stale export is removed)."""
    from model_code import onnx_export

    target = model_dir / onnx_export.ONNX_MEMBER
    target.unlink(missing_ok=True)
    if config.onnx == "false" and not required:
        return {}
    if not onnx_export.available(modules):
        if config.onnx == "true" or required:
            raise onnx_export.OnnxExportError(f"model.onnx needs {', '.join(modules)} installed")
        say(f"onnx: model.onnx not exported ({', '.join(modules)} not all installed)")
        return {}
    try:
        data = convert()
    except onnx_export.OnnxExportError:
        raise
    except Exception as error:  # the converters raise anything
        raise onnx_export.OnnxExportError(f"the conversion failed: {error}") from error
    exported = onnx_export.export_checked(data, target, rows, predict(rows), opset, reference)
    say(exported.summary())
    return {"onnx": exported.to_metrics()}


def dump(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class TrainResult:
    """What a run produced; ``model`` is the in-memory model of the framework."""

    config: Any
    model_dir: Path
    #: The model member as written (``1/`` for TensorFlow, ``model.pt``, ``model.json``, ...).
    model_path: Path
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
    framework: str = "tensorflow"

    @property
    def saved_model_dir(self) -> Path:
        """The TensorFlow name of :attr:`model_path` (the SavedModel version directory)."""
        return self.model_path


#: What a run writes into the model directory that another framework's run would not: removed
#: first, so that a directory reused across frameworks packages one model.
_FRAMEWORK_OUTPUTS = ("1", "model.pt", "model.json", "model.joblib", "code")


def remove_stale_members(model_dir: Path) -> None:
    for name in _FRAMEWORK_OUTPUTS:
        path = model_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def make_say(config: CommonConfig, print_line: Say | None) -> Say:
    def say(line: str) -> None:
        if print_line is not None:
            print_line(line)
        elif not config.quiet:
            print(line, flush=True)

    return say


def run_training(framework: Framework, config: CommonConfig, print_line: Say | None) -> TrainResult:
    """Load the data, fit with ``framework``, evaluate, write the artifact and package it."""
    started = time.perf_counter()
    say = make_say(config, print_line)
    splits = load_splits(config)  # all data checks happen before the framework is imported
    say(
        f"data: {splits.fit.n_rows} fit rows, {splits.validation.n_rows} validation rows "
        f"({splits.validation_source}), {splits.test.n_rows} test rows ({splits.test_source}), "
        f"{len(splits.fit.feature_names)} features"
    )
    fitted = framework.fit(config, splits, say)
    metrics, probabilities, baseline = evaluate(config, splits, fitted, framework)

    model_dir = Path(config.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_members(model_dir)
    model_path = model_dir / framework.model_member
    metrics.update(framework.save(config, fitted, model_dir, splits, say))
    if model_path.is_file():
        metrics["framework"]["model_sha256"] = sha256_file(model_path)
    framework.write_code(model_dir / "code")
    write_serving_config(model_dir / "code", splits.fit.feature_names, config)
    dump(model_dir / "metrics.json", metrics)
    write_baselines(
        model_dir,
        splits.training_rows,
        splits.fit.feature_names,
        metrics["test"],
        drift_threshold=config.drift_threshold,
        quality_margin=config.quality_margin,
    )

    output_dir = Path(config.output_data_dir)
    metrics_path = output_dir / "metrics.json"
    dump(metrics_path, metrics)
    if config.save_plots:
        metrics_module.save_plots(
            output_dir,
            splits.test.labels,
            {framework.display_name: probabilities, "Logistic regression": baseline},
            metrics["test"]["confusion_matrix"],
            config.threshold,
        )

    package_path = None
    if config.package_output:
        from model_code import package as package_module

        package_path = package_module.package(
            model_dir, config.package_output, framework=framework.name
        )

    for line in metrics_module.metric_lines(metrics):
        say(line)
    total_seconds = time.perf_counter() - started
    dump(
        output_dir / "training_summary.json",
        {
            "train_seconds": fitted.train_seconds,
            "run_seconds": total_seconds,
            "history": fitted.history,
        },
    )
    return TrainResult(
        config=config,
        model_dir=model_dir,
        model_path=model_path,
        output_data_dir=output_dir,
        metrics_path=metrics_path,
        package_path=package_path,
        metrics=metrics,
        feature_names=splits.fit.feature_names,
        test_features=splits.test.features,
        test_labels=splits.test.labels,
        test_probabilities=probabilities,
        train_seconds=fitted.train_seconds,
        total_seconds=total_seconds,
        model=fitted.model,
        framework=framework.name,
    )


def config_from(
    cls: type[ConfigT],
    config: ConfigT | Sequence[str] | None,
    parse: Callable[[Sequence[str] | None], ConfigT],
) -> ConfigT:
    """A config as given, or parsed from flags (with this process's SageMaker variables)."""
    if isinstance(config, cls):
        return config
    return parse([] if config is None else list(config))  # type: ignore[arg-type]


def local_flags(data_dir: Path, root: Path, *extra: str) -> list[str]:
    """Flags of a local run on ``data_dir``'s train.csv and test.csv that writes everything
    under ``root`` (``model/``, ``output/``, ``model.tar.gz``)."""
    return [
        f"--train={data_dir / 'train.csv'}",
        f"--test={data_dir / 'test.csv'}",
        f"--model-dir={root / 'model'}",
        f"--output-data-dir={root / 'output'}",
        f"--package-output={root / 'model.tar.gz'}",
        *extra,
    ]


Run = Callable[..., TrainResult]


def entry_points(framework: Framework, cls: type[ConfigT]) -> tuple[Run, Callable[..., int]]:
    """A trainer's ``run(config_or_flags, print_line)`` and its CLI ``main(argv)``."""

    def parse(argv: Sequence[str] | None) -> ConfigT:
        return parse_config(cls, argv)

    def run(
        config: ConfigT | Sequence[str] | None = None, print_line: Say | None = None
    ) -> TrainResult:
        """Train, evaluate, export and (optionally) package in this process; ``config`` is
        the config or command-line flags. Raises DataValidationError on bad data."""
        return run_training(framework, config_from(cls, config, parse), print_line)

    def main(argv: Sequence[str] | None = None) -> int:
        return main_for(parse, run, argv)

    return run, main


def write_failure(config: CommonConfig | None, message: str) -> None:
    directory = config.output_dir if config else os.environ.get("SM_OUTPUT_DIR")
    if directory:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / "failure").write_text(message + "\n", encoding="utf-8")
        except OSError:
            pass


def main_for(
    parse: Callable[[Sequence[str] | None], ConfigT],
    run: Callable[[ConfigT], Any],
    argv: Sequence[str] | None = None,
) -> int:
    """A trainer's CLI: exit 2 on bad data, 3 on a failed ONNX export (message on stderr and in
    ``$SM_OUTPUT_DIR/failure``, which SageMaker shows as the job's FailureReason)."""
    config = None
    try:
        config = parse(argv)
        run(config)
    except DataValidationError as exc:
        message = f"Bad training data: {exc}"
        print(f"ERROR: {message}", file=sys.stderr)
        write_failure(config, message)
        return EXIT_BAD_DATA
    except OnnxExportError as exc:
        message = f"ONNX export failed: {exc}"
        print(f"ERROR: {message}", file=sys.stderr)
        write_failure(config, message)
        return EXIT_EXPORT_FAILED
    return 0
