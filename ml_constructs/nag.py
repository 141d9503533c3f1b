"""Narrow cdk-nag acknowledgements: one finding, one construct, one written reason.

cdk-nag 3 uses CDK's native ``Validations.of(scope).acknowledge``. Each finding is
acknowledged by its full id (``AwsSolutions-IAM5[Resource::*]``), never a whole rule. The
packs that run on every synth are :data:`PACKS` (AwsSolutions, NIST 800-53 rev 5 and the
project's ``DeployPreconditions``, ``ml_constructs.preconditions``); CDK
prefixes an acknowledgement with its pack (``NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

#: The cdk-nag packs attached to every synth (app_factory.build_app).
PACKS = ("AwsSolutions", "NIST.800.53.R5", "DeployPreconditions")


def pack_of(rule_id: str) -> str:
    """``AwsSolutions`` for ``AwsSolutions-IAM5``, ``NIST.800.53.R5`` for its rules."""
    pack = rule_id.rsplit("-", 1)[0]
    if pack not in PACKS:
        raise ValueError(f"{rule_id!r} belongs to no pack this app runs ({', '.join(PACKS)})")
    return pack


def acknowledge(
    construct: IConstruct, rule_id: str, reason: str, findings: Iterable[str] = ()
) -> None:
    """Acknowledge ``rule_id`` on ``construct``: each of ``findings``, or the rule if none."""
    finding_list = list(findings)
    ids = [f"{rule_id}[{finding}]" for finding in finding_list] if finding_list else [rule_id]
    ids = [f"{pack_of(rule_id)}::{i}" for i in ids]
    Validations.of(construct).acknowledge(*[Acknowledgment(id=i, reason=reason) for i in ids])


def nag_logical_id(construct: IConstruct) -> str:
    """The logical id cdk-nag prints for ``construct`` (its default child if an L2)."""
    element = construct.node.default_child if construct.node.default_child else construct
    if not isinstance(element, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation element")
    stack = Stack.of(element)
    return str(stack.resolve(stack.get_logical_id(element)))


def bucket_arn_in(scope: IConstruct, bucket: Any) -> tuple[str, str]:
    """``bucket``'s ARN as ``scope``'s stack uses it, and how cdk-nag names it in a finding.

    A bucket of another stack is imported explicitly (the same export CDK would create), so
    that an acknowledged finding can name it exactly (``<export name>/models/*``)."""
    stack, owner = Stack.of(scope), Stack.of(bucket)
    arn = owner.export_value(bucket.bucket_arn) if owner is not stack else bucket.bucket_arn
    resolved = stack.resolve(arn)
    if isinstance(resolved, dict) and "Fn::ImportValue" in resolved:
        return arn, str(resolved["Fn::ImportValue"])
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        return arn, f"<{resolved['Fn::GetAtt'][0]}.Arn>"
    return arn, str(resolved)
