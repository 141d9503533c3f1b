"""EventBridge targets that are only an ARN (and an input): no grants, no resource policy.

The L2 targets add a resource-policy statement for ``events.amazonaws.com`` without a source
condition (any rule of any account could then use the queue or topic through EventBridge);
the constructs here write their own statement, limited to their rules (``aws:SourceArn``).
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_events as events
from aws_cdk.interfaces.aws_events import IRuleRef


@jsii.implements(events.IRuleTarget)
class ArnTarget:
    """Send matching events (or ``message``) to ``arn``; the caller grants the rule."""

    def __init__(self, arn: str, message: events.RuleTargetInput | None = None) -> None:
        self.arn = arn
        self.message = message

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.arn, input=self.message)
