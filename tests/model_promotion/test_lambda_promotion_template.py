"""The promotion construct for a Lambda-hosted model, synthesized in a small stack that builds
a bare function, its alias ``live`` and a CodeDeploy LambdaDeploymentGroup itself: the
environment is the runtime's Lambda config, the role may touch only that function, its
versions and its deployment group (no SageMaker endpoint actions), the settling rule is
CodeDeploy's for that group, and cdk-nag (every pack build_app runs) finds nothing
unacknowledged in the promotion."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from app_factory import feature_flags
from ml_constructs.encryption_key import EncryptionKey, EncryptionKeyProps
from ml_constructs.model_promotion.construct import ModelPromotion, ModelPromotionProps
from ml_constructs.model_promotion.lambda_grants import DEPLOYMENT_STATE_CHANGE
from ml_constructs.model_promotion.lambda_target import LambdaTarget
from ml_constructs.model_promotion.runtime.config import ENDPOINT_VARIABLES, PromotionConfig
from ml_constructs.nag import acknowledge
from ml_constructs.preconditions.pack import DeployPreconditionChecks

PREFIX = "lambdamodel-dev"
PARAMETER = "/lambdamodel/dev/model-data-url"


def _scaffold(stack: Stack) -> LambdaTarget:
    """What the Lambda-model construct will build: function, alias, deployment group."""
    function = lambda_.Function(
        stack,
        "ModelFunction",
        function_name=f"{PREFIX}-model",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        environment={"MODEL_DATA_URL": "s3://bucket/models/initial/model.tar.gz"},
    )
    alias = lambda_.Alias(stack, "Live", alias_name="live", version=function.current_version)
    errors = cloudwatch.Alarm(
        stack,
        "Errors",
        metric=alias.metric_errors(),
        threshold=1,
        evaluation_periods=1,
    )
    group = codedeploy.LambdaDeploymentGroup(
        stack,
        "Deployments",
        alias=alias,
        deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
        alarms=[errors],
    )
    for scaffold in (function, alias, errors, group):  # not under test: the construct is
        acknowledge(
            scaffold,
            "AwsSolutions-IAM4",
            "test scaffold: the Lambda-model construct's own",
            [
                f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}"
                for policy in ("AWSLambdaBasicExecutionRole", "AWSCodeDeployRoleForLambdaLimited")
            ],
        )
        for rule in ("AwsSolutions-IAM5", "AwsSolutions-L1"):
            acknowledge(scaffold, rule, "test scaffold: the Lambda-model construct's own")
        for rule in (
            "NIST.800.53.R5-LambdaConcurrency",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaInsideVPC",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "NIST.800.53.R5-CloudWatchAlarmAction",
            "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
            "NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod",
        ):
            acknowledge(scaffold, rule, "test scaffold: the Lambda-model construct's own")
    return LambdaTarget(function, alias, group, endpoint_name=f"{PREFIX}-endpoint")


@functools.cache
def synthesized() -> dict[str, Any]:
    app = App(context=feature_flags())
    stack = Stack(app, "LambdaPromotion", env={"account": "123456789012", "region": "eu-west-1"})
    key = EncryptionKey(stack, "Key", props=EncryptionKeyProps(prefix=PREFIX)).key
    bucket = s3.Bucket(
        stack,
        "Artifacts",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    )
    acknowledge(bucket, "AwsSolutions-S1", "test scaffold")
    for rule in (
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
    ):
        acknowledge(bucket, rule, "test scaffold")
    topic = sns.Topic(stack, "Alarms", master_key=key)
    target = _scaffold(stack)
    ModelPromotion(
        stack,
        "Promotion",
        props=ModelPromotionProps(
            prefix=PREFIX,
            lambda_target=target,
            bucket=bucket,
            encryption_key=key,
            artifact_parameter=PARAMETER,
            feature_count=30,
            alarm_topic=topic,
        ),
    )
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), NIST80053R5Checks(app), DeployPreconditionChecks(app)
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("LambdaPromotion").template
    return template


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in synthesized()["Resources"].items() if r["Type"] == kind}


def promotion_function() -> dict[str, Any]:
    (found,) = [
        p
        for p in resources("AWS::Lambda::Function").values()
        if p.get("FunctionName") == f"{PREFIX}-model-promotion"
    ]
    return found


def statements() -> dict[str, dict[str, Any]]:
    role = promotion_function()["Role"]["Fn::GetAtt"][0]
    (policy,) = [p for p in resources("AWS::IAM::Policy").values() if p["Roles"] == [{"Ref": role}]]
    return {s.get("Sid", ""): s for s in policy["PolicyDocument"]["Statement"]}


def logical_id(kind: str, name_contains: str) -> str:
    (found,) = [
        k for k, r in synthesized()["Resources"].items() if r["Type"] == kind and name_contains in k
    ]
    return found


def test_the_environment_is_the_runtimes_lambda_config() -> None:
    variables = promotion_function()["Environment"]["Variables"]
    assert not set(variables) & set(ENDPOINT_VARIABLES)
    function = logical_id("AWS::Lambda::Function", "ModelFunction")
    assert variables["LAMBDA_FUNCTION_NAME"] == {"Ref": function}
    assert variables["LAMBDA_ALIAS_NAME"] == "live"
    assert variables["CODEDEPLOY_APPLICATION"] == {
        "Ref": logical_id("AWS::CodeDeploy::Application", "Deployments")
    }
    assert variables["CODEDEPLOY_DEPLOYMENT_GROUP"] == {
        "Ref": logical_id("AWS::CodeDeploy::DeploymentGroup", "Deployments")
    }
    assert variables["ENDPOINT_NAME"] == f"{PREFIX}-endpoint"
    plain = {k: v if isinstance(v, str) else f"token-{k}" for k, v in variables.items()}
    config = PromotionConfig.from_env(plain)
    assert config.lambda_target is not None and set(config.to_env()) == set(variables)


def test_the_role_touches_only_the_function_its_versions_and_its_group() -> None:
    found = statements()
    function = logical_id("AWS::Lambda::Function", "ModelFunction")
    arn = {"Fn::GetAtt": [function, "Arn"]}
    assert found["ConfigureAndPublishTheModelFunction"]["Resource"] == arn
    assert sorted(found["ConfigureAndPublishTheModelFunction"]["Action"]) == [
        "lambda:GetAlias",
        "lambda:GetFunctionConfiguration",
        "lambda:ListVersionsByFunction",
        "lambda:PublishVersion",
        "lambda:UpdateFunctionConfiguration",
    ]
    versions = found["ReadAndRetireTheModelFunctionsVersions"]
    assert versions["Resource"] == {"Fn::Join": ["", [arn, ":*"]]}
    assert "lambda:DeleteFunction" in versions["Action"]  # never on the unqualified ARN
    group = found["DeployThroughTheModelsDeploymentGroup"]
    assert sorted(group["Action"]) == [
        "codedeploy:BatchGetDeployments",
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeployment",
        "codedeploy:ListDeployments",
    ]
    assert "deploymentgroup:" in str(group["Resource"])
    config = found["ReadTheGroupsDeploymentConfig"]
    assert config["Action"] == "codedeploy:GetDeploymentConfig"
    assert "deploymentconfig:CodeDeployDefault.LambdaCanary10Percent5Minutes" in str(
        config["Resource"]
    )
    application = found["RegisterTheDeploymentsRevision"]
    assert sorted(application["Action"]) == [
        "codedeploy:GetApplicationRevision",
        "codedeploy:RegisterApplicationRevision",
    ]
    assert ":application:" in str(application["Resource"])


def test_no_sagemaker_endpoint_permissions() -> None:
    actions = [
        action
        for statement in statements().values()
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    ]
    assert not [a for a in actions if a.startswith("sagemaker:")]
    assert "kms:CreateGrant" not in actions and "iam:PassRole" not in actions


def test_codedeploys_end_of_a_deployment_of_this_group_settles() -> None:
    (rule,) = [
        r
        for r in resources("AWS::Events::Rule").values()
        if r["EventPattern"]["source"] == ["aws.codedeploy"]
    ]
    assert rule["EventPattern"]["detail-type"] == [DEPLOYMENT_STATE_CHANGE]
    detail = rule["EventPattern"]["detail"]
    assert detail["state"] == ["SUCCESS", "FAILURE", "STOP"]
    assert detail["application"] == [
        {"Ref": logical_id("AWS::CodeDeploy::Application", "Deployments")}
    ]
    assert detail["deploymentGroup"] == [
        {"Ref": logical_id("AWS::CodeDeploy::DeploymentGroup", "Deployments")}
    ]
    sources = [r["EventPattern"]["source"] for r in resources("AWS::Events::Rule").values()]
    assert ["aws.sagemaker"] not in sources


def test_exactly_one_target_is_required_and_named() -> None:
    app = App()
    stack = Stack(app, "S")
    key = kms.Key(stack, "K")
    common: dict[str, Any] = {
        "prefix": PREFIX,
        "bucket": s3.Bucket(stack, "B"),
        "encryption_key": key,
        "artifact_parameter": PARAMETER,
        "feature_count": 30,
        "alarm_topic": sns.Topic(stack, "T"),
    }
    with pytest.raises(ValueError, match="endpoint, lambda_target: exactly one"):
        ModelPromotionProps(**common)
    with pytest.raises(ValueError, match="framework 'mxnet' is not one of tensorflow, pytorch"):
        ModelPromotionProps(framework="mxnet", **common)
