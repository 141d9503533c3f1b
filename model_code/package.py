"""Package a trained model directory as ``model.tar.gz`` for its SageMaker serving image.

TensorFlow layout (all paths relative, no links)::

    1/saved_model.pb            SavedModel, version 1 (TensorFlow Serving layout)
    1/variables/...
    1/assets/...                (when present)
    1/fingerprint.pb            (when present)
    code/inference.py           input_handler / output_handler
    code/serving_config.json    feature names, n_features, threshold, max_batch_rows
    metrics.json                held-out metrics of the model and the baseline
    monitoring/...              Model Monitor baseline and record preprocessor (optional)
    model.onnx                  the SavedModel as ONNX (optional; model_code.onnx_export)

The script-mode frameworks (the PyTorch, XGBoost and scikit-learn inference images call
``model_fn``/``input_fn``/``predict_fn``/``output_fn`` of ``code/inference.py``)::

    model.pt | model.json | model.joblib     the model (TorchScript, XGBoost JSON, joblib)
    model.onnx                  required for scikit-learn: what the validator checks, since
                                the joblib pickle is never loaded during validation
    code/inference.py           the framework's script (model_code/inference_<framework>.py)
    code/script_mode.py         input_fn / output_fn shared by the three scripts
    code/serving_io.py          request parsing and errors (model_code/inference.py)
    code/serving_config.json    as for TensorFlow
    code/requirements.txt       scikit-learn only: the versions the pickle needs
    metrics.json                with ``framework``: name, version, model_member, model_format
    monitoring/...              as for TensorFlow

``python -m model_code.package --model-dir build/model --output build/model.tar.gz``
(the framework is read from ``metrics.json``, else from the model member present)
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

MODEL_VERSION = "1"
REQUIRED_MEMBERS = (
    f"{MODEL_VERSION}/saved_model.pb",
    "code/inference.py",
    "code/serving_config.json",
    "metrics.json",
)
_SCRIPT_MODE_CODE = (
    "code/inference.py",
    "code/script_mode.py",
    "code/serving_io.py",
    "code/serving_config.json",
    "metrics.json",
)
#: What each framework's archive must hold (its serving container's layout).
FRAMEWORK_MEMBERS: dict[str, tuple[str, ...]] = {
    "tensorflow": REQUIRED_MEMBERS,
    "pytorch": ("model.pt", *_SCRIPT_MODE_CODE),
    "xgboost": ("model.json", *_SCRIPT_MODE_CODE),
    "sklearn": ("model.joblib", "model.onnx", "code/requirements.txt", *_SCRIPT_MODE_CODE),
}
FRAMEWORKS = tuple(FRAMEWORK_MEMBERS)
SKIPPED_NAMES = {"__pycache__", ".DS_Store"}
#: The Model Monitor baseline a trained model carries (model_code.baselines writes it; members
#: are optional so that models trained before it still promote). Registration points the model
#: package at them; a promotion makes them the monitoring schedules' baseline.
MONITORING_DIR = "monitoring"
DATA_QUALITY_STATISTICS = f"{MONITORING_DIR}/data-quality/statistics.json"
DATA_QUALITY_CONSTRAINTS = f"{MONITORING_DIR}/data-quality/constraints.json"
MODEL_QUALITY_STATISTICS = f"{MONITORING_DIR}/model-quality/statistics.json"
MODEL_QUALITY_CONSTRAINTS = f"{MONITORING_DIR}/model-quality/constraints.json"
MONITOR_PREPROCESSOR = f"{MONITORING_DIR}/preprocessor.py"
BASELINE_MEMBERS = (
    DATA_QUALITY_STATISTICS,
    DATA_QUALITY_CONSTRAINTS,
    MODEL_QUALITY_STATISTICS,
    MODEL_QUALITY_CONSTRAINTS,
    MONITOR_PREPROCESSOR,
)
#: The training rows themselves (a deterministic sample of at most REFERENCE_MAX_ROWS), with a
#: header of the feature names: the reference the in-account monitor's drift tests compare the
#: captured traffic with (Evidently compares two samples, not summary statistics). Optional.
REFERENCE_ROWS = f"{MONITORING_DIR}/reference/features.csv"
REFERENCE_MAX_ROWS = 10_000


class PackageError(ValueError):
    """The model directory or archive does not have the expected layout."""


def _members(model_dir: Path) -> list[Path]:
    files: list[Path] = []
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir)
        if any(part in SKIPPED_NAMES for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise PackageError(f"{path} is a symbolic link; the archive must not contain links")
        if path.is_file():
            files.append(relative)
    return files


def detect_framework(names: set[str] | list[str], metrics: bytes | None = None) -> str:
    """The framework metrics.json declares (``framework.name``), else the one whose model
    member is present (a SavedModel: TensorFlow, as before frameworks were declared)."""
    if metrics is not None:
        try:
            declared = json.loads(metrics).get("framework", {}).get("name")
        except (ValueError, AttributeError):
            declared = None
        if declared in FRAMEWORK_MEMBERS:
            return str(declared)
    present = set(names)
    for framework, required in FRAMEWORK_MEMBERS.items():
        if framework != "tensorflow" and required[0] in present:
            return framework
    return "tensorflow"


def _required(framework: str) -> tuple[str, ...]:
    if framework not in FRAMEWORK_MEMBERS:
        raise PackageError(f"unknown framework {framework!r}; one of {', '.join(FRAMEWORKS)}")
    return FRAMEWORK_MEMBERS[framework]


def package(model_dir: str | Path, output: str | Path, framework: str | None = None) -> Path:
    """Write ``output`` (a reproducible tar.gz: sorted, mtime 0, owner root) from ``model_dir``
    with the layout of ``framework`` (default: declared in its metrics.json)."""
    root = Path(model_dir)
    files = _members(root)
    names = {f.as_posix() for f in files}
    if framework is None:
        metrics = root / "metrics.json"
        framework = detect_framework(names, metrics.read_bytes() if metrics.is_file() else None)
    missing = [m for m in _required(framework) if m not in names]
    if missing:
        raise PackageError(f"{root} lacks {', '.join(missing)}; is it a trained model dir?")
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({p.as_posix() for f in files for p in f.parents if p != Path()})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for relative in files:
            data = (root / relative).read_bytes()
            info = tarfile.TarInfo(relative.as_posix())
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(buffer.getvalue())
    validate_archive(target, framework)
    return target


def validate_archive(path: str | Path, framework: str | None = None) -> list[str]:
    """Check the layout of ``framework`` (default: declared in the archive's metrics.json, else
    detected): required members, relative paths, no links; return the member names."""
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        if framework is None:
            metrics = next((m for m in members if m.name.lstrip("./") == "metrics.json"), None)
            handle = tar.extractfile(metrics) if metrics is not None else None
            framework = detect_framework(
                [m.name for m in members], handle.read() if handle is not None else None
            )
    names = []
    for member in members:
        pure = PurePosixPath(member.name)
        if pure.is_absolute() or ".." in pure.parts:
            raise PackageError(f"{path}: unsafe member path {member.name!r}")
        if not (member.isfile() or member.isdir()):
            raise PackageError(f"{path}: member {member.name!r} is not a file or directory")
        names.append(member.name)
    missing = [m for m in _required(framework) if m not in names]
    if missing:
        raise PackageError(f"{path} lacks {', '.join(missing)} ({framework} layout)")
    return names


def extract(path: str | Path, destination: str | Path) -> Path:
    """Validate and unpack ``path`` into ``destination`` (tarfile's ``data`` filter)."""
    validate_archive(path)
    target = Path(destination)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "r:gz") as tar:
        tar.extractall(target, filter="data")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_code.package",
        description="Package a trained model directory as model.tar.gz.",
    )
    parser.add_argument("--model-dir", default="build/model", help="default: build/model")
    parser.add_argument(
        "--output", default="build/model.tar.gz", help="default: build/model.tar.gz"
    )
    parser.add_argument(
        "--framework",
        choices=FRAMEWORKS,
        help="the layout to check (default: declared in metrics.json)",
    )
    args = parser.parse_args(argv)
    try:
        target = package(args.model_dir, args.output, args.framework)
    except PackageError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
