"""Run in a fresh interpreter by test_training.py (kept out of pytest collection by its name).

1. Load a SavedModel with ``tf.saved_model.load`` (nothing of it in memory here) and score
   rows through ``serving_default``; print the probabilities as JSON.
2. Run ``model_code/train.py`` as a *script* from inside its folder, the way SageMaker runs
   it from ``/opt/ml/code``, with the SageMaker variables already in the environment.

Usage: python fresh_process_check.py SAVED_MODEL_DIR ROWS_JSON MODEL_CODE_DIR [train flags...]
"""

import json
import os
import runpy
import sys

saved_model_dir, rows_json, model_code_dir, *train_flags = sys.argv[1:]

import tensorflow as tf  # noqa: E402

loaded = tf.saved_model.load(saved_model_dir)
signature = loaded.signatures["serving_default"]
rows = tf.constant(json.loads(rows_json), dtype=tf.float32)
(output,) = signature(features=rows).values()
print("PROBABILITIES=" + json.dumps(output.numpy().reshape(-1).tolist()), flush=True)

assert "model_code" not in sys.modules
os.chdir(model_code_dir)
sys.path.insert(0, model_code_dir)  # what `python train.py` does
sys.argv = ["train.py", *train_flags]
try:
    runpy.run_path("train.py", run_name="__main__")
except SystemExit as exc:
    sys.exit(exc.code)
