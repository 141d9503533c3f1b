"""SQS: moto 5.2.5's CloudFormation skips queue policies."""

from __future__ import annotations

from moto.sqs.models import sqs_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim, policy_json
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::SQS::QueuePolicy")
class QueuePolicy(Shim):
    """-> SetQueueAttributes(Policy) on each queue."""

    @classmethod
    def create(cls, call: CfnCall) -> QueuePolicy:
        p = call.properties
        backend = sqs_backends[call.account_id][call.region_name]
        for url in p.get("Queues", []):
            backend.set_queue_attributes(
                url.rstrip("/").split("/")[-1], {"Policy": policy_json(p["PolicyDocument"])}
            )
        return cls(call.resource_name, p, {})
