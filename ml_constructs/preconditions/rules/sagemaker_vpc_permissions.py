"""A SageMaker model, monitoring job or schedule in a VPC, and every role a function hands to
SageMaker together with a VPC configuration, has SageMaker's listed EC2 actions.

SageMaker creates the network interfaces of a model or job in the VPC with the role the
resource names. Sources: "How to use SageMaker AI execution roles" (CreateModel,
CreateTrainingJob, CreateProcessingJob: the nine EC2 actions; "Don't scope in the policy with
any conditions or resource filters. Otherwise, the validation checks that occur during the
creation of the processing job fail"); "Give SageMaker Hosted Endpoints Access to Resources in
Your Amazon VPC" (adds ec2:DescribeVpcEndpoints).

A function of this project that creates models or starts jobs in the VPC carries their
``VpcConfig`` in its ``VPC_CONFIG`` environment variable; the roles it may pass
(``iam:PassRole``) are the ones SageMaker will use there.
"""

from __future__ import annotations

from typing import Any

from ml_constructs.preconditions.policies import allowing_action, granting
from ml_constructs.preconditions.requirements import SAGEMAKER_VPC_ACTIONS
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

#: Where each resource type keeps its VpcConfig and its role.
JOB_DEFINITIONS = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)
#: The environment variable in which a function hands SageMaker a VpcConfig.
VPC_CONFIG_VARIABLE = "VPC_CONFIG"


def sagemaker_subnets(view: AssemblyView, rid: ResourceId) -> Any:
    """The subnets a SageMaker model, job definition or schedule names, or the VpcConfig a
    function hands SageMaker (None otherwise)."""
    properties = view.properties(rid)
    if view.type_of(rid) == "AWS::SageMaker::MonitoringSchedule":
        config = properties.get("MonitoringScheduleConfig") or {}
        properties = config.get("MonitoringJobDefinition") or {}
    if view.type_of(rid) == "AWS::Lambda::Function":
        return ((properties.get("Environment") or {}).get("Variables") or {}).get(
            VPC_CONFIG_VARIABLE
        )
    vpc_config = properties.get("VpcConfig") or (properties.get("NetworkConfig") or {}).get(
        "VpcConfig"
    )
    return (vpc_config or {}).get("Subnets")


def roles_in_vpc(view: AssemblyView, rid: ResourceId) -> list[Any]:
    """The role values (ARNs) SageMaker will use in the VPC for ``rid``."""
    kind, properties = view.type_of(rid), view.properties(rid)
    if kind == "AWS::SageMaker::Model":
        return [properties.get("ExecutionRoleArn")] if properties.get("VpcConfig") else []
    if kind in JOB_DEFINITIONS:
        network = properties.get("NetworkConfig") or {}
        return [properties.get("RoleArn")] if network.get("VpcConfig") else []
    if kind == "AWS::SageMaker::MonitoringSchedule":
        config = properties.get("MonitoringScheduleConfig") or {}
        definition = config.get("MonitoringJobDefinition") or {}
        network = definition.get("NetworkConfig") or {}
        return [definition.get("RoleArn")] if network.get("VpcConfig") else []
    if kind == "AWS::Lambda::Function":
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        if variables.get(VPC_CONFIG_VARIABLE) in (None, "", "{}"):
            return []
        role = view.role_of(rid.stack, properties.get("Role"))
        if role is None:
            return []
        return [
            resource
            for statement in allowing_action(view.role_statements(role), "iam:PassRole")
            for resource in statement.resources
        ]
    return []


def check(view: AssemblyView, rid: ResourceId) -> list[str]:
    findings: set[str] = set()
    for value in roles_in_vpc(view, rid):
        role = view.role_of(rid.stack, value)
        if role is None:
            findings.add(f"RoleNotInTheAssembly::{view.render(rid.stack, value)}")
            continue
        statements = view.role_statements(role)
        for action in SAGEMAKER_VPC_ACTIONS:
            granted = granting(view, statements, action)
            if not granted:
                findings.add(f"Missing::{role.logical_id}::{action}")
            elif all(s.conditions for s in granted):
                findings.add(f"Conditioned::{role.logical_id}::{action}")
    return sorted(findings)


RULE = Rule(
    name="SageMakerVpcPermissions",
    info="SageMaker will place a model or job in a VPC with a role that lacks SageMaker's "
    "EC2 actions (on '*', without conditions).",
    explanation="SageMaker creates and deletes the network interfaces of models and jobs in a "
    "VPC with the role they name; job creation validates these permissions and fails when they "
    'are missing, scoped or conditioned ("How to use SageMaker AI execution roles").',
    resource_types=frozenset(
        {
            "AWS::SageMaker::Model",
            "AWS::SageMaker::MonitoringSchedule",
            "AWS::Lambda::Function",
            *JOB_DEFINITIONS,
        }
    ),
    check=check,
)
