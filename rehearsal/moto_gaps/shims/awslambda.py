"""Lambda: moto 5.2.5's CloudFormation has no model for AWS::Lambda::EventInvokeConfig (the
retraining function's retries and dead-letter queue)."""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import lambda_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::Lambda::EventInvokeConfig")
class EventInvokeConfig(Shim):
    """-> PutFunctionEventInvokeConfig (stored; the runner applies no retry policy)."""

    @classmethod
    def create(cls, call: CfnCall) -> EventInvokeConfig:
        p = call.properties
        config: dict[str, Any] = {
            k: p[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in p
        }
        lambda_backends[call.account_id][call.region_name].put_function_event_invoke_config(
            p["FunctionName"], config
        )
        return cls(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", p, {})
