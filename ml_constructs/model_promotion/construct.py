"""Promotion on upload: S3 "Object Created" under models/ -> EventBridge -> SQS (KMS, DLQ)
-> one Lambda at a time that validates the artifact and runs a guarded blue/green
UpdateEndpoint. The function's code is ``runtime/`` next to this file.

The function gets the stack's endpoint settings as environment variables (it cannot
import this package: no aws_cdk at run time), so a promoted model runs with the same
variant, image, role, volume key and data capture as the model in the template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from ml_constructs.artifact_storage import MODELS_PREFIX
from ml_constructs.bundling import function_code, handler
from ml_constructs.event_targets import ArnTarget
from ml_constructs.findings import (
    acknowledge_encrypted_sends,
    acknowledge_function,
    acknowledge_inline_policy,
)
from ml_constructs.functions import depend_on_role_policy_only
from ml_constructs.model_endpoint import ModelEndpoint
from ml_constructs.model_registry import approvals_pattern, package_arns
from ml_constructs.nag import acknowledge, bucket_arn_in, nag_logical_id
from ml_constructs.naming import role_name, validate_prefix
from ml_constructs.preconditions.requirements import LAMBDA_SQS_POLLER_ACTIONS
from ml_constructs.private_network.construct import (
    PrivateNetwork,
    function_placement,
    sagemaker_vpc_config,
)
from serving_config.promotion import PromotionSettings
from serving_config.registry import RegistrySettings
from serving_core.baseline import REFERENCE_ROWS, monitoring_key
from serving_core.deployment_policy import DeploymentPolicy
from serving_core.metric_names import PROMOTION_METRICS

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
PACKAGE = "promotion"
HANDLER = handler(PACKAGE)
#: Same runtime as the inference function: the newest that cdk-nag's AwsSolutions-L1 accepts.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
RELEASES_PREFIX = f"{MODELS_PREFIX}releases/"
ARTIFACT_FILE = "model.tar.gz"
#: The event source mapping's ceiling on concurrent invocations (SQS: 2 is the minimum). Two
#: promotions may validate at once; SageMaker refuses a second UpdateEndpoint while one runs,
#: and that message is retried once the endpoint is InService again.
MAX_CONCURRENCY = 2


def deployment_policy(
    settings: PromotionSettings, rollback_alarms: Sequence[cloudwatch.IAlarm]
) -> DeploymentPolicy:
    """The blue/green policy of both promotions and ``cdk deploy`` (one source)."""
    return DeploymentPolicy(
        traffic_shifting=settings.traffic_shifting,
        step_percent=settings.canary_percent,
        wait_before_shift_s=settings.wait_before_shift_s,
        termination_wait_s=settings.termination_wait_s,
        max_execution_timeout_s=settings.max_execution_timeout_s,
        rollback_alarm_names=tuple(alarm.alarm_name for alarm in rollback_alarms),
    )


@dataclass(frozen=True)
class ModelPromotionProps:
    """The endpoint to promote into, where artifacts land, and how to report."""

    prefix: str
    endpoint: ModelEndpoint
    bucket: s3.IBucket
    encryption_key: kms.IKey
    artifact_parameter: str
    feature_count: int
    settings: PromotionSettings
    alarm_topic: sns.ITopic
    api_max_rows: int | None = None
    api_feature_names: tuple[str, ...] = ()
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    group_name: str = ""
    #: Where the monitoring schedules read the served model's baseline (None: not monitored).
    monitoring_baseline_prefix: str | None = None
    #: Private networking: the function in the private subnets, promoted models in the VPC.
    network: PrivateNetwork | None = None
    function_timeout_s: int = 300
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if not 60 <= self.function_timeout_s <= 900:
            raise ValueError(f"function_timeout_s {self.function_timeout_s} is outside 60-900")
        if not self.artifact_parameter.startswith("/"):
            raise ValueError(f"artifact_parameter {self.artifact_parameter!r} must start with /")
        if self.feature_count < 1:
            raise ValueError("feature_count must be at least 1")
        if self.registry.from_registry and not (self.group_name or self.registry.source_group_arn):
            raise ValueError("group_name: the registry trigger needs a model package group")
        if self.endpoint.deployment_policy is None:
            raise ValueError(
                "endpoint: call use_deployment_policy() first; promotions and cdk deploy "
                "share its blue/green policy"
            )

    @property
    def visibility_timeout_s(self) -> int:
        """When a busy endpoint's message comes back: the retry delay, but at least 6x the
        function timeout (AWS's advice for Lambda event sources)."""
        return max(self.settings.retry_delay_s, 6 * self.function_timeout_s)

    @property
    def metrics_namespace(self) -> str:
        return f"{self.prefix}/Promotion"


def data_capture_config(endpoint: ModelEndpoint) -> dict[str, Any] | None:
    """The stack's data capture in the SageMaker API's shape (None when off)."""
    return endpoint.props.data_capture.api_shape()


class ModelPromotion(Construct):
    """Queue, dead-letter queue, two EventBridge rules and the promotion function."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ModelPromotionProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        settings = props.settings
        endpoint = props.endpoint
        stack = Stack.of(self)

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{props.prefix}-promotion-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=props.encryption_key,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=props.removal_policy,
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This is the dead-letter queue of the promotion queue; an alarm watches its depth.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=f"{props.prefix}-promotion",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=props.encryption_key,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(props.visibility_timeout_s),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue,
                max_receive_count=settings.queue_max_receive_count,
            ),
            removal_policy=props.removal_policy,
        )

        # The rules send to the queue through a plain target: targets.SqsQueue would add an
        # events.amazonaws.com statement to the data stack's key policy (which already lets
        # EventBridge use the key). The queue policy below admits these rules only.
        queue_target = ArnTarget(self.queue.queue_arn)
        registry = props.registry
        self.rules: list[events.Rule] = []
        self.upload_rule: events.Rule | None = None
        if registry.from_upload:
            # Uploads of <anything>/model.tar.gz under models/ (release copies and registered
            # artifacts are ignored by the function: a wildcard cannot exclude them).
            self.upload_rule = events.Rule(
                self,
                "UploadRule",
                description=f"{props.prefix}: a model.tar.gz uploaded under {MODELS_PREFIX}",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=["Object Created"],
                    detail={
                        "bucket": {"name": [props.bucket.bucket_name]},
                        "object": {
                            "key": events.Match.wildcard(f"{MODELS_PREFIX}*/{ARTIFACT_FILE}")
                        },
                    },
                ),
                targets=[queue_target],
            )
            self.rules.append(self.upload_rule)
        self.approval_rule: events.Rule | None = None
        if registry.from_registry:
            # Approvals of the group's packages: this environment's own group, or another
            # account's (forwarded to this account's default bus, which admits that account).
            group = registry.source_group_name or props.group_name
            self.approval_rule = events.Rule(
                self,
                "ApprovalRule",
                description=f"{props.prefix}: a package of {group} approved in the registry",
                event_pattern=approvals_pattern(group, registry.source_account),
                targets=[queue_target],
            )
            self.rules.append(self.approval_rule)
            if registry.source_account:
                self.bus_policy = events.CfnEventBusPolicy(
                    self,
                    "SourceAccountApprovals",
                    statement_id=f"{props.prefix}-approvals-from-{registry.source_account}",
                    event_bus_name="default",
                    statement={
                        "Effect": "Allow",
                        "Principal": {
                            "AWS": f"arn:{Aws.PARTITION}:iam::{registry.source_account}:root"
                        },
                        "Action": "events:PutEvents",
                        "Resource": (
                            f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                            ":event-bus/default"
                        ),
                    },
                )
        # A finished (or rolled back) deployment: the function records what now serves.
        self.endpoint_rule = events.Rule(
            self,
            "EndpointStateRule",
            description=f"{props.prefix}: the endpoint is InService again after an update",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Endpoint State Change"],
                detail={
                    "EndpointName": [endpoint.endpoint_name],
                    "EndpointStatus": ["IN_SERVICE"],
                },
            ),
            targets=[queue_target],
        )
        self.rules.append(self.endpoint_rule)

        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesOfThisPromotion",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [rule.rule_arn for rule in self.rules]}},
            )
        )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=props.log_retention,
            encryption_key=props.encryption_key,
            removal_policy=props.removal_policy,
        )
        # A named role: the data key's policy trusts only roles called <prefix>-*.
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name(props.prefix, "model-promotion"),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Promotion function: validate uploads under models/, update one endpoint",
        )
        self._grant(stack)

        variant = endpoint.variant.production_variant("set-by-the-function")
        variant.pop("ModelName")
        deployment = endpoint.deployment_policy
        assert deployment is not None  # checked by the props
        self.environment = {
            "ENDPOINT_NAME": endpoint.endpoint_name,
            "NAME_PREFIX": props.prefix,
            "PRODUCTION_VARIANT": json.dumps(variant, sort_keys=True),
            "IMAGE_URI": endpoint.props.image_uri,
            "EXECUTION_ROLE_ARN": endpoint.props.execution_role.role_arn,
            "VOLUME_KMS_KEY_ARN": (
                props.encryption_key.key_arn if endpoint.volume_encrypted_with_key else ""
            ),
            "DATA_CAPTURE_CONFIG": stack.to_json_string(data_capture_config(endpoint) or ""),
            "NETWORK_ISOLATION": str(endpoint.variant.supports("network_isolation")).lower(),
            "DEPLOYMENT_POLICY": stack.to_json_string(deployment.as_dict()),
            "MIN_AUC": repr(settings.min_auc),
            "REQUIRE_METRICS": str(settings.require_metrics).lower(),
            "MAX_ARTIFACT_BYTES": str(settings.max_artifact_mb * 1024 * 1024),
            "FEATURE_COUNT": str(props.feature_count),
            "API_MAX_ROWS": "" if props.api_max_rows is None else str(props.api_max_rows),
            "API_FEATURE_NAMES": ",".join(props.api_feature_names),
            "KEEP_PREVIOUS": str(settings.keep_previous),
            "STACK_MODEL_NAME": endpoint.model.attr_model_name,
            "ARTIFACT_PARAMETER": props.artifact_parameter,
            "TOPIC_ARN": props.alarm_topic.topic_arn,
            "METRICS_NAMESPACE": props.metrics_namespace,
            "ARTIFACT_BUCKET": props.bucket.bucket_name,
        }
        if registry.from_registry:
            self.environment.update(
                PACKAGE_GROUP=registry.source_group_name or props.group_name,
                PACKAGE_GROUP_ACCOUNT=registry.source_account or "",
                # Only this environment's own registry is written back to.
                MARK_REJECTED_PACKAGES=str(registry.source_account is None).lower(),
            )
        if props.monitoring_baseline_prefix:
            self.environment["MONITORING_BASELINE_PREFIX"] = props.monitoring_baseline_prefix
        vpc_config = sagemaker_vpc_config(props.network)
        if vpc_config is not None:
            self.environment["VPC_CONFIG"] = stack.to_json_string(vpc_config)
        if data_capture_config(endpoint) is None:
            self.environment["DATA_CAPTURE_CONFIG"] = ""
        async_config = endpoint.variant.async_inference_config(endpoint.props.async_output)
        if async_config is not None:
            self.environment["ASYNC_INFERENCE_CONFIG"] = stack.to_json_string(async_config)
        placement = function_placement(props.network, self, "the promotion function", self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"{props.prefix}-model-promotion",
            description="Validates an uploaded model.tar.gz and promotes it blue/green",
            runtime=PYTHON_RUNTIME,
            handler=HANDLER,
            code=function_code(RUNTIME_DIR, PACKAGE, core=True),
            memory_size=1024,
            # The artifact is downloaded to /tmp to be validated.
            ephemeral_storage_size=Size.mebibytes(
                min(10_240, max(512, settings.max_artifact_mb + 256))
            ),
            timeout=Duration.seconds(props.function_timeout_s),
            role=self.role,
            log_group=self.log_group,
            environment=self.environment,
            vpc=placement.vpc,
            vpc_subnets=placement.subnets,
            security_groups=placement.security_groups,
        )
        depend_on_role_policy_only(self.function, self.role)
        # An explicit mapping (not SqsEventSource, whose logical id embeds the stack path):
        # one message per invocation, failed ones reported individually. Concurrency is capped
        # by the mapping, not by reserved concurrency: with reserved concurrency 1 the poller
        # still fetches several batches and they come back throttled (AWS's SQS guidance).
        # What Lambda's poller does with the role (not GetQueueUrl: the code never calls SQS,
        # and in the VPC there is no SQS endpoint for it); the key is granted above.
        self.queue.grant(self.role, *LAMBDA_SQS_POLLER_ACTIONS)
        self.event_source = lambda_.EventSourceMapping(
            self,
            "QueueMapping",
            target=self.function,
            event_source_arn=self.queue.queue_arn,
            batch_size=1,
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        acknowledge_function(
            self.function,
            dead_letters=(
                "Invoked by an SQS event source mapping: a message that keeps failing goes to "
                "the queue's redrive dead-letter queue (alarmed); a function dead-letter queue "
                "applies to asynchronous invocations only."
            ),
            concurrency=(
                f"Capped by the event source mapping's MaximumConcurrency ({MAX_CONCURRENCY}), "
                "as AWS advises for SQS sources; a reservation would throttle the poller."
            ),
        )
        acknowledge_inline_policy(self.role)
        self.function_name = self.function.function_name
        self.queue_url = self.queue.queue_url

    def _grant(self, stack: Stack) -> None:
        props = self.props
        self._bucket_arn, self._bucket_ref = bucket_arn_in(self, props.bucket)
        endpoint = props.endpoint
        role = self.role
        arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        promoted = f"{props.prefix}-p-*"
        models = f"{arn}:model/{promoted}"
        configs = f"{arn}:endpoint-config/{promoted}"
        endpoint_arn = f"{arn}:endpoint/{endpoint.endpoint_name}"
        statements = [
            iam.PolicyStatement(
                sid="CreatePromotionModelsAndConfigs",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                    "sagemaker:DeleteModel",
                    "sagemaker:DeleteEndpointConfig",
                ],
                resources=[models, configs],
            ),
            # Retention lists this stack's promotions; List* actions support no resource.
            iam.PolicyStatement(
                sid="ListPromotions",
                actions=["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"],
                resources=["*"],
            ),
            # The stack's own model: its artifact is never deleted by retention.
            iam.PolicyStatement(
                sid="DescribeTheStacksModel",
                actions=["sagemaker:DescribeModel"],
                resources=[endpoint.model.ref],  # Ref of AWS::SageMaker::Model: its ARN
            ),
            iam.PolicyStatement(
                sid="UpdateThisEndpointOnly",
                actions=["sagemaker:UpdateEndpoint"],
                resources=[endpoint_arn, configs],
            ),
            iam.PolicyStatement(
                sid="DescribeThisEndpoint",
                actions=["sagemaker:DescribeEndpoint"],
                resources=[endpoint_arn],
            ),
            iam.PolicyStatement(
                sid="PassOnlyTheExecutionRole",
                actions=["iam:PassRole"],
                resources=[endpoint.props.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="ReadUploadedModels",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[f"{self._bucket_arn}/{MODELS_PREFIX}*"],
            ),
            iam.PolicyStatement(
                sid="WriteAndRetireReleaseCopies",
                actions=["s3:PutObject", "s3:DeleteObject"],
                resources=[f"{self._bucket_arn}/{RELEASES_PREFIX}*"],
            ),
            iam.PolicyStatement(
                sid="RecordPromotedArtifact",
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=[
                    f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                    f":parameter{props.artifact_parameter}"
                ],
            ),
            # S3 SSE-KMS objects, the encrypted queue and topic.
            iam.PolicyStatement(
                sid="UseTheDataKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[props.encryption_key.key_arn],
            ),
            # SageMaker creates grants on the volume/capture key for the new endpoint fleet.
            iam.PolicyStatement(
                sid="LetSageMakerGrantTheKey",
                actions=["kms:CreateGrant"],
                resources=[props.encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
        statements += self._registry_statements()
        if props.monitoring_baseline_prefix:
            # Copies of the served model's baseline, read by the monitoring job definitions.
            statements.append(
                iam.PolicyStatement(
                    sid="SetTheMonitoringBaseline",
                    actions=["s3:PutObject"],
                    resources=[f"{self._bucket_arn}/{props.monitoring_baseline_prefix}*"],
                )
            )
            # A served model without reference rows must not leave another model's active.
            statements.append(
                iam.PolicyStatement(
                    sid="RetireTheReferenceRows",
                    actions=["s3:DeleteObject"],
                    resources=[
                        f"{self._bucket_arn}/{props.monitoring_baseline_prefix}"
                        f"{monitoring_key('', REFERENCE_ROWS)}"
                    ],
                )
            )
        for statement in statements:
            role.add_to_policy(statement)
        props.alarm_topic.grant_publish(role)
        self.log_group.grant_write(role)
        policy = role.node.find_child("DefaultPolicy")
        self._acknowledge_registry(policy)
        bucket_ref = self._bucket_ref
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Uploaded artifacts may be at any key under models/ (read), and release copies "
            "are written under models/releases/<sha256>/ (write): object keys are chosen at "
            "upload time, so the statement is scoped to the prefix.",
            [
                f"Resource::{bucket_ref}/{MODELS_PREFIX}*",
                f"Resource::{bucket_ref}/{RELEASES_PREFIX}*",
            ],
        )
        if props.monitoring_baseline_prefix:
            acknowledge(
                policy,
                "AwsSolutions-IAM5",
                "The served model's Model Monitor baseline is copied to the fixed files under "
                "the monitoring baseline prefix that the job definitions read.",
                [f"Resource::{bucket_ref}/{props.monitoring_baseline_prefix}*"],
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Each promotion creates a Model and an EndpointConfig named after the artifact "
            f"version; names are limited to this stack's prefix {props.prefix}-p-*.",
            [
                f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:{kind}/"
                f"{props.prefix}-p-*"
                for kind in ("model", "endpoint-config")
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Lambda names its log streams at run time; writes are limited to this function's "
            "own log group.",
            [f"Resource::<{nag_logical_id(self.log_group)}.Arn>:*"],
        )
        acknowledge_encrypted_sends(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "sagemaker:ListEndpointConfigs and sagemaker:ListModels support no resource-level "
            "permissions ('*' is required); retention filters the results to this stack's "
            f"{props.prefix}-p-* promotions and deletes only those.",
            ["Resource::*"],
        )

    def _registry_statements(self) -> list[iam.PolicyStatement]:
        """Read the approved packages; mark this environment's own rejected ones; from another
        account's group, read (and decrypt through S3) its artifacts, to copy them here."""
        registry = self.props.registry
        if not registry.from_registry:
            return []
        if registry.source_account is None:
            _, packages = package_arns(self.props.group_name)
            return [
                iam.PolicyStatement(
                    sid="ReadAndMarkThisGroupsPackages",
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                    resources=[packages],
                )
            ]
        assert registry.source_group_name is not None
        _, packages = package_arns(registry.source_group_name, registry.source_account)
        return [
            iam.PolicyStatement(
                sid="ReadTheSourceGroupsPackages",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[packages],
            ),
            iam.PolicyStatement(
                sid="ReadTheSourceAccountsArtifacts",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=list(source_artifact_arns(registry)),
            ),
            iam.PolicyStatement(
                sid="DecryptTheSourceAccountsArtifactsThroughS3",
                actions=["kms:Decrypt"],
                resources=[registry.source_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
        ]

    def _acknowledge_registry(self, policy: IConstruct) -> None:
        registry = self.props.registry
        if not registry.from_registry:
            return
        group = registry.source_group_name or self.props.group_name
        account = registry.source_account or "<AWS::AccountId>"
        findings = [
            f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:{account}:model-package/"
            f"{group}/*"
        ]
        if registry.source_account:
            findings.append(
                f"Resource::arn:<AWS::Partition>:s3:::{registry.source_bucket}/{MODELS_PREFIX}*"
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            f"Each approval names a version of the model package group {group}; reading (and, "
            "for this environment's own group, marking) is limited to that group's versions and "
            "to the models/ prefix of the bucket its artifacts are in.",
            findings,
        )

    def metric_promotions(self, name: str, period: Duration | None = None) -> cloudwatch.Metric:
        """Sum of one of the function's embedded-format metrics (``PromotionRejected``...)."""
        if name not in PROMOTION_METRICS:
            raise ValueError(f"unknown promotion metric {name!r}; known: {PROMOTION_METRICS}")
        return cloudwatch.Metric(
            namespace=self.props.metrics_namespace,
            metric_name=name,
            dimensions_map={"EndpointName": self.props.endpoint.endpoint_name},
            statistic="Sum",
            period=period or Duration.minutes(1),
        )

    def metric_dead_letters(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period or Duration.minutes(1), statistic="Maximum"
        )


def source_artifact_arns(registry: RegistrySettings) -> tuple[str, ...]:
    """The other account's artifacts a promotion from its registry reads (none without one)."""
    if not registry.source_bucket:
        return ()
    return (f"arn:{Aws.PARTITION}:s3:::{registry.source_bucket}/{MODELS_PREFIX}*",)
