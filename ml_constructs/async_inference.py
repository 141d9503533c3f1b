"""What an asynchronous endpoint needs around it: the SNS topics SageMaker notifies when a
request succeeds or fails (KMS-encrypted, TLS-only publishing), and the execution role's access
to the request, result and failure prefixes and to the topics.

The grants are a policy of the serving stack attached to the data stack's execution role (the
role's stack never depends on this one); the endpoint config depends on it, so SageMaker may
read the first request once the endpoint exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.artifact_storage import (
    ASYNC_FAILURES_PREFIX,
    ASYNC_INPUT_PREFIX,
    ASYNC_OUTPUT_PREFIX,
    ArtifactStorage,
)
from ml_constructs.findings import INLINE_POLICY
from ml_constructs.nag import acknowledge, bucket_arn_in
from ml_constructs.naming import validate_prefix
from serving_core.variants import AsyncOutput


@dataclass(frozen=True)
class AsyncNotificationsProps:
    """The bucket and key of the environment, and the role that serves."""

    prefix: str
    storage: ArtifactStorage
    encryption_key: kms.IKey
    execution_role: iam.IRole

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)


class AsyncNotifications(Construct):
    """Success and error topics, and the execution role's least-privilege async grants.

    ``output`` is where the endpoint writes and whom it notifies; ``role_policy`` the policy
    the endpoint config must depend on.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, props: AsyncNotificationsProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.success_topic = self._topic("SuccessTopic", f"{props.prefix}-async-success", props)
        self.error_topic = self._topic("ErrorTopic", f"{props.prefix}-async-error", props)
        storage = props.storage
        bucket_arn, bucket_ref = bucket_arn_in(self, storage.bucket)
        self.role_policy = iam.Policy(
            self,
            "ExecutionRoleAsync",
            roles=[props.execution_role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadAsyncRequests",
                    actions=["s3:GetObject"],
                    resources=[f"{bucket_arn}/{ASYNC_INPUT_PREFIX}*"],
                ),
                iam.PolicyStatement(
                    sid="WriteAsyncResults",
                    actions=["s3:PutObject"],
                    resources=[
                        f"{bucket_arn}/{ASYNC_OUTPUT_PREFIX}*",
                        f"{bucket_arn}/{ASYNC_FAILURES_PREFIX}*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="NotifyAsyncOutcomes",
                    actions=["sns:Publish"],
                    resources=[self.success_topic.topic_arn, self.error_topic.topic_arn],
                ),
            ],
        )
        acknowledge(self.role_policy, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        acknowledge(
            self.role_policy,
            "AwsSolutions-IAM5",
            "Each asynchronous request has its own object, named per request (the API's id for "
            "inputs, SageMaker's for results and failures): the statements are scoped to the "
            "async prefixes.",
            [
                f"Resource::{bucket_ref}/{prefix}*"
                for prefix in (ASYNC_INPUT_PREFIX, ASYNC_OUTPUT_PREFIX, ASYNC_FAILURES_PREFIX)
            ],
        )
        # The execution role already uses the key (encrypt/decrypt, data keys): S3 objects and
        # the encrypted topics need nothing more.
        self.output = AsyncOutput(
            output_uri=storage.s3_uri(ASYNC_OUTPUT_PREFIX),
            failure_uri=storage.s3_uri(ASYNC_FAILURES_PREFIX),
            key_arn=props.encryption_key.key_arn,
            success_topic=self.success_topic.topic_arn,
            error_topic=self.error_topic.topic_arn,
        )

    def _topic(self, construct_id: str, name: str, props: AsyncNotificationsProps) -> sns.Topic:
        # enforce_ssl: the topic policy denies sns:Publish without aws:SecureTransport.
        return sns.Topic(
            self,
            construct_id,
            topic_name=name,
            display_name=name,
            master_key=props.encryption_key,
            enforce_ssl=True,
        )
