# mypy: disable-error-code="operator,no-any-return"
# (registered buffers are typed Tensor | Module; TorchScript reads the methods' own comments)
"""Train the example classifier in PyTorch (same data, splits, contract and baseline as
``train.py``): a small MLP with the normalization inside the model, saved as TorchScript.

``model.pt`` is ``torch.jit.script`` of the model in eval mode: float32 ``[batch, n]`` in,
probabilities ``[batch, 1]`` out, the fit rows' mean and standard deviation as buffers. The
PyTorch inference image loads it with ``torch.jit.load`` (``code/inference.py`` is
``inference_pytorch.py``); no model class travels with it. ``model.onnx`` is exported with
``torch.onnx.export`` (the TorchScript-based exporter, opset 17) and checked against the
model's probabilities on the held-out rows.

Deterministic: seeded initialization and shuffling, deterministic algorithms and one thread
while fitting (the sums of a parallel matmul may be ordered differently). Early stopping on the
validation loss restores the best epoch's weights.

``python -m model_code.train_pytorch`` (locally) or ``python train.py --framework pytorch``
(SageMaker's entry point); the flags of ``train.py`` apply, without ``--optimizer``.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from model_code import training_common as common
from model_code.train import TrainConfig
from model_code.training_common import Fitted, Say, Splits

MODEL_FILE = "model.pt"
ONNX_OPSET = 17


@dataclass(frozen=True)
class PyTorchConfig(TrainConfig):
    """The Keras trainer's MLP hyperparameters, ``--optimizer adam|sgd`` included."""

    PROG: ClassVar[str] = "python -m model_code.train_pytorch"


def build_model(features: NDArray[Any], hidden_units: Sequence[int], dropout: float) -> Any:
    """The MLP as a scriptable module: standardize, ReLU layers with dropout, one logit."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_features = int(features.shape[1])
            mean = torch.tensor(features.mean(axis=0), dtype=torch.float32)
            std = torch.tensor(features.std(axis=0), dtype=torch.float32)
            self.register_buffer("mean", mean)
            self.register_buffer("scale", torch.where(std > 0, std, torch.ones_like(std)))
            layers: list[nn.Module] = []
            width = self.n_features
            for units in hidden_units:
                layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
                width = units
            layers.append(nn.Linear(width, 1))
            self.layers = nn.Sequential(*layers)

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers((x - self.mean) / self.scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.logits(x))

    return Classifier()


def predict_probabilities(model: Any, rows: NDArray[Any]) -> NDArray[Any]:
    import torch

    model.eval()
    with torch.inference_mode():
        output = model(torch.as_tensor(np.asarray(rows, dtype=np.float32)))
    return np.asarray(output.numpy(), dtype=np.float32).reshape(-1)


class PyTorch(common.ScriptModeFramework):
    name = "pytorch"
    model_member = MODEL_FILE
    model_format = "torchscript"
    display_name = "PyTorch MLP"
    module = "torch"
    script = "inference_pytorch.py"
    onnx_modules = ("torch", "onnx", "onnxruntime")
    onnx_opset = ONNX_OPSET

    def fit(self, config: PyTorchConfig, splits: Splits, say: Say) -> Fitted:
        import torch

        threads = torch.get_num_threads()
        deterministic = torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        try:
            return self._fit(config, splits, say)
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)

    def _fit(self, config: PyTorchConfig, splits: Splits, say: Say) -> Fitted:
        import torch

        torch.manual_seed(config.seed)
        model = build_model(splits.fit.features, config.hidden_units, config.dropout)
        optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
        optimizer = optimizers[config.optimizer](model.parameters(), lr=config.learning_rate)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        x = torch.as_tensor(splits.fit.features, dtype=torch.float32)
        y = torch.as_tensor(splits.fit.labels, dtype=torch.float32).reshape(-1, 1)
        vx = torch.as_tensor(splits.validation.features, dtype=torch.float32)
        vy = torch.as_tensor(splits.validation.labels, dtype=torch.float32).reshape(-1, 1)
        generator = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[float]] = {"loss": [], "val_loss": []}
        best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
        started = time.perf_counter()
        for epoch in range(1, config.epochs + 1):
            model.train()
            total = 0.0
            order = torch.randperm(len(x), generator=generator)
            for batch in torch.split(order, config.batch_size):
                optimizer.zero_grad()
                loss = loss_fn(model.logits(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model.logits(vx), vy))
            history["loss"].append(total / len(x))
            history["val_loss"].append(val_loss)
            say(f"epoch={epoch}; train_loss={total / len(x):.6f}; validation_loss={val_loss:.6f};")
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif config.patience > 0 and epoch - best_epoch >= config.patience:
                break
        train_seconds = time.perf_counter() - started
        model.load_state_dict(best_state)
        model.eval()
        epochs_run = len(history["val_loss"])
        say(f"trained {epochs_run} epochs (best {best_epoch}) in {train_seconds:.1f} s")
        return Fitted(
            model=model,
            predict=lambda rows: predict_probabilities(model, rows),
            training={"epochs_run": epochs_run, "best_epoch": best_epoch},
            history=history,
            train_seconds=train_seconds,
        )

    def save_model(self, model: Any, path: Path) -> None:
        """TorchScript (``torch.jit.script`` of the eval-mode module)."""
        import torch

        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(model), buffer)
        path.write_bytes(buffer.getvalue())

    def to_onnx(self, model: Any, n_features: int) -> bytes:
        return torch_to_onnx(model, n_features)


def torch_to_onnx(model: Any, n_features: int) -> bytes:
    import warnings

    import torch

    from model_code.onnx_export import INPUT_NAME, OUTPUT_NAME

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated
        torch.onnx.export(
            model,
            (torch.zeros(1, n_features),),
            buffer,  # type: ignore[arg-type]
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


CONFIG = PyTorchConfig
run, main = common.entry_points(PyTorch(), PyTorchConfig)


if __name__ == "__main__":
    raise SystemExit(main())
