"""Handlers for SageMaker's PyTorch inference image (``pytorch-inference``): TorchScript.

The model is ``model.pt``, a TorchScript archive (``torch.jit.script`` of the trained MLP,
normalization included) that maps float32 ``[batch, n]`` to probabilities ``[batch, 1]``; no
model class is needed to load it. ``input_fn`` and ``output_fn`` are the shared ones
(``script_mode.py``: the same requests, responses and errors as the TensorFlow handlers).
Shipped as ``code/inference.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

MODEL_FILE = "model.pt"
# The shared handlers (code/script_mode.py), imported by path as the image imports this file.
_shared = runpy.run_path(str(Path(__file__).with_name("script_mode.py")))
input_fn, output_fn, check_width = _shared["input_fn"], _shared["output_fn"], _shared["check_width"]


def model_fn(model_dir: str, context: Any = None) -> Any:
    import torch

    model = torch.jit.load(str(Path(model_dir) / MODEL_FILE), map_location="cpu")  # type: ignore[no-untyped-call]
    model.eval()
    check_width(int(model.n_features))
    return model


def predict_fn(data: Any, model: Any, context: Any = None) -> list[float]:
    import torch

    with torch.inference_mode():
        output = model(torch.tensor(data, dtype=torch.float32))
    return [float(p) for p in output.reshape(-1).tolist()]
