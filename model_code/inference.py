"""Pre- and post-processing for SageMaker's TensorFlow Serving image (``tensorflow-inference``).

The image's Python service loads ``/opt/ml/model/code/inference.py`` and, per request, calls
``input_handler(data, context)``, posts what it returns to TensorFlow Serving's REST API
(``context.rest_uri``), then calls ``output_handler(response, context)`` and returns its
``(body, content_type)`` to the caller.

- ``input_handler`` accepts ``application/json`` (``{"instances": [[...], ...]}``, a bare list of
  rows, or rows as objects keyed by feature name) and ``text/csv`` (one row per line, an optional
  header line with the feature names), validates every value and returns the TensorFlow Serving
  REST request ``{"instances": [[float, ...], ...]}``.
- ``output_handler`` parses TensorFlow Serving's ``{"predictions": [[p], ...]}`` and answers
  ``{"predictions": [{"probability": p, "label": 0|1}, ...]}`` (label = ``p >= threshold``), or
  CSV lines ``probability,label`` when the caller accepts ``text/csv``.

Bad requests raise :class:`InferenceInputError` with ``status_code`` 400 (malformed or invalid
values), 406 (unsupported Accept), 413 (too many rows) or 415 (unsupported content type) and a
message naming the problem. Note that the TensorFlow Serving image itself turns any exception
raised by a handler into HTTP 500 with body ``{"error": "<message>"}``; the status code is
honoured by this project's local server (``model_code.local_server``).

The settings (feature names and count, decision threshold, batch limit) come from
``serving_config.json`` next to this file (``code/serving_config.json`` in ``model.tar.gz``), or
from the file named by the ``MODEL_SERVING_CONFIG`` environment variable.

Only the standard library is used, and nothing newer than Python 3.8 at run time: this file
runs inside the serving container, which imports it with ``importlib`` without registering it
in ``sys.modules``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SERVING_CONFIG_FILE = "serving_config.json"
CONFIG_ENV_VAR = "MODEL_SERVING_CONFIG"
JSON_CONTENT_TYPE = "application/json"
CSV_CONTENT_TYPE = "text/csv"
FLOAT32_MAX = 3.4028234663852886e38


class InferenceError(Exception):
    """A request that cannot be answered; ``status_code`` is the HTTP status to report."""

    def __init__(self, message: str, status_code: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def to_json(self) -> str:
        return json.dumps({"error": self.message})


class InferenceInputError(InferenceError):
    """The caller sent something the model cannot score (a 4xx error)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message, status_code)


class ServingConfig:
    """What the handlers need to know about the model (``code/serving_config.json``).

    A plain class, not a dataclass: the container imports this file without registering it
    in ``sys.modules``, which dataclasses with string annotations cannot cope with.
    """

    __slots__ = ("feature_names", "label_column", "max_batch_rows", "threshold")

    def __init__(
        self,
        feature_names: tuple[str, ...],
        threshold: float = 0.5,
        max_batch_rows: int = 1000,
        label_column: str = "label",
    ) -> None:
        self.feature_names = tuple(feature_names)
        self.threshold = float(threshold)
        self.max_batch_rows = int(max_batch_rows)
        self.label_column = label_column

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServingConfig) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return f"ServingConfig({self.to_dict()!r})"

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names),
            "n_features": self.n_features,
            "threshold": self.threshold,
            "max_batch_rows": self.max_batch_rows,
            "label_column": self.label_column,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServingConfig:
        names = data.get("feature_names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InferenceError("serving config: 'feature_names' must be a non-empty list")
        if len(set(names)) != len(names):
            raise InferenceError("serving config: 'feature_names' has duplicates")
        count = data.get("n_features", len(names))
        if count != len(names):
            raise InferenceError(
                f"serving config: n_features={count} but {len(names)} feature names"
            )
        threshold = float(data.get("threshold", 0.5))
        if not 0.0 <= threshold <= 1.0:
            raise InferenceError(f"serving config: threshold {threshold} is not in [0, 1]")
        max_rows = int(data.get("max_batch_rows", 1000))
        if max_rows < 1:
            raise InferenceError("serving config: max_batch_rows must be at least 1")
        return cls(
            feature_names=tuple(names),
            threshold=threshold,
            max_batch_rows=max_rows,
            label_column=str(data.get("label_column", "label")),
        )


_config: ServingConfig | None = None


def load_config(path: str | Path) -> ServingConfig:
    with open(path, encoding="utf-8") as handle:
        return ServingConfig.from_dict(json.load(handle))


def configure(config: ServingConfig | Mapping[str, Any] | str | Path) -> ServingConfig:
    """Set this module's serving config (a config, a dict or a JSON file path)."""
    global _config
    if isinstance(config, ServingConfig):
        _config = config
    elif isinstance(config, Mapping):
        _config = ServingConfig.from_dict(config)
    else:
        _config = load_config(config)
    return _config


def get_config() -> ServingConfig:
    """The configured settings; loaded on first use from the env var or the sibling file."""
    if _config is not None:
        return _config
    override = os.environ.get(CONFIG_ENV_VAR)
    path = Path(override) if override else Path(__file__).with_name(SERVING_CONFIG_FILE)
    if not path.is_file():
        raise InferenceError(f"serving config {path} not found")
    return configure(path)


def _media_type(value: str | None, default: str) -> str:
    if not value:
        return default
    return value.split(";", 1)[0].strip().lower() or default


def _read_body(data: Any) -> str:
    if hasattr(data, "read"):
        data = data.read()
    if data is None:
        data = b""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InferenceInputError(f"Request body is not valid UTF-8: {exc}") from exc
    if not isinstance(data, str):
        raise InferenceInputError(f"Unsupported request body type {type(data).__name__}")
    if not data.strip():
        raise InferenceInputError("Request body is empty.")
    return data


def _check_row_count(count: int, config: ServingConfig) -> None:
    if count == 0:
        raise InferenceInputError("Request has no rows to score.")
    if count > config.max_batch_rows:
        raise InferenceInputError(
            f"Batch of {count} rows exceeds the limit of {config.max_batch_rows} rows per "
            "request; split it into smaller requests.",
            status_code=413,
        )


def _to_float(value: Any, row: int, column: int, config: ServingConfig) -> float:
    name = config.feature_names[column]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InferenceInputError(
            f"Row {row}, feature {column} ('{name}'): value {value!r} is not a number."
        )
    number = float(value) if not isinstance(value, float) else value
    if not math.isfinite(number):
        raise InferenceInputError(
            f"Row {row}, feature {column} ('{name}'): value {value!r} is not finite "
            "(NaN and infinity are not allowed)."
        )
    if abs(number) > FLOAT32_MAX:
        raise InferenceInputError(
            f"Row {row}, feature {column} ('{name}'): value {value!r} is out of float32 range."
        )
    return number


def _row_from_json(item: Any, row: int, config: ServingConfig) -> list[float]:
    if isinstance(item, Mapping):
        missing = [n for n in config.feature_names if n not in item]
        unknown = [str(k) for k in item if k not in config.feature_names]
        if missing:
            shown = ", ".join(repr(n) for n in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InferenceInputError(f"Row {row} is missing feature(s) {shown}{more}.")
        if unknown:
            shown = ", ".join(repr(n) for n in unknown[:5])
            raise InferenceInputError(f"Row {row} has unknown feature(s) {shown}.")
        values = [item[n] for n in config.feature_names]
    elif isinstance(item, list):
        values = item
    else:
        raise InferenceInputError(
            f"Row {row} must be a list of {config.n_features} numbers or an object keyed by "
            f"feature name, not {type(item).__name__}."
        )
    if len(values) != config.n_features:
        raise InferenceInputError(
            f"Row {row} has {len(values)} values; the model expects {config.n_features} features."
        )
    return [_to_float(v, row, c, config) for c, v in enumerate(values)]


def parse_json_rows(text: str, config: ServingConfig) -> list[list[float]]:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InferenceInputError(f"Request body is not valid JSON: {exc}") from exc
    if isinstance(payload, Mapping):
        if "instances" not in payload:
            raise InferenceInputError(
                'JSON request must be {"instances": [...]} or a list of rows; '
                f"got an object with keys {sorted(str(k) for k in payload)[:5]}."
            )
        rows = payload["instances"]
    else:
        rows = payload
    if not isinstance(rows, list):
        raise InferenceInputError(f'"instances" must be a list of rows, not {type(rows).__name__}.')
    _check_row_count(len(rows), config)
    return [_row_from_json(item, i, config) for i, item in enumerate(rows)]


def _csv_float(text: str, row: int, column: int, config: ServingConfig) -> float:
    name = config.feature_names[column]
    try:
        number = float(text)
    except ValueError:
        raise InferenceInputError(
            f"Row {row}, feature {column} ('{name}'): value {text!r} is not a number."
        ) from None
    return _to_float(number, row, column, config)


def parse_csv_rows(text: str, config: ServingConfig) -> list[list[float]]:
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        records = list(csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True))
    except csv.Error as exc:
        raise InferenceInputError(f"Request body is not valid CSV: {exc}") from exc
    if records and [c.strip() for c in records[0]] == list(config.feature_names):
        records = records[1:]  # header line
    _check_row_count(len(records), config)
    rows: list[list[float]] = []
    for i, record in enumerate(records):
        if len(record) != config.n_features:
            raise InferenceInputError(
                f"Row {i} has {len(record)} values; the model expects {config.n_features} features."
            )
        rows.append([_csv_float(v.strip(), i, c, config) for c, v in enumerate(record)])
    return rows


def parse_rows(body: Any, content_type: str | None, config: ServingConfig) -> list[list[float]]:
    """Validated feature rows from a request body of the given content type."""
    media = _media_type(content_type, JSON_CONTENT_TYPE)
    if media not in (JSON_CONTENT_TYPE, CSV_CONTENT_TYPE):
        raise InferenceInputError(
            f"Unsupported content type {media!r}; send {JSON_CONTENT_TYPE} or {CSV_CONTENT_TYPE}.",
            status_code=415,
        )
    text = _read_body(body)
    if media == CSV_CONTENT_TYPE:
        return parse_csv_rows(text, config)
    return parse_json_rows(text, config)


def _response_media(accept: str | None) -> str:
    if not accept:
        return JSON_CONTENT_TYPE
    for part in accept.split(","):
        media = _media_type(part, JSON_CONTENT_TYPE)
        if media in (JSON_CONTENT_TYPE, "*/*", "application/*"):
            return JSON_CONTENT_TYPE
        if media in (CSV_CONTENT_TYPE, "text/*"):
            return CSV_CONTENT_TYPE
    raise InferenceInputError(
        f"Cannot answer in {accept!r}; accept {JSON_CONTENT_TYPE} or {CSV_CONTENT_TYPE}.",
        status_code=406,
    )


def input_handler(data: Any, context: Any) -> str:
    """Request body -> TensorFlow Serving REST request ``{"instances": [[...], ...]}``."""
    config = get_config()
    _response_media(getattr(context, "accept_header", None))  # fail before scoring
    rows = parse_rows(data, getattr(context, "request_content_type", None), config)
    return json.dumps({"instances": rows})


def parse_predictions(content: Any) -> list[float]:
    """Probabilities from TensorFlow Serving's ``{"predictions": [[p], ...]}`` response."""
    if isinstance(content, (bytes, bytearray)):
        content = bytes(content).decode("utf-8")
    try:
        payload = json.loads(content)
        predictions = payload["predictions"]
        probabilities = []
        for item in predictions:
            value = item[0] if isinstance(item, list) and len(item) == 1 else item
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"prediction {item!r} is not a single number")
            probabilities.append(float(value))
    except (ValueError, KeyError, TypeError) as exc:
        raise InferenceError(f"Unexpected response from TensorFlow Serving: {exc}") from exc
    return probabilities


def format_predictions(
    probabilities: list[float], config: ServingConfig, accept: str | None = None
) -> tuple[str, str]:
    media = _response_media(accept)
    threshold = config.threshold
    if media == CSV_CONTENT_TYPE:
        body = "".join(f"{p!r},{1 if p >= threshold else 0}\n" for p in probabilities)
        return body, CSV_CONTENT_TYPE
    predictions = [{"probability": p, "label": 1 if p >= threshold else 0} for p in probabilities]
    return json.dumps({"predictions": predictions}), JSON_CONTENT_TYPE


def output_handler(response: Any, context: Any) -> tuple[str, str]:
    """TensorFlow Serving response -> ``(body, content_type)`` for the caller."""
    config = get_config()
    status = int(getattr(response, "status_code", 500))
    content = getattr(response, "content", b"")
    if status != 200:
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        raise InferenceError(f"TensorFlow Serving returned HTTP {status}: {text}", 500)
    probabilities = parse_predictions(content)
    return format_predictions(probabilities, config, getattr(context, "accept_header", None))
