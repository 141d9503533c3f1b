"""Handlers for SageMaker's XGBoost image in script mode: a Booster saved as XGBoost JSON.

The model is ``model.json`` (``Booster.save_model``, never a pickle), objective
``binary:logistic``: ``predict`` gives the probability of class 1. ``input_fn`` and
``output_fn`` are the shared ones (``script_mode.py``). Shipped as ``code/inference.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

MODEL_FILE = "model.json"
# The shared handlers (code/script_mode.py), imported by path as the image imports this file.
_shared = runpy.run_path(str(Path(__file__).with_name("script_mode.py")))
input_fn, output_fn, check_width = _shared["input_fn"], _shared["output_fn"], _shared["check_width"]


def model_fn(model_dir: str) -> Any:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(Path(model_dir) / MODEL_FILE))
    # One thread per request: OpenMP's thread wake-ups cost a single row far more than they
    # save (p99 85 ms with all threads on a 2-CPU machine, 9 ms with one).
    booster.set_param({"nthread": 1})
    check_width(int(booster.num_features()))
    return booster


def predict_fn(input_data: Any, model: Any) -> list[float]:
    import numpy as np

    rows = np.asarray(input_data, dtype=np.float32)
    return [float(p) for p in np.asarray(model.inplace_predict(rows)).reshape(-1)]
