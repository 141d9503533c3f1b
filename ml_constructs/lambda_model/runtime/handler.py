"""POST /predict answered inside Lambda: the same contract as the inference API in front of a
SageMaker endpoint, with the model scored here by onnxruntime.

Requests are checked by the same code (``serving_core.predict_request``: 400/405/413/415 with
the same error codes, fields and messages), answers and errors have the same shapes
(``serving_core.predict_response``), and every request ends with the same log line and metric
(``serving_core.observability``). Outcomes (HTTP status, ``error.code``):

- 200: ``{"predictions": [{"probability", "label"}, ...], "model": {"endpoint", "variant"},
  "request_id", "inference_id"}``, the predictions as ``model_code/inference.py`` writes them
- 400/405/413/415: the request is malformed; the model is not called
- 502 ``model_error``: onnxruntime failed on the rows; its message is passed on
- 502 ``upstream_error``: the model could not be loaded (retried on the next request), or it
  answered other than one prediction per row
- 500 ``internal_error``: a misconfigured function or anything else; the request id, never a
  stack trace

Throttling (503) and timeouts (504) are API Gateway's and Lambda's here: there is no endpoint
call to retry. The model is loaded once per container (``onnx_model``), during Lambda's init
phase when the function runs in Lambda, else on the first request. Sampled requests are
captured as SageMaker captures them (``capture``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

from serving_core.observability import Handled, answer, logger
from serving_core.predict_request import RequestError, parse_request
from serving_core.predict_response import (
    error,
    inference_id,
    internal_error,
    invalid_event,
    misconfigured,
    rejected,
    request_id,
    response,
)

from . import capture, onnx_model
from .config import ConfigurationError, ModelFunctionConfig

_MAX_MODEL_MESSAGE = 1000
#: Set to ``off`` to skip loading the model during Lambda's init phase.
PRELOAD = "LAMBDA_MODEL_PRELOAD"

_config: ModelFunctionConfig | None = None
_model: onnx_model.OnnxModel | None = None
_s3: Any = None
_buffer: capture.CaptureBuffer | None = None


def get_config() -> ModelFunctionConfig:
    """The container's configuration, read from the environment on first use."""
    global _config
    if _config is None:
        _config = ModelFunctionConfig.from_env()
    return _config


def get_s3_client() -> Any:
    """The container's S3 client (the artifact at cold start, capture writes), made on first
    use, with short timeouts: a capture write must not hold an answer for long."""
    global _s3
    if _s3 is None:
        import boto3
        from botocore.config import Config

        _s3 = boto3.client(
            "s3",
            config=Config(
                connect_timeout=1,
                read_timeout=3,
                retries={"mode": "standard", "total_max_attempts": 2},
            ),
        )
    return _s3


def get_model(config: ModelFunctionConfig) -> tuple[onnx_model.OnnxModel, float | None]:
    """The container's model and, when this call loaded it, how long that took (ms)."""
    global _model
    if _model is not None:
        return _model, None
    started = time.perf_counter()
    s3 = get_s3_client() if config.model_data_url.startswith("s3://") else None
    archive = onnx_model.fetch(config.model_data_url, s3)
    _model = onnx_model.load(
        archive, config.feature_count, config.model_sha256, config.intra_op_threads
    )
    return _model, _since(started)


def reset() -> None:
    """Forget the cached configuration, model, client and capture buffer (tests)."""
    global _config, _model, _s3, _buffer
    _config, _model, _s3, _buffer = None, None, None, None


def preload() -> None:
    """Load the model during Lambda's init phase (full CPU, before the first request); a
    failure is logged and left to the first request, which answers it as JSON."""
    try:
        _, load_ms = get_model(get_config())
        logger.info("model loaded", extra={"model_load_ms": load_ms, "phase": "init"})
    except (ConfigurationError, onnx_model.ModelLoadError) as problem:
        logger.warning("model not loaded at init", extra={"reason": str(problem)})


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """API Gateway (REST, proxy integration) entry point."""
    return answer(event, context, request_id(event, context), _handle, internal_error)


def _handle(event: Any, request: str) -> Handled:
    try:
        config = get_config()
    except ConfigurationError as problem:
        return misconfigured(request), "InternalError", {"reason": f"configuration: {problem}"}
    if not isinstance(event, dict):
        return invalid_event(request)
    try:
        parsed = parse_request(event, config)
    except RequestError as problem:
        return rejected(problem, request)
    fields: dict[str, Any] = {"rows": parsed.rows, "payload_bytes": len(parsed.payload)}
    try:
        model, load_ms = get_model(config)
    except onnx_model.ModelLoadError as problem:
        fields["reason"] = f"model load: {problem}"
        return (
            error(502, "upstream_error", "the model could not be loaded", request),
            "UpstreamError",
            fields,
        )
    if load_ms is not None:
        fields["model_load_ms"] = load_ms
    scored = time.perf_counter()
    try:
        predictions = [p.as_dict() for p in model.predict(parsed.instances)]
    except Exception as problem:  # onnxruntime's own exception types
        fields.update(reason=f"{type(problem).__name__}", endpoint_ms=_since(scored))
        message = str(problem)[:_MAX_MODEL_MESSAGE]
        return (
            error(502, "model_error", f"the model rejected the request: {message}", request),
            "ModelError",
            fields,
        )
    fields["endpoint_ms"] = _since(scored)
    fields["variant"] = config.variant_name
    if len(predictions) != parsed.rows:
        fields["reason"] = f"{len(predictions)} predictions for {parsed.rows} rows"
        return (
            error(
                502,
                "upstream_error",
                f"the model returned {len(predictions)} predictions for {parsed.rows} rows",
                request,
            ),
            "UpstreamError",
            fields,
        )
    fields["capture"] = _capture(config, parsed.payload, predictions, request)
    body = {
        "predictions": predictions,
        "model": {"endpoint": config.endpoint_name, "variant": config.variant_name},
        "request_id": request,
        "inference_id": inference_id(request),
    }
    return response(200, body, request), "Success", fields


def _capture(
    config: ModelFunctionConfig, payload: bytes, predictions: list[Any], request: str
) -> str:
    """Capture a sampled request (and write what is due): ``off``, ``skipped``, ``buffered``,
    ``written`` (a batch went to S3 in this invocation) or ``failed``. Never raises: capture
    never fails a request."""
    global _buffer
    if config.capture_percent <= 0:
        return "off"
    if _buffer is None:
        _buffer = capture.CaptureBuffer(config.capture_max_records, config.capture_max_age_s)
    now = dt.datetime.now(dt.UTC)
    if capture.sampled(config.capture_percent):
        answer = json.dumps({"predictions": predictions})  # the model's body, as inference.py's
        line = capture.dumps(
            capture.record(payload.decode("utf-8"), answer, inference_id(request), now)
        )
        batch, state = _buffer.add(line, now), "buffered"
    else:  # an old batch may be due all the same
        batch, state = _buffer.due(now), "skipped"
    if batch is None:
        return state
    try:
        capture.write(
            get_s3_client(),
            config.capture_bucket,
            config.capture_folder,
            config.capture_kms_key_arn,
            batch,
        )
    except Exception as problem:  # botocore's errors: the records are dropped, not the answer
        logger.warning(
            "capture not written",
            extra={"request_id": request, "records": len(batch.lines), "reason": str(problem)},
        )
        return "failed"
    return "written"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get(PRELOAD, "on") != "off":
    preload()
