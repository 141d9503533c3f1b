"""The bucket for datasets, model artifacts and captured data, and its access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.checkov import skip
from ml_constructs.findings import skip_generated_handler
from ml_constructs.nag import acknowledge

REPLICATION = (
    "Cross-region replication is a disaster-recovery choice left to the deployer: artifacts "
    "are versioned and reproducible from training, access logs are records; a replica would "
    "need a bucket and key in another region that this stack does not own."
)

DATASETS_PREFIX = "datasets/"
MODELS_PREFIX = "models/"
DATA_CAPTURE_PREFIX = "data-capture/"
#: Model Monitor: the served model's baseline (``baseline/``) and the jobs' reports.
MONITORING_PREFIX = "monitoring/"
MONITORING_BASELINE_PREFIX = f"{MONITORING_PREFIX}baseline/"
MONITORING_REPORTS_PREFIX = f"{MONITORING_PREFIX}reports/"
#: Labels for model-quality monitoring, in Model Monitor's ground-truth layout.
GROUND_TRUTH_PREFIX = "ground-truth/"
#: Asynchronous inference: request bodies (written by the API), SageMaker's results and
#: failures, and the API's record of each request (where SageMaker will write its result).
ASYNC_PREFIX = "async/"
ASYNC_INPUT_PREFIX = f"{ASYNC_PREFIX}input/"
ASYNC_OUTPUT_PREFIX = f"{ASYNC_PREFIX}output/"
ASYNC_FAILURES_PREFIX = f"{ASYNC_PREFIX}failures/"
ASYNC_REQUESTS_PREFIX = f"{ASYNC_PREFIX}requests/"
PREFIXES = (
    DATASETS_PREFIX,
    MODELS_PREFIX,
    DATA_CAPTURE_PREFIX,
    MONITORING_PREFIX,
    GROUND_TRUTH_PREFIX,
    ASYNC_PREFIX,
)
#: Training jobs started by the launcher: ``<job>/input/{code,sm_drivers}/`` (staged by the
#: SDK, read by the job) and ``<job>/output/model.tar.gz`` (written by SageMaker, promoted).
TRAINING_JOBS_PREFIX = f"{MODELS_PREFIX}training-jobs/"


@dataclass(frozen=True)
class ArtifactStorageProps:
    """Retention is configuration: RETAIN in production, DESTROY only for a sandbox."""

    encryption_key: kms.IKey
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    auto_delete_objects: bool = False
    noncurrent_version_expiration_days: int = 90
    abort_incomplete_upload_days: int = 7
    access_log_retention_days: int = 365
    #: An asynchronous endpoint's requests, records, results and failures (``async/``) expire
    #: after this many days (None: no async objects are expected, no rule).
    async_retention_days: int | None = None

    def __post_init__(self) -> None:
        if self.auto_delete_objects and self.removal_policy != RemovalPolicy.DESTROY:
            raise ValueError("auto_delete_objects requires removal_policy DESTROY")
        for name in (
            "noncurrent_version_expiration_days",
            "abort_incomplete_upload_days",
            "access_log_retention_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 day")
        if self.async_retention_days is not None and self.async_retention_days < 1:
            raise ValueError("async_retention_days must be at least 1 day")


class ArtifactStorage(Construct):
    """SSE-KMS, versioned, TLS-only, private bucket with server access logs and lifecycle."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ArtifactStorageProps) -> None:
        super().__init__(scope, construct_id)
        self.log_bucket = access_log_bucket(
            self,
            "AccessLogs",
            removal_policy=props.removal_policy,
            auto_delete_objects=props.auto_delete_objects,
            retention_days=props.access_log_retention_days,
        )
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=props.encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="artifacts/",
            removal_policy=props.removal_policy,
            auto_delete_objects=props.auto_delete_objects,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(
                        props.noncurrent_version_expiration_days
                    ),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(
                        props.abort_incomplete_upload_days
                    ),
                ),
                *self._async_expiry(props),
            ],
        )
        acknowledge(self.bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", REPLICATION)
        if props.auto_delete_objects:
            skip_generated_handler(
                self,
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                "CDK's generated auto-delete-objects handler (sandbox environments only), invoked "
                "synchronously by CloudFormation at stack deletion: no DLQ, VPC or reserved "
                "concurrency applies.",
            )
        # Native EventBridge notifications (no CDK notification custom resource):
        # the promotion pipeline subscribes to "Object Created" under models/.
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        self.bucket_name = self.bucket.bucket_name
        self.bucket_arn = self.bucket.bucket_arn

    @staticmethod
    def _async_expiry(props: ArtifactStorageProps) -> list[s3.LifecycleRule]:
        if props.async_retention_days is None:
            return []
        return [
            s3.LifecycleRule(
                id="expire-async-requests-and-results",
                prefix=ASYNC_PREFIX,
                expiration=Duration.days(props.async_retention_days),
            )
        ]

    def objects_arn(self, prefix: str) -> str:
        """ARN of every object under ``prefix`` (one of PREFIXES or a folder in one)."""
        return self.bucket.arn_for_objects(f"{_known(prefix)}*")

    def job_inputs_arn(self) -> str:
        """ARN of what the training launcher stages for its jobs (code, SDK drivers)."""
        return self.bucket.arn_for_objects(f"{TRAINING_JOBS_PREFIX}*/input/*")

    def s3_uri(self, prefix: str) -> str:
        """``s3://bucket/prefix`` for SageMaker settings such as the data-capture destination."""
        return self.bucket.s3_url_for_object(_known(prefix))


def access_log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: RemovalPolicy,
    retention_days: int,
    auto_delete_objects: bool = False,
) -> s3.Bucket:
    """A private, TLS-only, versioned bucket for S3 server access logs, kept ``retention_days``.

    S3 server access logging delivers only to SSE-S3 buckets, hence S3_MANAGED here."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=removal_policy,
        auto_delete_objects=auto_delete_objects,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=Duration.days(retention_days),
                noncurrent_version_expiration=Duration.days(1),
            )
        ],
    )
    no_self_logging = "This is the server-access-log target; logging it into itself would loop."
    acknowledge(bucket, "AwsSolutions-S1", no_self_logging)
    skip(bucket, "CKV_AWS_18", no_self_logging)
    acknowledge(
        bucket,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "S3 server access log delivery writes only to buckets encrypted with SSE-S3.",
    )
    acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", REPLICATION)
    return bucket


def _known(prefix: str) -> str:
    """One of PREFIXES, or a folder inside one."""
    if not prefix.endswith("/") or not prefix.startswith(PREFIXES):
        raise ValueError(f"prefix {prefix!r} is not one of {PREFIXES} or a folder in one")
    return prefix
