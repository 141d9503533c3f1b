"""Lambda entry point: EventBridge delivers a model alarm's state change (start a retraining)
or a retraining job's state change (report its outcome). Invoked asynchronously: an error is
retried by Lambda, then lands in the dead-letter queue."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from .retraining import Outcome, Retrainer, RetrainingConfig

ALARM_CHANGE = "CloudWatch Alarm State Change"
JOB_CHANGE = "SageMaker Training Job State Change"
_retrainer: Retrainer | None = None


def retrainer() -> Retrainer:
    global _retrainer
    if _retrainer is None:
        config = RetrainingConfig.from_env(os.environ)
        clients = {name: boto3.client(name) for name in ("sagemaker", "s3", "sns")}
        _retrainer = Retrainer(config, clients)
    return _retrainer


def reset() -> None:
    global _retrainer
    _retrainer = None


def handle(event: Any, current: Retrainer) -> Outcome:
    """One EventBridge event; anything else is refused with what was expected."""
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ValueError("expected an EventBridge event with a detail object")
    kind, detail = event.get("detail-type"), event["detail"]
    if kind == ALARM_CHANGE:
        state = detail.get("state", {})
        if state.get("value") != "ALARM":
            return Outcome("ignored", f"{detail.get('alarmName')} is {state.get('value')}")
        return current.on_alarm(str(detail.get("alarmName", "")), str(state.get("reason", "")))
    if kind == JOB_CHANGE:
        return current.on_job_state(detail)
    return Outcome("ignored", f"events of type {kind!r} are not handled")


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    outcome = handle(event, retrainer())
    print(json.dumps({"event": f"retraining_{outcome.status}", "detail": outcome.detail}))
    return {"status": outcome.status, "detail": outcome.detail, "job": outcome.job}
