"""Handlers for SageMaker's scikit-learn image in script mode: a fitted Pipeline (joblib).

The model is ``model.joblib`` (scaler + classifier), which only this container unpickles, with
the scikit-learn version pinned in ``code/requirements.txt`` (a pickle needs the version that
wrote it). The promotion's validator never loads it: it checks ``model.onnx``, the same
pipeline in a declared format (``serving_core.model_formats``). ``input_fn`` and ``output_fn``
are the shared ones (``script_mode.py``). Shipped as ``code/inference.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

MODEL_FILE = "model.joblib"
# The shared handlers (code/script_mode.py), imported by path as the image imports this file.
_shared = runpy.run_path(str(Path(__file__).with_name("script_mode.py")))
input_fn, output_fn, check_width = _shared["input_fn"], _shared["output_fn"], _shared["check_width"]


def model_fn(model_dir: str) -> Any:
    import joblib

    model = joblib.load(Path(model_dir) / MODEL_FILE)
    check_width(int(model.n_features_in_))
    return model


def predict_fn(input_data: Any, model: Any) -> list[float]:
    import numpy as np

    rows = np.asarray(input_data, dtype=np.float64)
    return [float(p) for p in model.predict_proba(rows)[:, 1]]
