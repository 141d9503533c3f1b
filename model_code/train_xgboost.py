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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from model_code import training_common as common
from model_code.training_common import CommonConfig, Fitted, Say, Splits, TrainResult, fraction

MODEL_FILE = "model.json"
ONNX_OPSET = 15


@dataclass(frozen=True)
class XGBoostConfig(CommonConfig):
    FRAMEWORK_HYPERPARAMETERS: ClassVar[tuple[str, ...]] = (
        "num_round",
        "max_depth",
        "eta",
        "subsample",
        "min_child_weight",
        "early_stopping_rounds",
    )

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


def build_parser() -> Any:
    default = XGBoostConfig()
    parser, flag = common.common_parser(
        "python -m model_code.train_xgboost",
        "Train the binary classifier with XGBoost (SageMaker training contract).",
        default,
    )
    flag("num-round", type=int, default=default.num_round)
    flag("max-depth", type=int, default=default.max_depth)
    flag("eta", type=float, default=default.eta)
    flag("subsample", type=lambda t: 1.0 if float(t) == 1.0 else fraction(t), default=1.0)
    flag("min-child-weight", type=float, default=default.min_child_weight)
    flag("early-stopping-rounds", type=int, default=default.early_stopping_rounds)
    return parser


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> XGBoostConfig:
    return common.parse_config(XGBoostConfig, build_parser(), argv, environ)


def predict_probabilities(booster: Any, rows: NDArray[Any]) -> NDArray[Any]:
    return np.asarray(booster.inplace_predict(np.asarray(rows, dtype=np.float32))).reshape(-1)


class XGBoost:
    name = "xgboost"
    model_member = MODEL_FILE
    model_format = "xgboost-json"
    display_name = "XGBoost"

    def version(self) -> str:
        import xgboost

        return str(xgboost.__version__)

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

    def save(
        self, config: XGBoostConfig, fitted: Fitted, model_dir: Path, splits: Splits, say: Say
    ) -> dict[str, Any]:
        fitted.model.save_model(str(model_dir / MODEL_FILE))
        return common.export_onnx(
            config,
            model_dir,
            splits.test.features,
            fitted.predict,
            ("onnxmltools", "onnx", "onnxruntime"),
            lambda: booster_to_onnx(fitted.model, splits.test.features.shape[1]),
            ONNX_OPSET,
            "the XGBoost booster",
            say,
        )

    def write_code(self, code_dir: Path) -> None:
        common.write_script_mode_code(code_dir, "inference_xgboost.py")


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


def run(
    config: XGBoostConfig | Sequence[str] | None = None,
    print_line: Callable[[str], None] | None = None,
) -> TrainResult:
    chosen = common.config_from(XGBoostConfig, config, parse_args)
    return common.run_training(XGBoost(), chosen, print_line)


def main(argv: Sequence[str] | None = None) -> int:
    return common.main_for(parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
