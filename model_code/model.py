"""The Keras model: normalisation inside the model, an MLP, one sigmoid unit.

TensorFlow is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

SIGNATURE_NAME = "serving_default"
INPUT_NAME = "features"
OUTPUT_NAME = "probability"


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic."""
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(
    train_features: NDArray[Any],
    hidden_units: Sequence[int],
    dropout: float,
    optimizer: str,
    learning_rate: float,
    seed: int,
) -> Any:
    """Normalization (adapted on ``train_features``) -> Dense/ReLU (+dropout) -> Dense(1, sigmoid).

    Compiled with binary cross-entropy, not the sparse categorical cross-entropy on one linear
    unit of the well-known blog recipe.
    """
    import keras

    n_features = int(train_features.shape[1])
    normalizer = keras.layers.Normalization(axis=-1, name="normalize")
    normalizer.adapt(train_features)
    inputs = keras.Input(shape=(n_features,), dtype="float32", name=INPUT_NAME)
    x = normalizer(inputs)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
            name=f"hidden_{i}",
        )(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=seed + 100 + i, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 99),
        name=OUTPUT_NAME,
    )(x)
    model = keras.Model(inputs, outputs, name="binary_classifier")
    if optimizer == "adam":
        opt: Any = keras.optimizers.Adam(learning_rate=learning_rate)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r} (use adam or sgd)")
    model.compile(
        optimizer=opt,
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model


def epoch_logger(print_line: Callable[[str], None]) -> Any:
    """A Keras callback printing ``epoch=N; train_loss=...; validation_loss=...;`` lines."""
    import keras

    class _EpochLines(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            print_line(
                f"epoch={epoch + 1}; train_loss={logs.get('loss', float('nan')):.6f}; "
                f"train_accuracy={logs.get('accuracy', float('nan')):.6f}; "
                f"validation_loss={logs.get('val_loss', float('nan')):.6f}; "
                f"validation_accuracy={logs.get('val_accuracy', float('nan')):.6f};"
            )

    return _EpochLines()


def predict_probabilities(model: Any, features: NDArray[Any]) -> NDArray[Any]:
    """Probabilities from the Keras model, shape [n] float32 (one graph call, no ``predict``)."""
    import tensorflow as tf

    output = model(tf.constant(features, dtype=tf.float32), training=False)
    return np.asarray(output, dtype=np.float32).reshape(-1)


def export_saved_model(model: Any, path: Path) -> None:
    """SavedModel with ``serving_default``: ``features`` float32 [None, n] -> ``probability``.

    ``path`` is the version directory TensorFlow Serving loads (``<model>/1``).
    """
    import keras
    import tensorflow as tf

    n_features = int(model.inputs[0].shape[-1])
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SIGNATURE_NAME,
        fn=lambda features: {OUTPUT_NAME: model(features, training=False)},
        input_signature=[tf.TensorSpec([None, n_features], tf.float32, name=INPUT_NAME)],
    )
    archive.write_out(str(path), verbose=False)
