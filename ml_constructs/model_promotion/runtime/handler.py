"""Lambda entry point: SQS batch (size 1) of S3 upload, approval and deployment-end events.

Returns SQS partial batch failures: a message whose endpoint is busy (or whose
processing hit an unexpected error) goes back to the queue and is retried after the
visibility timeout, and lands in the dead-letter queue after too many receives.
Runs unchanged in plain Python against moto: boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from serving_core.artifact import ArtifactRejectedError
from serving_core.metric_names import METRIC_ERRORS, METRIC_RETRIED

from .config import ConfigurationError, PromotionConfig
from .messages import (
    DeploymentSettled,
    EndpointSettled,
    MessageError,
    PackageApproved,
    Request,
    parse_body,
)
from .promotion import (
    EndpointBusyError,
    Outcome,
    Promoter,
    PromotionFailedError,
    log,
)

_promoter: Promoter | None = None


def promoter() -> Promoter:
    """Built once per container from the environment (a bad variable fails loudly)."""
    global _promoter
    if _promoter is None:
        config = PromotionConfig.from_env(os.environ)
        clients = {name: boto3.client(name) for name in ("s3", "sagemaker", "ssm", "sns")}
        if config.lambda_target is not None:
            clients |= {"lambda": boto3.client("lambda"), "codedeploy": boto3.client("codedeploy")}
        _promoter = Promoter(config, clients)
    return _promoter


def reset() -> None:
    """Forget the cached promoter (tests change the environment between cases)."""
    global _promoter
    _promoter = None


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """SQS event -> ``{"batchItemFailures": [...]}`` for the messages to retry."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("expected an SQS event with a 'Records' list")
    try:
        current = promoter()
    except ConfigurationError as error:
        log("configuration_error", level="ERROR", error=str(error))
        raise
    failures = []
    for record in records:
        message_id = str(record.get("messageId", ""))
        outcomes = process_message(current, record.get("body", ""))
        if any(outcome.status == "retry" for outcome in outcomes):
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def process_message(current: Promoter, body: str) -> list[Outcome]:
    """Every request in one message body, each with its outcome (logged)."""
    try:
        requests = parse_body(body)
    except MessageError as error:
        log("message_ignored", level="WARNING", reason=str(error))
        return [Outcome("ignored", str(error))]
    outcomes = [process_request(current, request) for request in requests]
    for outcome in outcomes:
        log("request_done", **outcome.as_dict())
    return outcomes


def process_request(current: Promoter, request: Request) -> Outcome:
    """Dispatch one request; map every failure mode to an outcome."""
    try:
        if isinstance(request, EndpointSettled | DeploymentSettled):
            return current.settle(request)
        try:
            if isinstance(request, PackageApproved):
                return current.promote_package(request)
            return current.promote(request)
        except ArtifactRejectedError as error:
            return current.reject(request, error)
        except PromotionFailedError as error:
            return current.fail(request, str(error))
    except EndpointBusyError as error:
        current.emit_metric(METRIC_RETRIED)
        return Outcome("retry", str(error))
    except Exception as error:  # an AWS error or a bug: retry, then the DLQ alarms
        log("unexpected_error", level="ERROR", error=repr(error))
        current.emit_metric(METRIC_ERRORS)
        return Outcome("retry", f"unexpected error: {error!r}")
