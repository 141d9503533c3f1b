"""Loading and validating tabular CSV data (no TensorFlow import).

Every problem with the data raises :class:`DataValidationError` with one clear message, so
``train.py`` can stop with a non-zero exit before TensorFlow is even imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

DEFAULT_LABEL_COLUMN = "label"
# The splits (test, then validation) are stratified: each needs both classes, and the part left
# for fitting needs a few rows of each class too.
MIN_ROWS_PER_CLASS = 5
MIN_ROWS = 20


class DataValidationError(ValueError):
    """The training data cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Dataset:
    """Features as float32 and labels as int32 0/1, with the feature column names."""

    features: NDArray[Any]
    labels: NDArray[Any]
    feature_names: tuple[str, ...]
    source: str

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])


def list_csv_files(location: str | Path) -> list[Path]:
    """CSV files of a channel: the file itself, or the ``*.csv`` files of a directory (sorted)."""
    path = Path(location)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not files:
            raise DataValidationError(f"No CSV files found in directory {path}.")
        return files
    raise DataValidationError(f"Data location {path} does not exist.")


def _read_one(path: Path) -> pd.DataFrame:
    try:
        text_is_blank = path.stat().st_size == 0 or not path.read_bytes().strip()
    except OSError as exc:
        raise DataValidationError(f"Cannot read data file {path}: {exc}.") from exc
    if text_is_blank:
        raise DataValidationError(f"Data file {path} is empty.")
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(f"Data file {path} is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"Data file {path} is not a readable CSV file: {exc}") from exc
    if frame.empty:
        raise DataValidationError(f"Data file {path} has a header but no data rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _validate_labels(frame: pd.DataFrame, label_column: str, where: str) -> NDArray[Any]:
    raw = frame[label_column]
    missing = raw.isna()
    if missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataValidationError(
            f"Label column '{label_column}' in {where} has {int(missing.sum())} missing "
            f"value(s) (first at data row {first + 1})."
        )
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna() | ~numeric.isin([0, 1])
    if bad.any():
        others = sorted({repr(v) for v in raw[bad].tolist()})[:5]
        raise DataValidationError(
            f"Label column '{label_column}' in {where} must hold only 0 and 1; "
            f"found {', '.join(others)}."
        )
    labels: NDArray[Any] = numeric.to_numpy().astype(np.int32)
    return labels


def _validate_features(frame: pd.DataFrame, names: Sequence[str], where: str) -> NDArray[Any]:
    columns: list[NDArray[Any]] = []
    for name in names:
        raw = frame[name]
        numeric = pd.to_numeric(raw, errors="coerce")
        non_numeric = numeric.isna() & raw.notna()
        if non_numeric.any():
            first = int(np.flatnonzero(non_numeric.to_numpy())[0])
            raise DataValidationError(
                f"Feature column '{name}' in {where} has non-numeric value "
                f"{raw.iloc[first]!r} at data row {first + 1}."
            )
        missing = raw.isna()
        if missing.any():
            first = int(np.flatnonzero(missing.to_numpy())[0])
            raise DataValidationError(
                f"Feature column '{name}' in {where} has {int(missing.sum())} missing "
                f"value(s) (first at data row {first + 1})."
            )
        values = numeric.to_numpy(dtype=np.float64)
        infinite = ~np.isfinite(values) | (np.abs(values) > np.finfo(np.float32).max)
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0])
            raise DataValidationError(
                f"Feature column '{name}' in {where} has a non-finite value "
                f"{raw.iloc[first]!r} at data row {first + 1}."
            )
        columns.append(values)
    return np.stack(columns, axis=1).astype(np.float32)


def load_csv(
    location: str | Path,
    label_column: str = DEFAULT_LABEL_COLUMN,
    feature_names: Sequence[str] | None = None,
) -> Dataset:
    """Load and validate one CSV file or all CSV files of a directory.

    ``feature_names``, when given (for validation/test data), must match the training columns.
    """
    files = list_csv_files(location)
    frames: list[pd.DataFrame] = []
    for path in files:
        frame = _read_one(path)
        if label_column not in frame.columns:
            raise DataValidationError(
                f"Label column '{label_column}' not found in {path}; "
                f"columns are: {', '.join(frame.columns[:10])}"
                f"{', ...' if len(frame.columns) > 10 else ''}."
            )
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataValidationError(
                f"Columns of {path} differ from those of {files[0]}; all files of a channel "
                "need the same header."
            )
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    where = str(files[0]) if len(files) == 1 else f"{location} ({len(files)} files)"
    names = [c for c in frame.columns if c != label_column]
    if not names:
        raise DataValidationError(f"{where} has no feature columns besides '{label_column}'.")
    if len(set(names)) != len(names):
        raise DataValidationError(f"{where} has duplicate column names.")
    if feature_names is not None and list(feature_names) != names:
        raise DataValidationError(
            f"Feature columns of {where} differ from the training data: expected "
            f"{len(feature_names)} columns {list(feature_names)[:5]}..., got {len(names)} "
            f"columns {names[:5]}..."
        )
    labels = _validate_labels(frame, label_column, where)
    features = _validate_features(frame, names, where)
    return Dataset(features=features, labels=labels, feature_names=tuple(names), source=where)


def check_trainable(dataset: Dataset, splits: int = 3) -> None:
    """Both classes present, and enough rows of each for ``splits`` stratified parts."""
    counts = np.bincount(dataset.labels, minlength=2)
    present = [c for c in (0, 1) if counts[c] > 0]
    if len(present) < 2:
        raise DataValidationError(
            f"Label column in {dataset.source} has a single class ({present[0]}) in "
            f"{dataset.n_rows} rows; training needs both 0 and 1."
        )
    min_per_class = MIN_ROWS_PER_CLASS * splits
    if dataset.n_rows < MIN_ROWS or counts.min() < min_per_class:
        raise DataValidationError(
            f"Too few rows to split {dataset.source}: got {dataset.n_rows} rows "
            f"({counts[0]} of class 0, {counts[1]} of class 1); need at least {MIN_ROWS} rows "
            f"and {min_per_class} of each class."
        )


def check_evaluable(dataset: Dataset, role: str) -> None:
    """Validation or test data needs both classes (ROC AUC is undefined otherwise)."""
    counts = np.bincount(dataset.labels, minlength=2)
    if counts.min() == 0:
        only = 0 if counts[0] else 1
        raise DataValidationError(
            f"Label column in {dataset.source} ({role} data) has a single class ({only}); "
            "it needs both 0 and 1."
        )
