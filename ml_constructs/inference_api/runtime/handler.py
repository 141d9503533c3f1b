"""POST /predict: validate, call the SageMaker endpoint, answer predictions or a clear error.

Outcomes (HTTP status, ``error.code``):

- 200: ``{"predictions": [...], "model": {"endpoint", "variant"}, "request_id",
  "inference_id"}`` (the ``InferenceId`` sent to SageMaker: the join key of model monitoring)
- 400/405/413/415: the request is malformed (see ``request_validation``); SageMaker is not called
- 502 ``model_error``: the model rejected the rows or failed; its own message is passed on
- 502 ``upstream_error``: SageMaker failed or answered something that is not predictions
- 503 ``throttled`` with ``Retry-After``: still throttled after the client's retries
- 504 ``timeout``: no answer within the connect/read timeouts, retries included
- 500 ``internal_error``: anything else; the body holds the request id, never a stack trace

Async mode (``INVOCATION_MODE=async``, an asynchronous endpoint: InvokeEndpoint does not work
there): ``POST /predict-async`` validates the body exactly as /predict does and answers 202
``{"id", "output_location", "status": "pending"}``; ``GET /predict-async/{id}`` answers 202
while pending, 200 ``{"status": "completed", "predictions"}`` or 200 ``{"status": "failed",
"error"}``, and 404 for ids it never handed out; any other route (``/predict``) answers 404
``use_predict_async``. See ``async_requests``.

The boto3 client is created once per container, on first use, with explicit timeouts and
botocore's standard retry mode (exponential backoff with jitter on throttling and transient
errors). ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` points it at a local stand-in.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from serving_core.observability import answer
from serving_core.predict_request import RequestError, parse_request
from serving_core.predict_response import error as _error
from serving_core.predict_response import inference_id, invalid_event, rejected
from serving_core.predict_response import internal_error as _internal_error
from serving_core.predict_response import misconfigured as _misconfigured
from serving_core.predict_response import request_id as _request_id
from serving_core.predict_response import response as _response

from .api_config import ApiConfig, ConfigurationError

_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ModelNotReadyException",
    }
)
_UPSTREAM_CODES = frozenset({"InternalFailure", "InternalDependencyException"})
_MAX_MODEL_MESSAGE = 1000

_config: ApiConfig | None = None
_client: Any = None
_s3: Any = None


def get_config() -> ApiConfig:
    """The container's configuration, read from the environment on first use."""
    global _config
    if _config is None:
        _config = ApiConfig.from_environment()
    return _config


def get_client(config: ApiConfig) -> Any:
    """The container's sagemaker-runtime client (one per container, made on first use)."""
    global _client
    if _client is None:
        _client = boto3.client(
            "sagemaker-runtime",
            config=Config(
                connect_timeout=config.connect_timeout_s,
                read_timeout=config.read_timeout_s,
                retries={"mode": "standard", "total_max_attempts": config.max_attempts},
                tcp_keepalive=True,
            ),
        )
    return _client


def get_s3_client(config: ApiConfig) -> Any:
    """The container's S3 client (async mode only), with the same timeouts and retries."""
    global _s3
    if _s3 is None:
        _s3 = boto3.client(
            "s3",
            config=Config(
                connect_timeout=config.connect_timeout_s,
                read_timeout=config.read_timeout_s,
                retries={"mode": "standard", "total_max_attempts": config.max_attempts},
            ),
        )
    return _s3


def reset() -> None:
    """Forget the cached configuration and clients (tests change the environment)."""
    global _config, _client, _s3
    _config = None
    _client = None
    _s3 = None


def _model_message(error: ClientError) -> tuple[str, Any]:
    """The model's own message and status from a ModelError (OriginalMessage/StatusCode)."""
    response: Any = error.response
    original = response.get("OriginalMessage") or response.get("Error", {}).get("Message", "")
    status = response.get("OriginalStatusCode")
    text = str(original)
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            text = parsed["error"]
    except ValueError:
        pass
    return text[:_MAX_MODEL_MESSAGE], status


def _invoke(config: ApiConfig, payload: bytes, request_id: str) -> tuple[list[Any], str]:
    response = get_client(config).invoke_endpoint(
        EndpointName=config.endpoint_name,
        ContentType="application/json",
        Accept="application/json",
        Body=payload,
        InferenceId=inference_id(request_id),
    )
    raw = response["Body"].read()
    document = json.loads(raw)
    predictions = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(predictions, list):
        raise _UnexpectedModelResponseError("the model's answer has no 'predictions' list")
    return predictions, str(response.get("InvokedProductionVariant", ""))


class _UnexpectedModelResponseError(Exception):
    """The endpoint answered 200 with something that is not this API's prediction shape."""


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """API Gateway (REST, proxy integration) entry point."""
    return answer(event, context, _request_id(event, context), _handle, _internal_error)


def _handle(event: Any, request_id: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    try:
        config = get_config()
    except ConfigurationError as error:
        return (
            _misconfigured(request_id),
            "InternalError",
            {"reason": f"configuration: {error}"},
        )
    if not isinstance(event, dict):
        return invalid_event(request_id)
    if config.mode == "async":
        return _handle_async(event, config, request_id)
    return _predict(event, config, request_id)


def _predict(
    event: dict[str, Any], config: ApiConfig, request_id: str
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """POST /predict: validate, invoke the endpoint, answer its predictions."""
    try:
        request = parse_request(event, config)
    except RequestError as error:
        return rejected(error, request_id)
    fields: dict[str, Any] = {"rows": request.rows, "payload_bytes": len(request.payload)}
    invoke_started = time.perf_counter()
    try:
        predictions, variant = _invoke(config, request.payload, request_id)
    except ClientError as error:
        fields["endpoint_ms"] = round((time.perf_counter() - invoke_started) * 1000, 3)
        return _client_error(error, config, request_id, fields)
    except (BotoCoreError, _UnexpectedModelResponseError, ValueError) as error:
        fields["endpoint_ms"] = _since(invoke_started)
        return _invoke_failure(error, config, request_id, fields)
    fields["endpoint_ms"] = _since(invoke_started)
    fields["variant"] = variant
    if len(predictions) != request.rows:
        fields["reason"] = f"{len(predictions)} predictions for {request.rows} rows"
        return (
            _error(
                502,
                "upstream_error",
                f"the model returned {len(predictions)} predictions for {request.rows} rows",
                request_id,
            ),
            "UpstreamError",
            fields,
        )
    body = {
        "predictions": predictions,
        "model": {"endpoint": config.endpoint_name, "variant": variant},
        "request_id": request_id,
        "inference_id": inference_id(request_id),
    }
    return _response(200, body, request_id), "Success", fields


def _invoke_failure(
    error: Exception, config: ApiConfig, request_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The answer to an InvokeEndpoint that failed before SageMaker answered (timeouts, no
    connection, botocore's own errors) or answered something that is not predictions."""
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        fields["reason"] = type(error).__name__
        message = (
            f"the model endpoint did not answer within {config.invoke_budget_s:g} s "
            f"({config.max_attempts} attempts); retry later"
        )
        return _error(504, "timeout", message, request_id), "Timeout", fields
    if isinstance(error, EndpointConnectionError):
        fields["reason"] = str(error)
        message = "the model endpoint could not be reached"
        return _error(502, "upstream_error", message, request_id), "UpstreamError", fields
    if isinstance(error, (_UnexpectedModelResponseError, ValueError)):
        fields["reason"] = f"unexpected model response: {error}"
        message = "the model answered with something other than predictions"
        return _error(502, "upstream_error", message, request_id), "UpstreamError", fields
    fields["reason"] = f"{type(error).__name__}: {error}"
    return _internal_error(request_id), "InternalError", fields


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _client_error(
    error: ClientError, config: ApiConfig, request_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    code = str(error.response.get("Error", {}).get("Code", ""))
    http_status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    fields.update(sagemaker_error=code, sagemaker_status=http_status)
    if code == "ModelError":
        message, original_status = _model_message(error)
        fields["model_status"] = original_status
        return (
            _error(502, "model_error", f"the model rejected the request: {message}", request_id),
            "ModelError",
            fields,
        )
    if code in _THROTTLING_CODES or http_status == 429:
        retry_after = str(config.retry_after_s)
        return (
            _error(
                503,
                "throttled",
                f"the model endpoint is at capacity after {config.max_attempts} attempts; "
                f"retry after {retry_after} s",
                request_id,
                headers={"Retry-After": retry_after},
            ),
            "Throttled",
            fields,
        )
    if code in _UPSTREAM_CODES:
        return (
            _error(502, "upstream_error", "SageMaker failed to serve the request", request_id),
            "UpstreamError",
            fields,
        )
    fields["reason"] = str(error)
    return (
        _internal_error(request_id),
        "InternalError",
        fields,
    )


# -- async mode ----------------------------------------------------------------------------

ASYNC_SUBMIT = "/predict-async"
ASYNC_RESULT = "/predict-async/{id}"


def _async_module() -> Any:
    """``async_requests``, imported on the first async request (never in real-time mode)."""
    from . import async_requests

    return async_requests


def _handle_async(
    event: dict[str, Any], config: ApiConfig, request_id: str
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    resource = event.get("resource")
    method = event.get("httpMethod")
    if resource == ASYNC_RESULT and method == "GET":
        return _async_result(event, config, request_id)
    if resource == ASYNC_SUBMIT:
        return _async_submit(event, config, request_id)
    return (
        _error(
            404,
            "use_predict_async",
            "this endpoint is asynchronous: POST /predict-async, then GET /predict-async/{id}",
            request_id,
        ),
        "ClientError",
        {"error_code": "use_predict_async"},
    )


def _async_submit(
    event: dict[str, Any], config: ApiConfig, request_id: str
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    try:
        request = parse_request(event, config)
    except RequestError as error:
        return rejected(error, request_id)
    module = _async_module()
    fields: dict[str, Any] = {"rows": request.rows, "payload_bytes": len(request.payload)}
    started = time.perf_counter()
    inference = module.new_request_id()
    fields["async_id"] = inference
    try:
        submitted = module.submit(
            config,
            get_s3_client(config),
            get_client(config),
            request.payload,
            request.rows,
            inference,
        )
    except ClientError as error:
        fields["endpoint_ms"] = _since(started)
        if error.operation_name == "InvokeEndpointAsync":
            return _client_error(error, config, request_id, fields)
        fields["reason"] = f"{error.operation_name}: {error}"
        return _internal_error(request_id), "InternalError", fields
    except (ReadTimeoutError, ConnectTimeoutError) as error:
        fields.update(reason=type(error).__name__, endpoint_ms=_since(started))
        return (
            _error(504, "timeout", "the request could not be queued in time; retry", request_id),
            "Timeout",
            fields,
        )
    except BotoCoreError as error:
        fields.update(reason=f"{type(error).__name__}: {error}", endpoint_ms=_since(started))
        return _internal_error(request_id), "InternalError", fields
    fields["endpoint_ms"] = _since(started)
    body = {
        "id": submitted.request_id,
        "status": "pending",
        "output_location": submitted.output_location,
        "request_id": request_id,
    }
    headers = {"Location": f"{ASYNC_SUBMIT}/{submitted.request_id}"}
    return _response(202, body, request_id, headers), "Success", fields


def _async_result(
    event: dict[str, Any], config: ApiConfig, request_id: str
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    module = _async_module()
    parameters = event.get("pathParameters")
    raw = parameters.get("id") if isinstance(parameters, dict) else None
    inference = raw if isinstance(raw, str) else ""
    fields: dict[str, Any] = {"async_id": inference[:64]}
    unknown = _error(
        404,
        "unknown_request",
        "no asynchronous request has this id (ids are 32 lowercase hex digits)",
        request_id,
        field="id",
    )
    try:
        outcome = module.outcome(config, get_s3_client(config), inference)
    except module.UnknownRequestError:
        return unknown, "ClientError", {**fields, "error_code": "unknown_request"}
    except module.ResultError as error:
        fields["reason"] = str(error)
        return (
            _error(502, "upstream_error", "the stored result is unreadable", request_id),
            "UpstreamError",
            fields,
        )
    except (ClientError, BotoCoreError) as error:
        fields["reason"] = f"{type(error).__name__}: {error}"
        return _internal_error(request_id), "InternalError", fields
    fields["async_status"] = outcome.status
    body: dict[str, Any] = {"id": inference, "status": outcome.status, "request_id": request_id}
    if outcome.status == "pending":
        retry_after = str(config.retry_after_s)
        return _response(202, body, request_id, {"Retry-After": retry_after}), "Success", fields
    if outcome.status == "failed":
        body["error"] = {"code": "model_error", "message": outcome.failure}
        return _response(200, body, request_id), "ModelError", fields
    document = outcome.document
    predictions = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(predictions, list) or len(predictions) != outcome.rows:
        fields["reason"] = "the result is not one prediction per row"
        return (
            _error(
                502,
                "upstream_error",
                "the model answered with something other than one prediction per row",
                request_id,
            ),
            "UpstreamError",
            fields,
        )
    body["predictions"] = predictions
    body["model"] = {"endpoint": config.endpoint_name}
    return _response(200, body, request_id), "Success", fields
