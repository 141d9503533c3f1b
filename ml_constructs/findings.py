"""Scanner findings that recur on several constructs of this app, with their one reason each.

The cdk-nag packs (AwsSolutions, NIST 800-53 rev 5) and checkov flag the same design choices on
each function and role: these helpers acknowledge them at the construct that owns the resource,
so the reason is written once and the scope stays one resource.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from ml_constructs.checkov import skip
from ml_constructs.nag import acknowledge

NO_VPC = (
    "The stack runs without a VPC (private networking is a separate configuration choice); "
    "the function reaches only AWS APIs, over TLS, signed with its own least-privilege role."
)
ENVIRONMENT_ENCRYPTION = (
    "Lambda encrypts environment variables at rest with an AWS managed key; these hold "
    "resource names, ARNs and limits, no secrets, so the project key is not needed (using it "
    "would open the key to the deploying principal for Lambda)."
)
INLINE_POLICY = (
    "CDK attaches each role's least-privilege statements as that role's own AWS::IAM::Policy; "
    "a customer managed policy would hold the same statements and could be attached elsewhere."
)


def acknowledge_function(
    function: lambda_.Function, *, dead_letters: str | None, concurrency: str | None
) -> None:
    """A function without VPC (unless it has one), unless ``dead_letters`` is None (it has
    one) without DLQ (reason given) and, unless ``concurrency`` is None (it has a
    reservation), without reserved concurrency (reason given). (A function in the VPC gets
    Lambda's network permissions on its own role: ``private_network.function_placement``.)"""
    if not function.is_bound_to_vpc:
        acknowledge(function, "NIST.800.53.R5-LambdaInsideVPC", NO_VPC)
        skip(function, "CKV_AWS_117", NO_VPC)
    if dead_letters is not None:
        acknowledge(function, "NIST.800.53.R5-LambdaDLQ", dead_letters)
        skip(function, "CKV_AWS_116", dead_letters)
    skip(function, "CKV_AWS_173", ENVIRONMENT_ENCRYPTION)
    if concurrency is not None:
        acknowledge(function, "NIST.800.53.R5-LambdaConcurrency", concurrency)
        skip(function, "CKV_AWS_115", concurrency)


def acknowledge_inline_policy(role: iam.Role) -> None:
    """The role's default policy (NIST's IAMNoInlinePolicy)."""
    acknowledge(
        role.node.find_child("DefaultPolicy"), "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY
    )


def acknowledge_encrypted_sends(policy: IConstruct) -> None:
    """``kms:GenerateDataKey*`` that CDK's grants on an encrypted topic or queue add."""
    acknowledge(
        policy,
        "AwsSolutions-IAM5",
        "Publishing to the KMS-encrypted alarm topic (and sending to an encrypted dead-letter "
        "queue) needs the GenerateDataKey family on this app's key only (added by the topic's "
        "and queue's grants).",
        ["Action::kms:GenerateDataKey*"],
    )


def skip_generated_handler(scope: IConstruct, provider_id: str, reason: str) -> None:
    """CDK's own custom-resource provider function ``provider_id`` of ``scope``'s stack, when
    present: generated code that CloudFormation invokes synchronously, to which no DLQ, VPC or
    reserved concurrency applies (``reason`` says what it does)."""
    provider = Stack.of(scope).node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider else None
    if handler is None:
        return
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
        skip(handler, check, reason)
