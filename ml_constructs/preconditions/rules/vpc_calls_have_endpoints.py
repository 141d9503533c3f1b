"""Every AWS API that code in the VPC calls has a VPC endpoint there.

Isolated subnets have no route to AWS's public endpoints: a call without an interface endpoint
(or, for S3, a gateway endpoint) times out ("Access an AWS service using an interface VPC
endpoint"; "Gateway endpoints for Amazon S3"). What a function calls is read from its role:
every service it may use, except what Lambda itself does with the role (logs, network
interfaces, polling its SQS event sources) and what another service does on its behalf (KMS
through ``kms:ViaService``, ``iam:PassRole``). SageMaker models and monitoring jobs in the VPC
read and write S3 ("Give SageMaker Hosted Endpoints Access to Resources in Your Amazon VPC",
"Give SageMaker Processing Jobs Access to Resources in Your Amazon VPC": "can't connect to the
Amazon S3 buckets ... unless you create a VPC endpoint"), and a monitoring job that publishes
CloudWatch metrics calls CloudWatch.
"""

from __future__ import annotations

import re
from typing import Any

from ml_constructs.preconditions.policies import condition_keys
from ml_constructs.preconditions.requirements import LAMBDA_SQS_POLLER_ACTIONS
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.rules.lambda_vpc_permissions import in_vpc
from ml_constructs.preconditions.rules.sagemaker_vpc_permissions import (
    JOB_DEFINITIONS,
    sagemaker_subnets,
)
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

#: IAM service prefix -> VPC endpoint service name, where they differ.
ENDPOINT_OF_PREFIX = {"cloudwatch": "monitoring", "ecr": "ecr.api", "execute-api": "execute-api"}
#: SageMaker actions served by the runtime endpoint (the rest by sagemaker.api).
RUNTIME_ACTIONS = re.compile(r"^sagemaker:InvokeEndpoint", re.IGNORECASE)
#: Actions Lambda performs itself with the function's role, outside the function's network.
LAMBDA_OWN = re.compile(
    r"^(logs:(CreateLogGroup|CreateLogStream|PutLogEvents)"
    r"|ec2:(CreateNetworkInterface|DescribeNetworkInterfaces|DescribeSubnets"
    r"|DeleteNetworkInterface|AssignPrivateIpAddresses|UnassignPrivateIpAddresses))$",
    re.IGNORECASE,
)
#: Actions the Lambda poller uses on an SQS event source (outside the function's network).
POLLER = frozenset(a.lower() for a in LAMBDA_SQS_POLLER_ACTIONS)
SERVICE_NAME = re.compile(
    r"^com\.amazonaws\.(\{AWS::Region\}|[a-z]{2}(-[a-z]+)+-\d)\.(?P<service>.+)$"
)


def endpoint_service(action: str) -> str:
    """The VPC endpoint service an IAM action is called through (``sagemaker.runtime``...)."""
    prefix = action.split(":", 1)[0].lower()
    if prefix == "sagemaker":
        return "sagemaker.runtime" if RUNTIME_ACTIONS.match(action) else "sagemaker.api"
    return ENDPOINT_OF_PREFIX.get(prefix, prefix)


def _function_calls(view: AssemblyView, function: ResourceId) -> set[str]:
    role = view.role_of(function.stack, view.properties(function).get("Role"))
    if role is None:
        return set()
    polled = any(
        view.target(m.stack, view.properties(m).get("FunctionName")) == function
        for m in view.resources("AWS::Lambda::EventSourceMapping")
    )
    dead_letters = _lambda_deliveries(view, function)
    services = set()
    for statement in view.role_statements(role):
        if not statement.allows:
            continue
        resources = {view.render(statement.holder.stack, r) for r in statement.resources}
        if resources and resources <= dead_letters:
            continue  # Lambda delivers failed asynchronous events itself, with this role
        via_service = "kms:viaservice" in condition_keys(statement)
        for action in statement.actions:
            lower = action.lower()
            if LAMBDA_OWN.match(action) or lower == "iam:passrole":
                continue
            if (polled and lower in POLLER) or (lower.startswith("kms:") and via_service):
                continue
            services.add(endpoint_service(action))
    return services


def _lambda_deliveries(view: AssemblyView, function: ResourceId) -> set[str]:
    """The queue or topic Lambda itself sends the function's failed asynchronous events to,
    with the function's role ("Adding a dead-letter queue", Lambda developer guide)."""
    target = (view.properties(function).get("DeadLetterConfig") or {}).get("TargetArn")
    return {view.render(function.stack, target)} if target is not None else set()


def _sagemaker_calls(view: AssemblyView, rid: ResourceId) -> set[str]:
    kind, properties = view.type_of(rid), view.properties(rid)
    if kind == "AWS::SageMaker::Model":
        return {"s3"} if properties.get("VpcConfig") else set()
    if kind in JOB_DEFINITIONS and (properties.get("NetworkConfig") or {}).get("VpcConfig"):
        specification: dict[str, Any] = next(
            (v for k, v in properties.items() if k.endswith("AppSpecification")), {}
        )
        metrics = (specification.get("Environment") or {}).get("publish_cloudwatch_metrics")
        return {"s3", "monitoring"} if metrics == "Enabled" else {"s3"}
    return set()


def _endpoints(view: AssemblyView, vpc: str | None) -> set[str]:
    """The services with an endpoint in ``vpc`` (in any VPC of the assembly when None)."""
    found = set()
    for endpoint in view.resources("AWS::EC2::VPCEndpoint"):
        properties = view.properties(endpoint)
        if vpc is not None and view.render(endpoint.stack, properties.get("VpcId")) != vpc:
            continue
        name = view.render(endpoint.stack, view.properties(endpoint).get("ServiceName"))
        match = SERVICE_NAME.match(name)
        found.add(match.group("service") if match else name)
    return found


def check(view: AssemblyView, rid: ResourceId) -> list[str]:
    if view.type_of(rid) == "AWS::Lambda::Function":
        calls = _function_calls(view, rid) if in_vpc(view, rid) else set()
        subnets = (view.properties(rid).get("VpcConfig") or {}).get("SubnetIds")
    else:
        calls = _sagemaker_calls(view, rid)
        subnets = sagemaker_subnets(view, rid)
    if not calls:
        return []
    missing = calls - _endpoints(view, view.vpc_of_subnets(rid.stack, subnets))
    return sorted(f"NoEndpoint::{service}" for service in missing)


RULE = Rule(
    name="VpcCallsHaveEndpoints",
    info="Code in the VPC calls an AWS service that has no VPC endpoint in the assembly.",
    explanation="Isolated subnets reach AWS only through VPC endpoints: a call to a service "
    "without one times out. Each service a function's role may call (except what Lambda does "
    "itself) and S3 (and CloudWatch) for SageMaker models and jobs needs its endpoint.",
    resource_types=frozenset({"AWS::Lambda::Function", "AWS::SageMaker::Model", *JOB_DEFINITIONS}),
    check=check,
)
