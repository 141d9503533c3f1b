"""Physical names derived from one prefix, so policies can be scoped to ``<prefix>-*``."""

from __future__ import annotations

import re

from aws_cdk import Aws

from serving_core.variants import HostingVariant

_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def validate_prefix(prefix: str) -> str:
    """Reject prefixes that would make invalid IAM, SageMaker or S3 names."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"prefix {prefix!r} must be lowercase letters, digits and hyphens")
    return prefix


def role_name(prefix: str, purpose: str) -> str:
    """IAM role name; the key policy trusts ``role/<prefix>-*``."""
    name = f"{prefix}-{purpose}"
    if len(name) > 64:
        raise ValueError(f"role name {name!r} is longer than IAM's 64 characters")
    return name


DEFAULT_VARIANT = "AllTraffic"


def endpoint_name(prefix: str, variant: HostingVariant) -> str:
    """The SageMaker endpoint name (at most 63 characters), derived from the fleet's identity.

    SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered
    with Application Auto Scaling, and a variant rename would leave the scalable target on a
    variant that no longer exists. With the fleet (instance type, or kind) and a non-default
    variant name in the endpoint's name, such a change makes CloudFormation replace the
    endpoint instead: it creates the new endpoint and its scalable target, moves the function,
    alarms and promotion to it, then deletes the old endpoint and deregisters its target, in
    one ``cdk deploy``.
    """
    variant_name = variant.name
    fleet = variant.fleet_label
    name = f"{prefix}-{fleet}"
    if variant_name != DEFAULT_VARIANT:
        name = f"{name}-{variant_name}"
    if len(name) > 63:
        raise ValueError(
            f"endpoint name {name!r} is longer than SageMaker's 63 characters: shorten "
            "project, the environment name or endpoint.variant_name"
        )
    return name


def alarms_arn(prefix: str) -> str:
    """ARN pattern of every CloudWatch alarm of this environment (alarms are ``<prefix>-*``)."""
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{prefix}-*"


def alarms_nag_arn(prefix: str) -> str:
    """The same pattern as cdk-nag prints it in a finding id."""
    return f"arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:{prefix}-*"
