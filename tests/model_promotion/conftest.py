"""A moto account with the serving stack's resources as the promotion function sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_constructs.model_promotion.runtime import handler
from ml_constructs.model_promotion.runtime.config import PromotionConfig
from ml_constructs.model_promotion.runtime.promotion import Promoter
from rehearsal.moto_gaps.endpoint_updates import EndpointUpdates
from tests.model_promotion import moto_sagemaker

REGION = "us-east-1"
BUCKET = "mlserving-dev-artifacts"
ENDPOINT = "mlserving-dev-endpoint"
PARAMETER = "/mlserving/dev/model-data-url"
INITIAL_URI = f"s3://{BUCKET}/models/initial/model.tar.gz"
ROLE_ARN = "arn:aws:iam::123456789012:role/mlserving-dev-sagemaker-execution"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.20-cpu"
MB = 1024 * 1024
# One session for the whole run: its loader caches the service models (SageMaker's is large),
# so each test's clients are cheap. moto intercepts clients created from it at any time.
SESSION = boto3.Session(region_name=REGION)


def environment(topic_arn: str, **overrides: str) -> dict[str, str]:
    env = {
        "ENDPOINT_NAME": ENDPOINT,
        "NAME_PREFIX": "mlserving-dev",
        "PRODUCTION_VARIANT": json.dumps(
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ),
        "IMAGE_URI": IMAGE,
        "EXECUTION_ROLE_ARN": ROLE_ARN,
        "VOLUME_KMS_KEY_ARN": KEY_ARN,
        "DATA_CAPTURE_CONFIG": json.dumps(
            {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": f"s3://{BUCKET}/data-capture/",
                "KmsKeyId": KEY_ARN,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        ),
        "NETWORK_ISOLATION": "true",
        "DEPLOYMENT_POLICY": json.dumps(
            {
                "traffic_shifting": "canary",
                "step_percent": 10,
                "wait_before_shift_s": 300,
                "termination_wait_s": 300,
                "max_execution_timeout_s": 3600,
                "rollback_alarm_names": ["mlserving-dev-endpoint-5xx", "mlserving-dev-p99"],
            }
        ),
        "MIN_AUC": "0.9",
        "REQUIRE_METRICS": "true",
        "MAX_ARTIFACT_BYTES": str(1 * MB),
        "FEATURE_COUNT": "30",
        "API_MAX_ROWS": "100",
        "API_FEATURE_NAMES": "",
        "KEEP_PREVIOUS": "3",
        "STACK_MODEL_NAME": "Model-ABC123",
        "ARTIFACT_PARAMETER": PARAMETER,
        "TOPIC_ARN": topic_arn,
        "METRICS_NAMESPACE": "mlserving/Promotion",
    }
    env.update(overrides)
    return env


@dataclass
class Account:
    """Clients of the mocked account plus helpers the tests share."""

    s3: Any
    sagemaker: Any
    ssm: Any
    sns: Any
    sqs: Any
    inbox_url: str
    topic_arn: str
    updates: EndpointUpdates

    def deployments(self) -> list[dict[str, Any] | None]:
        """The DeploymentConfig of each UpdateEndpoint the endpoint accepted, in order."""
        return self.updates.deployment_configs(ENDPOINT)

    def promoter(self, **overrides: str) -> Promoter:
        config = PromotionConfig.from_env(environment(self.topic_arn, **overrides))
        clients = {"s3": self.s3, "sagemaker": self.sagemaker, "ssm": self.ssm, "sns": self.sns}
        return Promoter(config, clients)

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Put an object; return the EventBridge "Object Created" event S3 would send."""
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {
            "version": "0",
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {
                "bucket": {"name": BUCKET},
                "object": {
                    "key": key,
                    "size": len(data),
                    "etag": put["ETag"].strip('"'),
                    "version-id": put["VersionId"],
                },
                "reason": "PutObject",
            },
        }

    def endpoint(self) -> dict[str, Any]:
        described: dict[str, Any] = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
        return described

    def recorded_artifact(self) -> str:
        return str(self.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])

    def notifications(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a promotion may change: endpoint config, models, configs, parameter."""
        return (
            self.endpoint()["EndpointConfigName"],
            sorted(m["ModelName"] for m in self.sagemaker.list_models()["Models"]),
            sorted(
                c["EndpointConfigName"]
                for c in self.sagemaker.list_endpoint_configs()["EndpointConfigs"]
            ),
            self.recorded_artifact(),
            sorted(
                o["Key"]
                for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="models/releases/").get(
                    "Contents", []
                )
            ),
        )


@pytest.fixture
def account() -> Iterator[Account]:
    with moto_sagemaker.installed() as updates, mock_aws():
        session = SESSION
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key="models/initial/model.tar.gz", Body=b"initial")
        ssm = session.client("ssm")
        ssm.put_parameter(Name=PARAMETER, Value=INITIAL_URI, Type="String")
        sagemaker = session.client("sagemaker")
        # What CloudFormation created: names without the promotion prefix.
        sagemaker.create_model(
            ModelName="Model-ABC123",
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": INITIAL_URI},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="EndpointConfig-ABC123",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "Model-ABC123",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="EndpointConfig-ABC123")
        sns = session.client("sns")
        topic_arn = sns.create_topic(Name="mlserving-dev-alarms")["TopicArn"]
        sqs = session.client("sqs")
        inbox_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        handler.reset()
        yield Account(s3, sagemaker, ssm, sns, sqs, inbox_url, topic_arn, updates)
        handler.reset()
