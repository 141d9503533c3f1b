"""A Lambda function in a VPC has the network-interface actions on its role, granted by a
policy that exists before the function.

Lambda attaches the function to its subnets with the function's execution role and refuses
CreateFunction without them ("The provided execution role does not have permissions to call
CreateNetworkInterface on EC2"). CDK adds AWSLambdaVPCAccessExecutionRole only to a role it
creates itself. Source: Lambda developer guide, "Giving Lambda functions access to resources
in an Amazon VPC"; "AWSLambdaVPCAccessExecutionRole" (AWS managed policy reference).
"""

from __future__ import annotations

from ml_constructs.preconditions.policies import granting
from ml_constructs.preconditions.requirements import LAMBDA_VPC_ACTIONS
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

#: AWS managed policies that hold the actions (policy name suffix of the ARN).
MANAGED_POLICIES = ("AWSLambdaVPCAccessExecutionRole", "AWSLambdaENIManagementAccess")


def in_vpc(view: AssemblyView, function: ResourceId) -> bool:
    """The function has subnets (``VpcConfig.SubnetIds``)."""
    vpc_config = view.properties(function).get("VpcConfig") or {}
    return bool(vpc_config.get("SubnetIds"))


def check(view: AssemblyView, function: ResourceId) -> list[str]:
    if not in_vpc(view, function):
        return []
    role = view.role_of(function.stack, view.properties(function).get("Role"))
    if role is None:
        return ["RoleNotInTheAssembly"]
    if any(arn.endswith(MANAGED_POLICIES) for arn in view.managed_policy_arns(role)):
        return []
    statements = view.role_statements(role)
    before = view.depends_on(function)
    findings = []
    for action in LAMBDA_VPC_ACTIONS:
        granted = [s for s in granting(view, statements, action) if not s.conditions]
        if not granted:
            findings.append(f"Missing::{action}")
        elif all(s.holder != role and s.holder not in before for s in granted):
            findings.append(f"NotDependedOn::{granted[0].holder.logical_id}")
    return sorted(set(findings))


RULE = Rule(
    name="LambdaVpcPermissions",
    info="The function runs in a VPC but its role does not grant Lambda's network-interface "
    "actions (on '*', unconditioned) through a policy the function depends on.",
    explanation="Lambda creates the function's network interfaces with its execution role and "
    "refuses CreateFunction without ec2:CreateNetworkInterface and the other actions of "
    "AWSLambdaVPCAccessExecutionRole; CloudFormation may create the function before a policy "
    "it does not depend on.",
    resource_types=frozenset({"AWS::Lambda::Function"}),
    check=check,
)
