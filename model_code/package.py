"""Package a trained model directory as ``model.tar.gz`` for SageMaker's TensorFlow Serving image.

Layout (all paths relative, no links)::

    1/saved_model.pb            SavedModel, version 1 (TensorFlow Serving layout)
    1/variables/...
    1/assets/...                (when present)
    1/fingerprint.pb            (when present)
    code/inference.py           input_handler / output_handler
    code/serving_config.json    feature names, n_features, threshold, max_batch_rows
    metrics.json                held-out metrics of the model and the baseline
    monitoring/...              Model Monitor baseline and record preprocessor (optional)
    model.onnx                  the SavedModel as ONNX (optional; model_code.onnx_export)

``python -m model_code.package --model-dir build/model --output build/model.tar.gz``
"""

from __future__ import annotations

import argparse
import gzip
import io
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


def package(model_dir: str | Path, output: str | Path) -> Path:
    """Write ``output`` (a reproducible tar.gz: sorted, mtime 0, owner root) from ``model_dir``."""
    root = Path(model_dir)
    files = _members(root)
    names = {f.as_posix() for f in files}
    missing = [m for m in REQUIRED_MEMBERS if m not in names]
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
    validate_archive(target)
    return target


def validate_archive(path: str | Path) -> list[str]:
    """Check the layout (required members, relative paths, no links); return member names."""
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
    names = []
    for member in members:
        pure = PurePosixPath(member.name)
        if pure.is_absolute() or ".." in pure.parts:
            raise PackageError(f"{path}: unsafe member path {member.name!r}")
        if not (member.isfile() or member.isdir()):
            raise PackageError(f"{path}: member {member.name!r} is not a file or directory")
        names.append(member.name)
    missing = [m for m in REQUIRED_MEMBERS if m not in names]
    if missing:
        raise PackageError(f"{path} lacks {', '.join(missing)}")
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
    args = parser.parse_args(argv)
    try:
        target = package(args.model_dir, args.output)
    except PackageError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
