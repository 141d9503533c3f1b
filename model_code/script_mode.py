"""``input_fn`` and ``output_fn`` shared by the script-mode inference images' handlers.

SageMaker's PyTorch, XGBoost and scikit-learn inference images load ``code/inference.py`` of
the model and, per request, call ``input_fn(body, content_type)``, ``predict_fn(data, model)``
and ``output_fn(prediction, accept)`` (``model_fn(model_dir)`` once at start). Each framework's
script (``model_code/inference_<framework>.py``, shipped as ``code/inference.py``) defines
``model_fn`` and ``predict_fn`` and takes the other two from here, so the three frameworks and
TensorFlow's handlers accept the same requests and answer the same way: the parsing, the
validation, the errors and the response format are TensorFlow's ``model_code/inference.py``,
which travels beside this file as ``code/serving_io.py``.

- ``input_fn`` answers the validated rows (a list of lists of floats) or raises the shared
  ``InferenceInputError`` (status 400, 413 or 415 and a message naming the problem);
- ``predict_fn`` (the framework's) answers one probability per row (a list of floats);
- ``output_fn`` answers ``(body, content_type)``: ``{"predictions": [{"probability": p,
  "label": 0|1}, ...]}`` or CSV ``p,label`` lines, 406 for an Accept it cannot answer.

Inside the PyTorch image, the error is re-raised as the inference toolkit's
``GenericInferenceToolkitError`` with the same status, which the toolkit answers with that
status; the XGBoost and scikit-learn images answer any handler exception with HTTP 500 (the
local server's ``container_errors=True`` shows that). Standard library only, like
``inference.py``; siblings are imported by path, never registered in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

#: The shared request handling: ``code/serving_io.py`` in an artifact, ``inference.py`` beside
#: this file in ``model_code/``.
SHARED_NAMES = ("serving_io.py", "inference.py")


def load_sibling(anchor: str, name: str) -> ModuleType:
    """Import the file ``name`` next to ``anchor`` (a ``__file__``) as a fresh module."""
    path = Path(anchor).resolve().with_name(name)
    spec = importlib.util.spec_from_file_location(f"_model_code_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shared() -> ModuleType:
    here = Path(__file__).resolve().parent
    name = next((n for n in SHARED_NAMES if (here / n).is_file()), SHARED_NAMES[0])
    return load_sibling(__file__, name)


serving_io = _shared()
InferenceError = serving_io.InferenceError
InferenceInputError = serving_io.InferenceInputError
configure = serving_io.configure
get_config = serving_io.get_config


def container_error(error: Any) -> Exception:
    """The error as the serving image reports it with its status (the PyTorch image's
    toolkit honours its own error type; elsewhere the error itself)."""
    try:
        from sagemaker_inference.errors import (  # type: ignore[import-not-found]
            GenericInferenceToolkitError,
        )
    except ImportError:
        return error  # type: ignore[no-any-return]
    return GenericInferenceToolkitError(error.status_code, error.message)  # type: ignore[no-any-return]


def input_fn(
    request_body: Any, request_content_type: str | None = None, context: Any = None
) -> Any:
    """The request's rows, validated like TensorFlow's ``input_handler`` does."""
    try:
        return serving_io.parse_rows(request_body, request_content_type, get_config())
    except serving_io.InferenceError as error:
        raise container_error(error) from error


def output_fn(prediction: Any, accept: str | None = None, context: Any = None) -> tuple[str, str]:
    """``(body, content_type)`` for the probabilities ``predict_fn`` gave."""
    probabilities = [float(p) for p in prediction]
    try:
        return serving_io.format_predictions(probabilities, get_config(), accept)  # type: ignore[no-any-return]
    except serving_io.InferenceError as error:
        raise container_error(error) from error


def check_width(width: int) -> None:
    """The model's input width must be the serving config's feature count."""
    expected = get_config().n_features
    if width != expected:
        raise InferenceError(
            f"the model takes {width} features but serving_config.json names {expected}"
        )
