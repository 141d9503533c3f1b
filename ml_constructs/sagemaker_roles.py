"""Least-privilege roles for SageMaker: one to serve the endpoint, one to train."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.artifact_storage import (
    DATA_CAPTURE_PREFIX,
    DATASETS_PREFIX,
    MODELS_PREFIX,
    TRAINING_JOBS_PREFIX,
    ArtifactStorage,
)
from ml_constructs.encryption_key import grant_key_to_sagemaker_volumes
from ml_constructs.findings import acknowledge_inline_policy
from ml_constructs.nag import acknowledge, nag_logical_id
from ml_constructs.naming import alarms_arn, alarms_nag_arn, role_name, validate_prefix
from ml_constructs.private_network.construct import VPC_ACCESS_REASON, grant_vpc_access

_ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
_SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
_ECR_AUTH_REASON = (
    "ecr:GetAuthorizationToken has no resource-level permissions; ECR requires '*'. "
    "Image pulls themselves are scoped to the framework repository ARN."
)
_PUT_METRIC_REASON = (
    "cloudwatch:PutMetricData has no resource-level permissions; '*' is required and the "
    "statement is limited to SageMaker's namespaces by a cloudwatch:namespace condition."
)


@dataclass(frozen=True)
class SageMakerRolesProps:
    """What the roles may touch: the bucket's prefixes, the key and the image repositories."""

    prefix: str
    storage: ArtifactStorage
    encryption_key: kms.IKey
    serving_image_repository_arn: str
    training_image_repository_arn: str
    #: The VPC the model and training jobs run in (None: no private networking).
    vpc_id: str | None = None

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)


class SageMakerRoles(Construct):
    """``execution_role`` serves the endpoint; ``training_role`` runs training jobs."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SageMakerRolesProps) -> None:
        super().__init__(scope, construct_id)
        logs_arn = (
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker"
        )
        execution = self._execution_role(props, logs_arn)
        training = self._training_role(props, logs_arn)
        # Private networking: the endpoint's model and the training jobs run in the VPC.
        self.in_vpc = props.vpc_id is not None
        if props.vpc_id is not None:
            for role in (execution, training):
                grant_vpc_access(role)

        self.execution_role_arn = execution.role_arn
        self.training_role_arn = training.role_arn

        self._acknowledge(props)

    def _execution_role(self, props: SageMakerRolesProps, logs_arn: str) -> iam.Role:
        """Serves the endpoint: reads models/, writes data-capture/, reads rollback alarms."""
        self.execution_role = iam.Role(
            self,
            "Execution",
            role_name=role_name(props.prefix, "sagemaker-execution"),
            assumed_by=_SAGEMAKER,
            description="Serves the endpoint: reads models/, writes data-capture/.",
        )
        execution = self.execution_role
        execution.add_to_policy(
            iam.PolicyStatement(
                sid="ReadModelArtifacts",
                actions=["s3:GetObject"],
                resources=[props.storage.objects_arn(MODELS_PREFIX)],
            )
        )
        execution.add_to_policy(
            iam.PolicyStatement(
                sid="WriteCapturedData",
                actions=["s3:PutObject"],
                resources=[props.storage.objects_arn(DATA_CAPTURE_PREFIX)],
            )
        )
        props.encryption_key.grant_encrypt_decrypt(execution)
        grant_key_to_sagemaker_volumes(execution, props.encryption_key, "GrantTheKeyToVolumes")
        # Deployment guardrails read the auto-rollback alarms with the model's execution role
        # (SageMaker: "Auto-Rollback Configuration and Monitoring"); this environment's only.
        execution.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[alarms_arn(props.prefix)],
            )
        )
        self._grant_image_pull(execution, props.serving_image_repository_arn)
        self._grant_logs_and_metrics(
            execution, f"{logs_arn}/Endpoints/*", "/aws/sagemaker/Endpoints"
        )

        return execution

    def _training_role(self, props: SageMakerRolesProps, logs_arn: str) -> iam.Role:
        """Runs training jobs: reads datasets/ and its staged code, writes models/."""
        bucket = props.storage.bucket
        self.training_role = iam.Role(
            self,
            "Training",
            role_name=role_name(props.prefix, "sagemaker-training"),
            assumed_by=_SAGEMAKER,
            description="Runs training jobs: reads datasets/ and its staged code, writes models/.",
        )
        training = self.training_role
        training.add_to_policy(
            iam.PolicyStatement(
                sid="ListTrainingPrefixes",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*", f"{MODELS_PREFIX}*"]}
                },
            )
        )
        training.add_to_policy(
            iam.PolicyStatement(
                sid="ReadDatasetsAndStagedCode",
                actions=["s3:GetObject"],
                # The launcher's SDK stages the job's code as input channels next to its output.
                resources=[
                    props.storage.objects_arn(DATASETS_PREFIX),
                    props.storage.job_inputs_arn(),
                ],
            )
        )
        training.add_to_policy(
            iam.PolicyStatement(
                sid="WriteModels",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[props.storage.objects_arn(MODELS_PREFIX)],
            )
        )
        props.encryption_key.grant_encrypt_decrypt(training)
        grant_key_to_sagemaker_volumes(training, props.encryption_key, "GrantTheKeyToVolumes")
        self._grant_image_pull(training, props.training_image_repository_arn)
        self._grant_logs_and_metrics(
            training, f"{logs_arn}/TrainingJobs:*", "/aws/sagemaker/TrainingJobs"
        )
        return training

    def _acknowledge(self, props: SageMakerRolesProps) -> None:
        """Each wildcard of the two roles, with its reason."""
        execution, training = self.execution_role, self.training_role
        acknowledge_inline_policy(execution)
        acknowledge_inline_policy(training)
        bucket_id = nag_logical_id(props.storage.bucket)
        self._acknowledge_wildcards(
            execution,
            objects=[f"<{bucket_id}.Arn>/{p}*" for p in (MODELS_PREFIX, DATA_CAPTURE_PREFIX)],
            log_group="/aws/sagemaker/Endpoints/*",
            in_vpc=self.in_vpc,
        )
        acknowledge(
            execution.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "The auto-rollback alarms are named <prefix>-<alarm> and live in the serving stack; "
            "DescribeAlarms is limited to this environment's alarms.",
            [f"Resource::{alarms_nag_arn(props.prefix)}"],
        )
        self._acknowledge_wildcards(
            training,
            objects=[
                *(f"<{bucket_id}.Arn>/{p}*" for p in (DATASETS_PREFIX, MODELS_PREFIX)),
                f"<{bucket_id}.Arn>/{TRAINING_JOBS_PREFIX}*/input/*",
            ],
            log_group="/aws/sagemaker/TrainingJobs:*",
            in_vpc=self.in_vpc,
        )

    @staticmethod
    def _grant_image_pull(role: iam.Role, repository_arn: str) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PullFrameworkImage", actions=_ECR_PULL, resources=[repository_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EcrAuthorization", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )

    @staticmethod
    def _grant_logs_and_metrics(role: iam.Role, log_group_arn: str, namespace: str) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_group_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishSageMakerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": [namespace, "AWS/SageMaker"]}},
            )
        )

    @staticmethod
    def _acknowledge_wildcards(
        role: iam.Role, *, objects: list[str], log_group: str, in_vpc: bool
    ) -> None:
        """Each remaining wildcard, acknowledged on this role's policy with its reason."""
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Objects under one prefix of the artifact bucket: SageMaker reads and writes "
            "object keys it chooses (artifact, captured data) below that prefix.",
            [f"Resource::{arn}" for arn in objects],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "SageMaker names the log streams per job or endpoint instance at run time; the "
            "statement is limited to SageMaker's own log group for this role's purpose.",
            [
                f"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{log_group}"
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            _ECR_AUTH_REASON
            + " "
            + _PUT_METRIC_REASON
            + (" " + VPC_ACCESS_REASON if in_vpc else ""),
            ["Resource::*"],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "KMS data-key and re-encrypt families, on this app's key only: S3 SSE-KMS and "
            "SageMaker's volume encryption call several of them.",
            ["Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*"],
        )
