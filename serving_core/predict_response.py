"""The answers of ``POST /predict``: API Gateway proxy responses, the JSON error body, the
request id and the inference id.

Shared by the functions that answer it (the inference API in front of a SageMaker endpoint, and
the Lambda-hosted model), so a caller sees the same statuses, headers and bodies from both.
"""

from __future__ import annotations

import json
from typing import Any

from serving_core.predict_request import RequestError

_MAX_INFERENCE_ID = 64


def response(
    status: int, body: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A proxy-integration response with a compact JSON body and the request id header."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "X-Request-Id": request_id,
            **(headers or {}),
        },
        "body": json.dumps(body, separators=(",", ":")),
    }


def error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``{"error": {"code", "message"[, "field"]}, "request_id"}`` with ``status``."""
    detail: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    return response(status, {"error": detail, "request_id": request_id}, request_id, headers)


def internal_error(request_id: str) -> dict[str, Any]:
    """The 500 for anything unexpected: the request id to quote, never a stack trace."""
    return error(
        500,
        "internal_error",
        f"internal error; quote request id {request_id} when reporting it",
        request_id,
    )


def misconfigured(request_id: str) -> dict[str, Any]:
    """The 500 for a function whose environment is wrong (a deployment bug, not the caller's)."""
    return error(
        500,
        "internal_error",
        f"the inference function is misconfigured; quote request id {request_id}",
        request_id,
    )


def request_id(event: Any, context: Any) -> str:
    """API Gateway's request id (what the caller sees), else Lambda's, else ``local``."""
    if isinstance(event, dict):
        request_context = event.get("requestContext")
        if isinstance(request_context, dict):
            value = request_context.get("requestId")
            if isinstance(value, str) and value:
                return value
    return str(getattr(context, "aws_request_id", "") or "local")


def inference_id(request_id: str) -> str:
    """The request id as SageMaker's ``InferenceId`` (pattern ``\\A\\S[\\p{Print}]*\\z``,
    1-64 characters): printable ASCII, the first not a space. Model Monitor's model-quality
    jobs join ground truth on it; API Gateway's request ids (UUIDs) pass unchanged."""
    printable = "".join(c if " " <= c <= "~" else "_" for c in request_id.strip())
    return printable[:_MAX_INFERENCE_ID] or "unknown"


def invalid_event(request_id: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """What a handler answers (response, outcome, log fields) to an event that is not an API
    Gateway request."""
    return (
        error(400, "invalid_event", "the event is not an API Gateway request", request_id),
        ("ClientError"),
        {},
    )


def rejected(problem: RequestError, request_id: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """What a handler answers (response, outcome, log fields) to a request that fails
    validation: the same status, body and log fields wherever the model is hosted."""
    body = error(problem.status, problem.code, problem.message, request_id, field=problem.field)
    return body, "ClientError", {"error_code": problem.code, "field": problem.field}
