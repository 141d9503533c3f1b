"""The pipeline's artifact store: a KMS key (rotated) and an SSE-KMS bucket that the target
accounts' deploy roles may read (CDK Pipelines grants them the bucket and the key)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.artifact_storage import REPLICATION, access_log_bucket
from ml_constructs.nag import acknowledge
from ml_constructs.naming import validate_prefix


@dataclass(frozen=True)
class PipelineArtifactsProps:
    """``prefix`` names the key's alias; artifacts are rebuilt by every run, so old versions
    expire after ``noncurrent_version_expiration_days``."""

    prefix: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    noncurrent_version_expiration_days: int = 30
    access_log_retention_days: int = 365

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = [
            f"{name} must be at least 1 day"
            for name in ("noncurrent_version_expiration_days", "access_log_retention_days")
            if getattr(self, name) < 1
        ]
        if problems:
            raise ValueError("; ".join(problems))


class PipelineArtifacts(Construct):
    """``key`` and ``bucket``: what CodePipeline stores between its actions."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: PipelineArtifactsProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{props.prefix}-artifacts",
            description="Encrypts the delivery pipeline's artifacts (read across accounts by "
            "the target accounts' CDK deploy roles).",
            enable_key_rotation=True,
            removal_policy=props.removal_policy,
        )
        self.access_logs = access_log_bucket(
            self,
            "AccessLogs",
            removal_policy=props.removal_policy,
            retention_days=props.access_log_retention_days,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="pipeline-artifacts/",
            removal_policy=props.removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-artifacts",
                    noncurrent_version_expiration=Duration.days(
                        props.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(self.bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", REPLICATION)
