"""A moto account with a Lambda-hosted model as the promotion function sees it: the model
function (version 1 behind the alias ``live``), its CodeDeploy application and deployment group
(a canary config and a rollback alarm), run by the rehearsal's CodeDeploy stand-in
(``rehearsal.moto_gaps.lambda_deployments``). Every request is checked against botocore's
service model (``strict_requests``)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from ml_constructs.model_promotion.runtime import handler
from ml_constructs.model_promotion.runtime.config import PromotionConfig
from ml_constructs.model_promotion.runtime.promotion import Promoter
from rehearsal.moto_gaps import lambda_deployments
from rehearsal.moto_gaps.lambda_deployments import LambdaDeployments
from rehearsal.moto_gaps.service_model import strict_requests
from tests.model_promotion.conftest import BUCKET, INITIAL_URI, PARAMETER, SESSION

FUNCTION = "mlserving-dev-model"
ALIAS = "live"
APPLICATION = "mlserving-dev-model"
GROUP = "mlserving-dev-model-live"
ALARM = "mlserving-dev-model-errors"
CONFIG = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
STACK_VARIABLES = {
    "ENDPOINT_NAME": "mlserving-dev-endpoint",
    "FEATURE_COUNT": "30",
    "MODEL_DATA_URL": INITIAL_URI,
    "MODEL_SHA256": "",
    "CAPTURE_PERCENT": "0",
}


def environment(topic_arn: str, **overrides: str) -> dict[str, str]:
    """What the construct writes for a Lambda target (no endpoint variables)."""
    env = {
        "ENDPOINT_NAME": "mlserving-dev-endpoint",
        "NAME_PREFIX": "mlserving-dev",
        "MIN_AUC": "0.9",
        "REQUIRE_METRICS": "true",
        "MAX_ARTIFACT_BYTES": str(1024 * 1024),
        "FEATURE_COUNT": "30",
        "API_MAX_ROWS": "",
        "API_FEATURE_NAMES": "",
        "KEEP_PREVIOUS": "1",
        "ARTIFACT_PARAMETER": PARAMETER,
        "TOPIC_ARN": topic_arn,
        "METRICS_NAMESPACE": "mlserving/Promotion",
        "ARTIFACT_BUCKET": BUCKET,
        "LAMBDA_FUNCTION_NAME": FUNCTION,
        "LAMBDA_ALIAS_NAME": ALIAS,
        "CODEDEPLOY_APPLICATION": APPLICATION,
        "CODEDEPLOY_DEPLOYMENT_GROUP": GROUP,
    }
    env.update(overrides)
    return env


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class LambdaAccount:
    s3: Any
    ssm: Any
    sns: Any
    sqs: Any
    lambda_: Any
    codedeploy: Any
    cloudwatch: Any
    sagemaker: Any
    inbox_url: str
    topic_arn: str
    journal: LambdaDeployments

    def clients(self) -> dict[str, Any]:
        return {
            "s3": self.s3,
            "sagemaker": self.sagemaker,
            "ssm": self.ssm,
            "sns": self.sns,
            "lambda": self.lambda_,
            "codedeploy": self.codedeploy,
        }

    def promoter(self, **overrides: str) -> Promoter:
        config = PromotionConfig.from_env(environment(self.topic_arn, **overrides))
        return Promoter(config, self.clients())

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The SQS-triggered handler, with this account's clients."""
        handler._promoter = self.promoter()
        event = {"Records": [{"messageId": "m-1", "body": json.dumps(message)}]}
        return handler.lambda_handler(event)

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {
            "version": "0",
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {
                "bucket": {"name": BUCKET},
                "object": {
                    "key": key,
                    "etag": put["ETag"].strip('"'),
                    "version-id": put["VersionId"],
                },
            },
        }

    def alias(self) -> dict[str, Any]:
        alias: dict[str, Any] = self.lambda_.get_alias(FunctionName=FUNCTION, Name=ALIAS)
        return alias

    def variables(self, qualifier: str = "$LATEST") -> dict[str, str]:
        configuration = self.lambda_.get_function_configuration(
            FunctionName=FUNCTION, Qualifier=qualifier
        )
        return dict(configuration["Environment"]["Variables"])

    def recorded_artifact(self) -> str:
        return str(self.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])

    def notifications(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    def finish(self, deployment_id: str) -> dict[str, Any]:
        """Run the deployment's remaining steps; CodeDeploy's state-change event."""
        while not self.journal.advance(deployment_id):
            pass
        (event,) = [e for e in self.journal.events if e["detail"]["deploymentId"] == deployment_id]
        return event

    def set_alarm(self, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="test")


@contextmanager
def lambda_account(step_seconds: float | None = None) -> Iterator[LambdaAccount]:
    """``step_seconds`` None: deployments run step by step (``finish``); 0: at once."""
    with (
        lambda_deployments.INSTALL.applied(
            LambdaDeployments(), step_seconds=step_seconds
        ) as journal,
        mock_aws(),
        strict_requests(),
    ):
        session = SESSION
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ssm = session.client("ssm")
        ssm.put_parameter(Name=PARAMETER, Value=INITIAL_URI, Type="String")
        iam = session.client("iam")
        role = iam.create_role(
            RoleName="model-function",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        lambda_ = session.client("lambda")
        lambda_.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _code()},
            Environment={"Variables": STACK_VARIABLES},
        )
        version = lambda_.publish_version(FunctionName=FUNCTION, Description="the stack's")
        lambda_.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version["Version"])
        cloudwatch = session.client("cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName=ALARM,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        codedeploy = session.client("codedeploy")
        codedeploy.create_application(applicationName=APPLICATION, computePlatform="Lambda")
        codedeploy.create_deployment_group(
            applicationName=APPLICATION,
            deploymentGroupName=GROUP,
            deploymentConfigName=CONFIG,
            serviceRoleArn=role,
            alarmConfiguration={"enabled": True, "alarms": [{"name": ALARM}]},
            autoRollbackConfiguration={
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            },
            deploymentStyle={
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
        )
        sns = session.client("sns")
        topic_arn = sns.create_topic(Name="mlserving-dev-alarms")["TopicArn"]
        sqs = session.client("sqs")
        inbox_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        account = LambdaAccount(
            s3,
            ssm,
            sns,
            sqs,
            lambda_,
            codedeploy,
            cloudwatch,
            session.client("sagemaker"),
            inbox_url,
            topic_arn,
            journal,
        )
        handler.reset()
        yield account
        handler.reset()
