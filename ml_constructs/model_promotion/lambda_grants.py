"""What a promotion into a Lambda-hosted model (:class:`LambdaTarget`) needs besides the
common parts: the role's statements on the model function and its CodeDeploy group, their
cdk-nag findings, and the rule that brings CodeDeploy's end of a deployment to the queue.

Permissions, as AWS's service authorization reference and CodeDeploy's "permissions for
CreateDeployment" document them: ``codedeploy:CreateDeployment`` on the deployment group,
``codedeploy:GetDeploymentConfig`` on its deployment config and
``codedeploy:RegisterApplicationRevision``/``GetApplicationRevision`` on the application (a
deployment registers its AppSpec revision); ``GetDeployment``, ``ListDeployments`` and
``BatchGetDeployments`` on the group. Lambda's actions on a version or alias are authorized
against the qualified ARN (``function:name:qualifier``), others against the function's.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ml_constructs.model_promotion.lambda_target import LambdaTarget
from ml_constructs.nag import acknowledge

#: CodeDeploy's EventBridge detail-type and the states that end a deployment.
DEPLOYMENT_STATE_CHANGE = "CodeDeploy Deployment State-change Notification"
DEPLOYMENT_ENDS = ("SUCCESS", "FAILURE", "STOP")
#: On the function ($LATEST) and its versions.
FUNCTION_ACTIONS = (
    "lambda:GetFunctionConfiguration",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:GetAlias",
    "lambda:ListVersionsByFunction",
)
#: On versions only (the qualified ARN): an unqualified DeleteFunction would delete it all.
VERSION_ACTIONS = ("lambda:GetFunctionConfiguration", "lambda:GetAlias", "lambda:DeleteFunction")
GROUP_ACTIONS = (
    "codedeploy:CreateDeployment",
    "codedeploy:GetDeployment",
    "codedeploy:ListDeployments",
    "codedeploy:BatchGetDeployments",
)
APPLICATION_ACTIONS = (
    "codedeploy:RegisterApplicationRevision",
    "codedeploy:GetApplicationRevision",
)


def statements(target: LambdaTarget) -> list[iam.PolicyStatement]:
    """Re-configure and publish the model function, delete its old versions, shift its alias
    through its deployment group."""
    function_arn = target.function.function_arn
    group = target.deployment_group
    return [
        iam.PolicyStatement(
            sid="ConfigureAndPublishTheModelFunction",
            actions=list(FUNCTION_ACTIONS),
            resources=[function_arn],
        ),
        iam.PolicyStatement(
            sid="ReadAndRetireTheModelFunctionsVersions",
            actions=list(VERSION_ACTIONS),
            resources=[f"{function_arn}:*"],
        ),
        iam.PolicyStatement(
            sid="DeployThroughTheModelsDeploymentGroup",
            actions=list(GROUP_ACTIONS),
            resources=[group.deployment_group_arn],
        ),
        iam.PolicyStatement(
            sid="ReadTheGroupsDeploymentConfig",
            actions=["codedeploy:GetDeploymentConfig"],
            resources=[group.deployment_config.deployment_config_arn],
        ),
        iam.PolicyStatement(
            sid="RegisterTheDeploymentsRevision",
            actions=list(APPLICATION_ACTIONS),
            resources=[group.application.application_arn],
        ),
    ]


def acknowledge_versions(policy: IConstruct, target: LambdaTarget) -> None:
    """The one wildcard: the model function's versions (published at run time)."""
    acknowledge(
        policy,
        "AwsSolutions-IAM5",
        "Each promotion publishes a version of the model function and retention deletes old "
        "ones; versions are numbered at run time, so the statement names the function's "
        "qualified ARNs (function:<name>:*), never another function.",
        [f"Resource::{finding_name(target.function, target.function.function_arn)}:*"],
    )


def finding_name(scope: IConstruct, arn: str) -> str:
    """How cdk-nag prints ``arn`` in a finding (``<LogicalId.Arn>`` for a GetAtt)."""
    resolved = Stack.of(scope).resolve(arn)
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        logical, attribute = resolved["Fn::GetAtt"]
        return f"<{logical}.{attribute}>"
    return str(resolved)


def deployment_rule(scope: Construct, prefix: str, target: LambdaTarget) -> events.Rule:
    """CodeDeploy's end of a deployment of this group (succeeded, failed, stopped)."""
    group = target.deployment_group
    return events.Rule(
        scope,
        "DeploymentStateRule",
        description=f"{prefix}: a deployment of the model function's alias ended",
        event_pattern=events.EventPattern(
            source=["aws.codedeploy"],
            detail_type=[DEPLOYMENT_STATE_CHANGE],
            detail={
                "application": [group.application.application_name],
                "deploymentGroup": [group.deployment_group_name],
                "state": list(DEPLOYMENT_ENDS),
            },
        ),
    )
