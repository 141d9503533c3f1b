"""Every bucket and prefix that code in the VPC reads or writes is let through by the S3
gateway endpoint's policy.

In isolated subnets S3 is reached only through the gateway endpoint, whose policy is a second
gate after the caller's own IAM policy: a read the role allows but the endpoint policy does
not is AccessDenied ("Control access to VPC endpoints using endpoint policies"; "Gateway
endpoints for Amazon S3"). What code in the VPC touches is read from the roles that run there:
the roles of functions in the VPC, and the roles SageMaker uses for models and jobs there
(``sagemaker_vpc_permissions.roles_in_vpc``). A role in the VPC that pulls images from ECR
(``ecr:GetDownloadUrlForLayer``) downloads the layers from ECR's own bucket through presigned
URLs: the endpoint must let ``s3:GetObject`` on ``prod-REGION-starport-layer-bucket`` through
without a condition on the principal ("Amazon ECR interface VPC endpoints (AWS PrivateLink)",
"Minimum Amazon S3 bucket permissions for Amazon ECR").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ml_constructs.preconditions.policies import (
    action_matches,
    allowing_action,
    resource_covers,
)
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.rules.lambda_vpc_permissions import in_vpc
from ml_constructs.preconditions.rules.sagemaker_vpc_permissions import (
    roles_in_vpc,
    sagemaker_subnets,
)
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId, as_list

#: Conditions the endpoint may put on a statement that this app's own roles satisfy.
SATISFIED_BY_OWN_ROLES = frozenset({"aws:principalaccount"})
#: ECR's layer bucket, as templates render it.
PARTITION = re.compile(r"^arn:aws(-[a-z]+)*:")
REGION = re.compile(r"(?<=[-:])[a-z]{2}(-gov)?-[a-z]+-\d(?=[-:])")
ECR_LAYER_URL = "ecr:GetDownloadUrlForLayer"
PARTITION = re.compile(r"^arn:aws(-[a-z]+)*:")
REGION = re.compile(r"(?<=[-:])[a-z]{2}(-gov)?-[a-z]+-\d(?=[-:])")
ECR_LAYER_URL = "ecr:GetDownloadUrlForLayer"
ECR_LAYERS = "arn:{AWS::Partition}:s3:::prod-{AWS::Region}-starport-layer-bucket/*"


def is_s3_gateway(view: AssemblyView, endpoint: ResourceId) -> bool:
    properties = view.properties(endpoint)
    service = view.render(endpoint.stack, properties.get("ServiceName"))
    return service.endswith(".s3") and properties.get("VpcEndpointType", "Gateway") == "Gateway"


def vpc_roles(view: AssemblyView) -> Iterator[tuple[str | None, ResourceId]]:
    """(VPC, role) for every role that runs in a VPC of the assembly; the VPC is the rendered
    VpcId of its subnets, None where the subnets are ids or the VpcConfig is a function's."""
    for function in view.resources("AWS::Lambda::Function"):
        if in_vpc(view, function):
            properties = view.properties(function)
            role = view.role_of(function.stack, properties.get("Role"))
            subnets = (properties.get("VpcConfig") or {}).get("SubnetIds")
            if role is not None:
                yield view.vpc_of_subnets(function.stack, subnets), role
    for resource in view.resources():
        for value in roles_in_vpc(view, resource):
            role = view.role_of(resource.stack, value)
            if role is not None:
                yield view.vpc_of_subnets(resource.stack, sagemaker_subnets(view, resource)), role


def _s3_accesses(view: AssemblyView, role: ResourceId) -> Iterator[tuple[str, str]]:
    """(action, rendered resource) of every S3 permission ``role`` holds."""
    for statement in view.role_statements(role):
        if not statement.allows:
            continue
        actions = [a for a in statement.actions if a.lower().startswith("s3:")]
        for action in actions:
            for resource in as_list(statement.body.get("Resource")):
                yield action, view.render(statement.holder.stack, resource)


def _admits(
    view: AssemblyView,
    endpoint: ResourceId,
    action: str,
    resource: str,
    satisfied: frozenset[str] = SATISFIED_BY_OWN_ROLES,
) -> bool:
    """The endpoint policy lets ``action`` on ``resource`` through for a request whose
    context satisfies the condition keys ``satisfied``."""
    document: dict[str, Any] = view.properties(endpoint).get("PolicyDocument") or {}
    if not document:
        return True  # no policy: the endpoint's default allows everything
    for statement in as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        conditions = {k.lower() for op in (statement.get("Condition") or {}).values() for k in op}
        if not conditions <= satisfied:
            continue
        actions = as_list(statement.get("Action"))
        resources = [
            _placeholders(view.render(endpoint.stack, r))
            for r in as_list(statement.get("Resource"))
        ]
        if any(action_matches(a, action) for a in actions) and any(
            resource_covers(r, _placeholders(resource)) for r in resources
        ):
            return True
    return False


def _placeholders(arn: str) -> str:
    """A partition and region written out (an environment pinned to one) as the pseudo
    parameters an environment-agnostic template uses, so both compare."""
    arn = PARTITION.sub("arn:{AWS::Partition}:", arn)
    return REGION.sub("{AWS::Region}", arn)


def check(view: AssemblyView, endpoint: ResourceId) -> list[str]:
    if not is_s3_gateway(view, endpoint):
        return []
    findings = set()
    pulls_images = False
    vpc = view.render(endpoint.stack, view.properties(endpoint).get("VpcId"))
    for role_vpc, role in vpc_roles(view):
        if role_vpc not in (None, vpc):
            continue
        for action, resource in _s3_accesses(view, role):
            if not _admits(view, endpoint, action, resource):
                findings.add(f"NotAdmitted::{action}::{resource}")
        pulls_images |= bool(allowing_action(view.role_statements(role), ECR_LAYER_URL))
    if pulls_images and not _admits(view, endpoint, "s3:GetObject", ECR_LAYERS, frozenset()):
        findings.add("EcrLayersNotAdmitted")
    return sorted(findings)


RULE = Rule(
    name="GatewayEndpointAdmitsS3Access",
    info="A role that runs in the VPC may read or write S3 objects that the S3 gateway "
    "endpoint's policy does not let through.",
    explanation="From isolated subnets S3 is reached only through the gateway endpoint, and "
    "its policy is evaluated besides the caller's: every bucket and prefix code in the VPC "
    "uses must be allowed there, or the call ends in AccessDenied.",
    resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
    check=check,
)
