"""The CodeDeploy stand-in (rehearsal/moto_gaps/lambda_deployments.py, shims/codedeploy.py):
what the rehearsal's CloudFormation creates from a Lambda-hosted model's template, how a
deployment checks its AppSpec, shifts the alias through the group's config, rolls back on an
alarm and reports its end to EventBridge, as CodeDeploy documents it."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from rehearsal import moto_gaps
from rehearsal.moto_gaps import lambda_deployments
from rehearsal.moto_gaps.lambda_deployments import (
    LambdaDeployments,
    parse_appspec,
    shares,
    traffic_routing,
)

REGION = "us-east-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def revision(current: str, target: str, **changes: Any) -> dict[str, Any]:
    properties = {
        "Name": "model",
        "Alias": "live",
        "CurrentVersion": current,
        "TargetVersion": target,
    }
    resource = {"Type": "AWS::Lambda::Function", "Properties": properties, **changes}
    content = json.dumps({"version": 0.0, "Resources": [{"model": resource}]})
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {
            "content": content,
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    }


def test_predefined_configs_shift_as_codedeploy_documents() -> None:
    assert shares("CodeDeployDefault.LambdaAllAtOnce") == [100]
    assert shares("CodeDeployDefault.LambdaCanary10Percent5Minutes") == [10, 100]
    assert shares("CodeDeployDefault.LambdaLinear10PercentEvery1Minute") == [
        10,
        20,
        30,
        40,
        50,
        60,
        70,
        80,
        90,
        100,
    ]
    assert traffic_routing("CodeDeployDefault.LambdaCanary10Percent30Minutes") == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 30},
    }
    with pytest.raises(Exception, match="No deployment configuration"):
        shares("CodeDeployDefault.OneAtATime")  # an EC2 config: not a Lambda deployment's


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"revisionType": "S3"}, "AppSpecContent"),
        ({**revision("1", "2"), "appSpecContent": {"content": "{}", "sha256": "0" * 64}}, "sha256"),
        (revision("1", "2", Type="AWS::ECS::Service"), "AWS::Lambda::Function"),
        (revision("1", "2", Properties={"Name": "model"}), "Alias, CurrentVersion, TargetVersion"),
    ],
)
def test_an_appspec_codedeploy_would_refuse_is_refused(
    broken: dict[str, Any], message: str
) -> None:
    with pytest.raises(Exception, match=message):
        parse_appspec(broken)


@pytest.fixture
def local() -> Iterator[tuple[Any, Any, LambdaDeployments]]:
    """moto in process with the stand-in; deployments advance by hand."""
    with (
        lambda_deployments.INSTALL.applied(LambdaDeployments(), step_seconds=None) as journal,
        mock_aws(),
    ):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lambda_ = boto3.client("lambda", region_name=REGION)
        lambda_.create_function(
            FunctionName="model",
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
        lambda_.publish_version(FunctionName="model")
        lambda_.create_alias(FunctionName="model", Name="live", FunctionVersion="1")
        lambda_.update_function_configuration(
            FunctionName="model", Environment={"Variables": {"AB": "2"}}
        )
        lambda_.publish_version(FunctionName="model")
        codedeploy = boto3.client("codedeploy", region_name=REGION)
        codedeploy.create_application(applicationName="app", computePlatform="Lambda")
        codedeploy.create_deployment_group(
            applicationName="app",
            deploymentGroupName="group",
            deploymentConfigName="CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
            serviceRoleArn=role,
        )
        yield lambda_, codedeploy, journal


def test_linear_steps_move_the_alias_weight_by_weight(
    local: tuple[Any, Any, LambdaDeployments],
) -> None:
    lambda_, codedeploy, journal = local
    deployment = codedeploy.create_deployment(
        applicationName="app", deploymentGroupName="group", revision=revision("1", "2")
    )["deploymentId"]
    weights = [lambda_.get_alias(FunctionName="model", Name="live")["RoutingConfig"]]
    with pytest.raises(ClientError, match="already has an active Deployment"):
        codedeploy.create_deployment(
            applicationName="app", deploymentGroupName="group", revision=revision("1", "2")
        )
    while not journal.advance(deployment):
        alias = lambda_.get_alias(FunctionName="model", Name="live")
        weights.append(alias.get("RoutingConfig"))
    assert [w["AdditionalVersionWeights"]["2"] for w in weights] == [
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
    ]
    alias = lambda_.get_alias(FunctionName="model", Name="live")
    assert alias["FunctionVersion"] == "2" and not alias.get("RoutingConfig")
    info = codedeploy.get_deployment(deploymentId=deployment)["deploymentInfo"]
    assert info["status"] == "Succeeded"
    (event,) = journal.events
    assert event["detail-type"] == "CodeDeploy Deployment State-change Notification"
    assert event["detail"]["state"] == "SUCCESS"
    assert set(event["detail"]) == {
        "region",
        "deploymentId",
        "instanceGroupId",
        "deploymentGroup",
        "state",
        "application",
    }
    config = codedeploy.get_deployment_config(
        deploymentConfigName="CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    )["deploymentConfigInfo"]
    assert config["computePlatform"] == "Lambda"
    assert config["trafficRoutingConfig"]["timeBasedLinear"] == {
        "linearPercentage": 10,
        "linearInterval": 1,
    }


def test_an_appspec_whose_current_version_is_not_the_alias_is_refused(
    local: tuple[Any, Any, LambdaDeployments],
) -> None:
    _, codedeploy, journal = local
    with pytest.raises(ClientError, match="CurrentVersion 2 is not the version alias live serves"):
        codedeploy.create_deployment(
            applicationName="app", deploymentGroupName="group", revision=revision("2", "1")
        )
    assert journal.deployments == []


def test_lambdas_revision_guards_refuse_a_stale_revision(
    local: tuple[Any, Any, LambdaDeployments],
) -> None:
    lambda_, _, _ = local
    stale = lambda_.get_function_configuration(FunctionName="model")
    lambda_.update_function_configuration(
        FunctionName="model", Environment={"Variables": {"AB": "3"}}
    )
    with pytest.raises(ClientError, match="PreconditionFailedException"):
        lambda_.update_function_configuration(
            FunctionName="model", Environment={"Variables": {}}, RevisionId=stale["RevisionId"]
        )
    with pytest.raises(ClientError, match="PreconditionFailedException"):
        lambda_.publish_version(FunctionName="model", RevisionId=stale["RevisionId"])
    current = lambda_.get_function_configuration(FunctionName="model")
    published = lambda_.publish_version(
        FunctionName="model", RevisionId=current["RevisionId"], CodeSha256=current["CodeSha256"]
    )
    assert published["Version"] == "3"


TEMPLATE = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "model-role",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17"},
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "cfn-model",
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"},
            },
        },
        "Version": {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "Function"}},
        },
        "Alias": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]},
                "Name": "live",
            },
        },
        "Application": {
            "Type": "AWS::CodeDeploy::Application",
            "Properties": {"ApplicationName": "cfn-app", "ComputePlatform": "Lambda"},
        },
        "Group": {
            "Type": "AWS::CodeDeploy::DeploymentGroup",
            "Properties": {
                "ApplicationName": {"Ref": "Application"},
                "DeploymentGroupName": "cfn-group",
                "ServiceRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DeploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
                "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": "cfn-errors"}]},
                "AutoRollbackConfiguration": {
                    "Enabled": True,
                    "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
                },
                "DeploymentStyle": {
                    "DeploymentType": "BLUE_GREEN",
                    "DeploymentOption": "WITH_TRAFFIC_CONTROL",
                },
            },
        },
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "cfn-errors",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        },
        "Inbox": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "deployments"}},
        "Ended": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {
                    "source": ["aws.codedeploy"],
                    "detail-type": ["CodeDeploy Deployment State-change Notification"],
                    "detail": {"application": ["cfn-app"], "deploymentGroup": ["cfn-group"]},
                },
                "Targets": [{"Id": "inbox", "Arn": {"Fn::GetAtt": ["Inbox", "Arn"]}}],
            },
        },
    }
}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    journal = moto_gaps.install()
    assert journal.lambda_deployments is not None
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    moto_gaps.uninstall()


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)


def _deployment_events(url: str, timeout_s: float = 20) -> list[dict[str, Any]]:
    sqs = _client("sqs", url)
    queue = sqs.get_queue_url(QueueName="deployments")["QueueUrl"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            for message in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return [json.loads(m["Body"]) for m in messages]
        time.sleep(0.2)
    raise AssertionError("no CodeDeploy event reached the queue")


def test_the_template_creates_the_group_and_a_deployment_reports_through_eventbridge(
    moto_url: str,
) -> None:
    """The rehearsal's CloudFormation creates CodeDeploy's resources; a canary deployment
    shifts the alias a step a second and CodeDeploy's event reaches the rule's queue; with the
    group's alarm in ALARM the next one rolls back."""
    _client("cloudformation", moto_url).create_stack(
        StackName="lambda-model", TemplateBody=json.dumps(TEMPLATE)
    )
    codedeploy, lambda_ = _client("codedeploy", moto_url), _client("lambda", moto_url)
    group = codedeploy.get_deployment_group(
        applicationName="cfn-app", deploymentGroupName="cfn-group"
    )["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    lambda_.update_function_configuration(
        FunctionName="cfn-model", Environment={"Variables": {"MODEL_DATA_URL": "s3://b/k"}}
    )
    target = lambda_.publish_version(FunctionName="cfn-model")["Version"]
    current = lambda_.get_alias(FunctionName="cfn-model", Name="live")["FunctionVersion"]

    def deploy() -> str:
        document = json.dumps(
            {
                "version": 0.0,
                "Resources": [
                    {
                        "model": {
                            "Type": "AWS::Lambda::Function",
                            "Properties": {
                                "Name": "cfn-model",
                                "Alias": "live",
                                "CurrentVersion": current,
                                "TargetVersion": target,
                            },
                        }
                    }
                ],
            }
        )
        return str(
            codedeploy.create_deployment(
                applicationName="cfn-app",
                deploymentGroupName="cfn-group",
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": document},
                },
            )["deploymentId"]
        )

    _client("cloudwatch", moto_url).set_alarm_state(
        AlarmName="cfn-errors", StateValue="ALARM", StateReason="test"
    )
    failed = deploy()
    (event,) = _deployment_events(moto_url)
    assert (event["detail"]["deploymentId"], event["detail"]["state"]) == (failed, "FAILURE")
    assert lambda_.get_alias(FunctionName="cfn-model", Name="live")["FunctionVersion"] == current
    info = codedeploy.get_deployment(deploymentId=failed)["deploymentInfo"]
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"

    _client("cloudwatch", moto_url).set_alarm_state(
        AlarmName="cfn-errors", StateValue="OK", StateReason="test"
    )
    succeeded = deploy()
    (event,) = _deployment_events(moto_url)
    assert (event["detail"]["deploymentId"], event["detail"]["state"]) == (succeeded, "SUCCESS")
    assert event["source"] == "aws.codedeploy"
    assert lambda_.get_alias(FunctionName="cfn-model", Name="live")["FunctionVersion"] == target


def _cdk_scaffold() -> dict[str, Any]:
    """The CDK-synthesized function, version, alias, alarm, CodeDeploy application and group
    (as the Lambda-model construct will declare them), and the promotion's settling rule
    pointed at a plain queue."""
    from tests.model_promotion.test_lambda_promotion_template import synthesized

    template = synthesized()
    kept = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith("AWS::CodeDeploy::")
        or resource["Type"] in {"AWS::Lambda::Alias", "AWS::Lambda::Version"}
        or name.startswith(("ModelFunction", "DeploymentsServiceRole", "Errors"))
    }
    (rule,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"]["EventPattern"]["source"] == ["aws.codedeploy"]
    ]
    kept["Inbox"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "promotion-inbox"}}
    kept["Settle"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": rule["Properties"]["EventPattern"],
            "Targets": [{"Id": "inbox", "Arn": {"Fn::GetAtt": ["Inbox", "Arn"]}}],
        },
    }
    return {"Resources": kept}


def test_a_promotion_into_the_cdk_declared_model_function_settles_through_eventbridge(
    moto_url: str,
) -> None:
    """The rehearsal's CloudFormation creates what CDK declares for a Lambda-hosted model
    (CodeDeploy's application and group, the alias, the version); the promotion runtime
    deploys into it; the stand-in shifts the alias a step a second; the promotion's own rule
    pattern brings CodeDeploy's SUCCESS to the queue; settling it writes the parameter."""
    from ml_constructs.model_promotion.runtime import handler
    from ml_constructs.model_promotion.runtime.config import PromotionConfig
    from ml_constructs.model_promotion.runtime.promotion import Promoter
    from tests.model_promotion.lambda_account import environment
    from tests.model_promotion.test_lambda_promotion import onnx_artifact

    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="cdk-lambda-model", TemplateBody=json.dumps(_cdk_scaffold()))
    outputs = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for r in cfn.describe_stack_resources(StackName="cdk-lambda-model")["StackResources"]
    }
    (application,) = [v for k, v in outputs.items() if k.startswith("DeploymentsApplication")]
    group = outputs["Deployments7DB91225"]
    s3, ssm = _client("s3", moto_url), _client("ssm", moto_url)
    s3.create_bucket(Bucket="cdk-artifacts")
    s3.put_bucket_versioning(Bucket="cdk-artifacts", VersioningConfiguration={"Status": "Enabled"})
    ssm.put_parameter(
        Name="/cdk/model", Value="s3://bucket/models/initial/model.tar.gz", Type="String"
    )
    env = environment(
        "",
        ARTIFACT_PARAMETER="/cdk/model",
        ARTIFACT_BUCKET="cdk-artifacts",
        LAMBDA_FUNCTION_NAME="lambdamodel-dev-model",
        CODEDEPLOY_APPLICATION=application,
        CODEDEPLOY_DEPLOYMENT_GROUP=group,
    )
    clients = {
        name: _client(name, moto_url)
        for name in ("s3", "sagemaker", "ssm", "sns", "lambda", "codedeploy")
    }
    promoter = Promoter(PromotionConfig.from_env(env), clients)
    put = s3.put_object(Bucket="cdk-artifacts", Key="models/run/model.tar.gz", Body=onnx_artifact())
    upload = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": "cdk-artifacts"},
            "object": {"key": "models/run/model.tar.gz", "version-id": put["VersionId"]},
        },
    }
    (outcome,) = handler.process_message(promoter, json.dumps(upload))
    assert outcome.status == "submitted", outcome.as_dict()
    sqs = _client("sqs", moto_url)
    queue = sqs.get_queue_url(QueueName="promotion-inbox")["QueueUrl"]
    deadline = time.monotonic() + 20
    messages: list[dict[str, Any]] = []
    while not messages:
        assert time.monotonic() < deadline, "CodeDeploy's event never reached the queue"
        messages = sqs.receive_message(QueueUrl=queue).get("Messages", [])
        time.sleep(0.2)
    (settled,) = handler.process_message(promoter, messages[0]["Body"])
    assert settled.status == "recorded", settled.as_dict()
    assert ssm.get_parameter(Name="/cdk/model")["Parameter"]["Value"] == outcome.details["artifact"]
    alias = clients["lambda"].get_alias(FunctionName="lambdamodel-dev-model", Name="live")
    assert alias["FunctionVersion"] == outcome.details["function_version"]
