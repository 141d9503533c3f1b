"""SNS: moto 5.2.5's CloudFormation skips topic policies and standalone subscriptions."""

from __future__ import annotations

from moto.sns.models import sns_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim, policy_json
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::SNS::TopicPolicy")
class TopicPolicy(Shim):
    """-> SetTopicAttributes(Policy) on each topic."""

    @classmethod
    def create(cls, call: CfnCall) -> TopicPolicy:
        p = call.properties
        backend = sns_backends[call.account_id][call.region_name]
        for arn in p.get("Topics", []):
            backend.set_topic_attribute(arn, "Policy", policy_json(p["PolicyDocument"]))
        return cls(call.resource_name, p, {})


@register("AWS::SNS::Subscription")
class Subscription(Shim):
    """-> Subscribe (e-mail is never delivered locally)."""

    @classmethod
    def create(cls, call: CfnCall) -> Subscription:
        p = call.properties
        backend = sns_backends[call.account_id][call.region_name]
        subscription = backend.subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"])
        return cls(subscription.arn, p, {"Arn": subscription.arn})
