"""Train the example classifier with scikit-learn (same data, splits, contract and baseline as
``train.py``): a Pipeline of a scaler and a regularized logistic regression.

Two members hold the model:

- ``model.joblib``: the fitted Pipeline, which SageMaker's scikit-learn image loads
  (``joblib.load``, a pickle) with the versions pinned in ``code/requirements.txt``;
- ``model.onnx``: the same pipeline converted by skl2onnx (opset 17), checked against the
  pipeline's probabilities on the held-out rows. It is the declared, non-executable format the
  promotion's validator trusts: a pickle runs code when it is loaded, so the validator never
  loads ``model.joblib``; it checks the ONNX graph by structure (input width = feature count),
  the packaging step's evidence that it gives the pipeline's probabilities (metrics.json
  ``onnx``), and that ``model.joblib`` is the very file that evidence was measured on
  (``framework.model_sha256``). So ``model.onnx`` is required here (``--onnx false`` is an
  error), and the Lambda kind can serve it.

The estimator differs from the baseline (plain ``LogisticRegression()``) by its
regularization (``--c``) and class weights (``--class-weight balanced``).

``python -m model_code.train_sklearn`` (locally) or ``python train.py --framework sklearn``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from model_code import training_common as common
from model_code.training_common import CommonConfig, Fitted, FlagSpec, Say, Splits

MODEL_FILE = "model.joblib"
ONNX_OPSET = 17
#: What code/requirements.txt pins for the serving image: the versions that wrote the pickle.
SERVING_REQUIREMENTS = ("scikit-learn", "joblib", "numpy", "scipy")


@dataclass(frozen=True)
class SklearnConfig(CommonConfig):
    PROG: ClassVar[str] = "python -m model_code.train_sklearn"
    FRAMEWORK_FLAGS: ClassVar[tuple[FlagSpec, ...]] = (
        ("c", float, "inverse regularization strength"),
        ("class-weight", ("balanced", "none"), ""),
        ("max-iter", int, ""),
    )
    ALTERNATIVE_FLAGS: ClassVar[tuple[str, ...]] = ("--c", "1.0", "--class-weight", "none")

    c: float = 0.1
    class_weight: str = "balanced"
    max_iter: int = 5000

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.c <= 0 or self.max_iter < 1:
            problems.append("--c must be positive and --max-iter at least 1")
        if self.class_weight not in ("balanced", "none"):
            problems.append("--class-weight must be balanced or none")
        if self.onnx == "false":
            problems.append(
                "--onnx false: a scikit-learn model needs model.onnx (the promotion validates "
                "it instead of the pickle)"
            )
        return problems


def predict_probabilities(pipeline: Any, rows: NDArray[Any]) -> NDArray[Any]:
    return np.asarray(pipeline.predict_proba(np.asarray(rows, dtype=np.float64))[:, 1])


class Sklearn(common.ScriptModeFramework):
    name = "sklearn"
    model_member = MODEL_FILE
    model_format = "joblib"
    display_name = "scikit-learn pipeline"
    module = "sklearn"
    script = "inference_sklearn.py"
    onnx_modules = ("skl2onnx", "onnx", "onnxruntime")
    onnx_opset = ONNX_OPSET
    onnx_required = True  # the declared format the validator checks instead of the pickle

    def fit(self, config: SklearnConfig, splits: Splits, say: Say) -> Fitted:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        pipeline = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "classify",
                    LogisticRegression(
                        C=config.c,
                        class_weight=None if config.class_weight == "none" else "balanced",
                        max_iter=config.max_iter,
                        random_state=config.seed,
                    ),
                ),
            ]
        )
        started = time.perf_counter()
        pipeline.fit(splits.fit.features.astype(np.float64), splits.fit.labels)
        train_seconds = time.perf_counter() - started
        iterations = int(np.max(pipeline.named_steps["classify"].n_iter_))
        say(f"trained in {iterations} iterations, {train_seconds:.2f} s")
        return Fitted(
            model=pipeline,
            predict=lambda rows: predict_probabilities(pipeline, rows),
            training={"iterations": iterations},
            train_seconds=train_seconds,
        )

    def save_model(self, model: Any, path: Path) -> None:
        import joblib

        joblib.dump(model, path)

    def to_onnx(self, model: Any, n_features: int) -> bytes:
        return pipeline_to_onnx(model, n_features)

    def requirements(self) -> list[str]:
        return [f"{name}=={metadata.version(name)}" for name in SERVING_REQUIREMENTS]


def pipeline_to_onnx(pipeline: Any, n_features: int) -> bytes:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    from model_code.onnx_export import INPUT_NAME, class_one_probability

    classifier = pipeline.steps[-1][1]
    proto = to_onnx(
        pipeline,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=ONNX_OPSET,
        options={id(classifier): {"zipmap": False}},
    )
    return class_one_probability(proto, ONNX_OPSET)


CONFIG = SklearnConfig
run, main = common.entry_points(Sklearn(), SklearnConfig)


if __name__ == "__main__":
    raise SystemExit(main())
