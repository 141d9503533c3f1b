"""Train the example classifier with XGBoost (same data, splits, contract and baseline as
``train.py``): gradient-boosted trees, ``binary:logistic``, saved as XGBoost JSON.

``model.json`` is ``Booster.save_model`` (XGBoost's own declared format, never a pickle): the
trees, the objective, ``num_feature`` and the feature names, which the promotion's validator
reads with ``json`` alone. Early stopping on the validation log loss keeps the best round's
trees (the booster is sliced to them before it is saved). ``model.onnx`` is exported with
onnxmltools (``TreeEnsembleClassifier``, opset 15, the newest it converts to) and checked
against the booster's probabilities on the held-out rows.

Deterministic: ``seed``, the ``hist`` tree method and no row or column sampling by default.

``python -m model_code.train_xgboost`` (locally) or ``python train.py --framework xgboost``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from model_code import training_common as common
from model_code.training_common import CommonConfig, Fitted, FlagSpec, Say, Splits, fraction

MODEL_FILE = "model.json"
ONNX_OPSET = 15


def _sample_fraction(text: str) -> float:
    return 1.0 if float(text) == 1.0 else fraction(text)


@dataclass(frozen=True)
class XGBoostConfig(CommonConfig):
    PROG: ClassVar[str] = "python -m model_code.train_xgboost"
    FRAMEWORK_FLAGS: ClassVar[tuple[FlagSpec, ...]] = (
        ("num-round", int, "boosting rounds at most"),
        ("max-depth", int, ""),
        ("eta", float, "learning rate"),
        ("subsample", _sample_fraction, "row sampling per tree (1: none)"),
        ("min-child-weight", float, ""),
        ("early-stopping-rounds", int, "on the validation log loss (0: none)"),
    )
    ALTERNATIVE_FLAGS: ClassVar[tuple[str, ...]] = ("--max-depth", "2", "--eta", "0.2")

    num_round: int = 300
    max_depth: int = 3
    eta: float = 0.1
    subsample: float = 1.0
    min_child_weight: float = 1.0
    early_stopping_rounds: int = 30

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.num_round < 1 or self.max_depth < 1 or self.early_stopping_rounds < 0:
            problems.append(
                "--num-round and --max-depth must be at least 1, --early-stopping-rounds 0 or more"
            )
        if not 0.0 < self.eta <= 1.0:
            problems.append("--eta must be in (0, 1]")
        return problems


def predict_probabilities(booster: Any, rows: NDArray[Any]) -> NDArray[Any]:
    return np.asarray(booster.inplace_predict(np.asarray(rows, dtype=np.float32))).reshape(-1)


class XGBoost(common.ScriptModeFramework):
    name = "xgboost"
    model_member = MODEL_FILE
    model_format = "xgboost-json"
    display_name = "XGBoost booster"
    module = "xgboost"
    script = "inference_xgboost.py"
    onnx_modules = ("onnxmltools", "onnx", "onnxruntime")
    onnx_opset = ONNX_OPSET

    def fit(self, config: XGBoostConfig, splits: Splits, say: Say) -> Fitted:
        import xgboost

        names = list(splits.fit.feature_names)
        train = xgboost.DMatrix(splits.fit.features, splits.fit.labels, feature_names=names)
        validation = xgboost.DMatrix(
            splits.validation.features, splits.validation.labels, feature_names=names
        )
        params = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": config.max_depth,
            "eta": config.eta,
            "subsample": config.subsample,
            "min_child_weight": config.min_child_weight,
            "seed": config.seed,
            "nthread": 1,
        }
        history: dict[str, dict[str, list[float]]] = {}
        started = time.perf_counter()
        booster = xgboost.train(
            params,
            train,
            num_boost_round=config.num_round,
            evals=[(train, "train"), (validation, "validation")],
            early_stopping_rounds=config.early_stopping_rounds or None,
            evals_result=history,
            verbose_eval=False,
        )
        train_seconds = time.perf_counter() - started
        rounds = len(history["validation"]["logloss"])
        best = int(getattr(booster, "best_iteration", rounds - 1)) + 1
        booster = booster[:best]  # the best round's trees only
        say(f"trained {rounds} rounds (best {best}) in {train_seconds:.1f} s")
        return Fitted(
            model=booster,
            predict=lambda rows: predict_probabilities(booster, rows),
            training={"rounds_run": rounds, "best_round": best},
            history={
                "loss": [float(v) for v in history["train"]["logloss"]],
                "val_loss": [float(v) for v in history["validation"]["logloss"]],
            },
            train_seconds=train_seconds,
        )

    def save_model(self, model: Any, path: Path) -> None:
        model.save_model(str(path))  # XGBoost JSON (the .json suffix picks the format)

    def to_onnx(self, model: Any, n_features: int) -> bytes:
        return booster_to_onnx(model, n_features)


def booster_to_onnx(booster: Any, n_features: int) -> bytes:
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    from model_code.onnx_export import INPUT_NAME, class_one_probability

    unnamed = booster.copy()
    unnamed.feature_names = None  # the converter reads features as f0, f1, ...
    proto = convert_xgboost(
        unnamed,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=ONNX_OPSET,
    )
    return class_one_probability(proto, ONNX_OPSET)


CONFIG = XGBoostConfig
run, main = common.entry_points(XGBoost(), XGBoostConfig)


if __name__ == "__main__":
    raise SystemExit(main())
