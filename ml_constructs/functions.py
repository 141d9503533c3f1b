"""What every Lambda function of this app needs beyond the L2's defaults."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_


def depend_on_role_policy_only(function: lambda_.Function, role: iam.Role) -> None:
    """The L2 adds ``DependsOn [policy, role]``; the role is already implied by its GetAtt
    (cfn-lint W3005), so keep only the policy: the function must not run before it may log
    and call what it needs."""
    policy = role.node.try_find_child("DefaultPolicy")
    cfn_function = function.node.default_child
    if policy is None or not isinstance(cfn_function, CfnResource):
        return
    resource = policy.node.default_child
    assert isinstance(resource, CfnResource)
    cfn_function.add_override("DependsOn", [Stack.of(function).get_logical_id(resource)])
