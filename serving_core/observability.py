"""Structured logs and one custom metric per outcome, with or without Powertools.

In AWS the public Powertools layer provides ``aws_lambda_powertools`` (JSON logs with the
X-Ray trace id, CloudWatch embedded-metric-format metrics). Where it is absent (a bare local
process) or disabled (``INFERENCE_POWERTOOLS=off``), a stdlib fallback writes the same JSON
log lines and EMF records, so the handler's behaviour and tests do not depend on it.
Tracing itself is Lambda's active X-Ray tracing: no X-Ray SDK is imported on the cold path.

Shared by the functions that answer ``POST /predict`` (the inference API and the Lambda-hosted
model): the same log lines and metric names, whichever hosts the model. Powertools is the one
import here beyond the standard library, and it is optional.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any, cast

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "inference-api")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "InferenceApi")
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class _FallbackLogger:
    """One JSON object per line on stdout, the shape Powertools' Logger writes."""

    def __init__(self) -> None:
        level = os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
        self.level = _LEVELS.get(level.upper(), 20)
        self.keys: dict[str, Any] = {}

    def append_keys(self, **keys: Any) -> None:
        self.keys.update(keys)

    def _write(self, level: str, message: str, extra: dict[str, Any] | None) -> None:
        if _LEVELS[level] < self.level:
            return
        record = {
            "level": level,
            "message": message,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "service": SERVICE,
            **self.keys,
            **(extra or {}),
        }
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            record["xray_trace_id"] = trace.split(";", 1)[0].removeprefix("Root=")
        sys.stdout.write(json.dumps(record, default=str) + "\n")

    def info(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._write("INFO", message, extra)

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._write("WARNING", message, extra)

    def error(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._write("ERROR", message, extra)

    def exception(self, message: str, extra: dict[str, Any] | None = None) -> None:
        import traceback

        self._write("ERROR", message, {**(extra or {}), "exception": traceback.format_exc()})


def _emit_emf(outcome: str, latency_ms: float) -> None:
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["service"]],
                    "Metrics": [
                        {"Name": outcome, "Unit": "Count"},
                        {"Name": "HandlerLatency", "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "service": SERVICE,
        outcome: 1,
        "HandlerLatency": round(latency_ms, 3),
    }
    sys.stdout.write(json.dumps(record) + "\n")


POWERTOOLS = False
logger: Any
if os.environ.get("INFERENCE_POWERTOOLS", "on").lower() != "off":
    try:
        from aws_lambda_powertools.logging import Logger
        from aws_lambda_powertools.metrics import Metrics, MetricUnit

        POWERTOOLS = True
    except ImportError:  # no layer: the fallback below keeps logs and metrics flowing
        POWERTOOLS = False


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now (a host process may redirect it later)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


if POWERTOOLS:
    logger = Logger(service=SERVICE, stream=cast("IO[str]", _CurrentStdout()))
    _metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

    def record_outcome(outcome: str, latency_ms: float) -> None:
        """One EMF record: a count for the outcome and the handler's latency."""
        _metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
        _metrics.add_metric(
            name="HandlerLatency", unit=MetricUnit.Milliseconds, value=round(latency_ms, 3)
        )
        _metrics.flush_metrics()
else:
    logger = _FallbackLogger()

    def record_outcome(outcome: str, latency_ms: float) -> None:
        """One EMF record: a count for the outcome and the handler's latency."""
        _emit_emf(outcome, latency_ms)


#: What a handler's inner step returns: the response, its outcome (a metric name) and the
#: fields of its "request finished" log line.
Handled = tuple[dict[str, Any], str, dict[str, Any]]


def answer(
    event: Any,
    context: Any,
    request_id: str,
    handle: Callable[[Any, str], Handled],
    internal_error: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``handle`` and always log one "request finished" line and one outcome metric; an
    unexpected error answers ``internal_error`` (never a stack trace in the body)."""
    started = time.perf_counter()
    outcome, status = "InternalError", 500
    fields: dict[str, Any] = {}
    try:
        result, outcome, fields = handle(event, request_id)
        status = int(result["statusCode"])
        return result
    except Exception:  # the last line of defence
        logger.exception("unhandled error", extra={"request_id": request_id})
        return internal_error(request_id)
    finally:
        latency_ms = (time.perf_counter() - started) * 1000
        log = logger.info if status < 500 else logger.error
        log(
            "request finished",
            extra={
                "request_id": request_id,
                "lambda_request_id": getattr(context, "aws_request_id", None),
                "outcome": outcome,
                "status": status,
                "latency_ms": round(latency_ms, 3),
                **fields,
            },
        )
        record_outcome(outcome, latency_ms)
