"""Write the bundled example data set as CSV files (no download, no TensorFlow).

The example is scikit-learn's breast-cancer data (569 rows, 30 numeric features). The label is
``1`` for a malignant tumour and ``0`` for a benign one (scikit-learn codes it the other way
round). Feature names are snake_case (``mean_radius``...).

``python -m model_code.prepare_data --output-dir DIR`` writes:

- ``DIR/train.csv``: the rows to train on (train.py carves its validation split from them);
- ``DIR/test.csv``: stratified held-out rows (20 % by default) that training never sees. Train
  evaluates on them when they are given as the ``test`` channel, and a deployed endpoint can be
  scored on the same rows (send the feature columns, compare with ``label``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_LABEL_COLUMN = "label"
DEFAULT_SEED = 42
DEFAULT_TEST_SIZE = 0.2
TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"


@dataclass(frozen=True)
class PreparedData:
    train_csv: Path
    test_csv: Path
    n_train: int
    n_test: int
    feature_names: tuple[str, ...]


def example_frame(label_column: str = DEFAULT_LABEL_COLUMN) -> pd.DataFrame:
    """The breast-cancer data as one frame: 30 feature columns then the 0/1 label column."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    names = [str(n).strip().replace(" ", "_") for n in bunch.feature_names]
    frame = pd.DataFrame(bunch.data, columns=names)
    frame[label_column] = (1 - bunch.target).astype(int)  # 1 = malignant
    return frame


def prepare(
    output_dir: str | Path,
    test_size: float = DEFAULT_TEST_SIZE,
    seed: int = DEFAULT_SEED,
    label_column: str = DEFAULT_LABEL_COLUMN,
) -> PreparedData:
    """Write ``train.csv`` and ``test.csv`` (stratified split) into ``output_dir``."""
    from sklearn.model_selection import train_test_split

    frame = example_frame(label_column)
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[label_column]
    )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_csv, test_csv = out / TRAIN_FILE, out / TEST_FILE
    # pandas writes floats with repr(): the CSV round-trips the data exactly.
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    names = tuple(c for c in frame.columns if c != label_column)
    return PreparedData(train_csv, test_csv, len(train), len(test), names)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_code.prepare_data",
        description="Write the bundled breast-cancer data as train.csv and test.csv.",
    )
    parser.add_argument("--output-dir", default="build/data", help="default: build/data")
    parser.add_argument("--test-size", type=float, default=DEFAULT_TEST_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--label-column", default=DEFAULT_LABEL_COLUMN)
    args = parser.parse_args(argv)
    result = prepare(args.output_dir, args.test_size, args.seed, args.label_column)
    print(f"wrote {result.train_csv} ({result.n_train} rows)")
    print(f"wrote {result.test_csv} ({result.n_test} rows, held out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
