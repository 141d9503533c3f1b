"""Promotion on upload: S3 "Object Created" under models/ -> EventBridge -> SQS (KMS, DLQ)
-> one Lambda at a time that validates the artifact and runs a guarded blue/green
UpdateEndpoint. The function's code is ``runtime/`` next to this file.

The function gets the stack's endpoint settings as environment variables (it cannot
import this package: no aws_cdk at run time), so a promoted model runs with the same
variant, image, role, volume key and data capture as the model in the template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from ml_constructs.findings import acknowledge_encrypted_sends, acknowledge_function
from ml_constructs.function_setup import FunctionSetup, FunctionSpec, dead_letter_queue
from ml_constructs.model_endpoint import ModelEndpoint
from ml_constructs.model_promotion import lambda_grants
from ml_constructs.model_promotion.lambda_target import LambdaTarget
from ml_constructs.model_promotion.runtime.config import LambdaTargetConfig, PromotionConfig
from ml_constructs.model_registry import approvals_pattern, package_arns
from ml_constructs.nag import acknowledge, bucket_arn_in, nag_logical_id
from ml_constructs.naming import validate_prefix
from ml_constructs.preconditions.requirements import LAMBDA_SQS_POLLER_ACTIONS
from ml_constructs.private_network.construct import PrivateNetwork, sagemaker_vpc_config
from serving_core.baseline import REFERENCE_ROWS, monitoring_key
from serving_core.frameworks import DEFAULT_FRAMEWORK, FRAMEWORK_NAMES
from serving_core.metric_names import PROMOTION_METRICS

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
PACKAGE = "promotion"


def promotion_function_name(prefix: str) -> str:
    """The promotion function's name (the rehearsal and operators find it by it)."""
    return f"{prefix}-model-promotion"


HANDLER = handler(PACKAGE)
#: Same runtime as the inference function: the newest that cdk-nag's AwsSolutions-L1 accepts.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
RELEASES_PREFIX = f"{MODELS_PREFIX}releases/"
ARTIFACT_FILE = "model.tar.gz"
#: The event source mapping's ceiling on concurrent invocations (SQS: 2 is the minimum). Two
#: promotions may validate at once; SageMaker refuses a second UpdateEndpoint while one runs,
#: and that message is retried once the endpoint is InService again.
MAX_CONCURRENCY = 2
#: The largest artifact the function copies (S3 CopyObject copies at most 5 GiB).
MAX_ARTIFACT_MB = 5_120
#: SQS keeps a message hidden for at most 12 hours.
MAX_RETRY_DELAY_S = 43_200
_ACCOUNT = re.compile(r"^\d{12}$")
FUNCTION = FunctionSpec(
    role_purpose="model-promotion",
    role_description="Promotion function: validate uploads under models/, update one endpoint",
    what="the promotion function",
)


@dataclass(frozen=True)
class RegistryApprovals:
    """Approvals of a model package group's versions promote them: this environment's own
    group, or (``source_account``) another account's, whose artifacts are in that account's
    ``source_bucket`` under models/, encrypted with its ``source_key_arn``, and are copied into
    this environment's bucket first."""

    group_name: str
    source_account: str | None = None
    source_bucket: str = ""
    source_key_arn: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not self.group_name:
            problems.append("group_name: the registry trigger needs a model package group")
        if self.source_account is not None and not _ACCOUNT.match(self.source_account):
            problems.append(f"source_account: {self.source_account!r} is not a 12-digit account")
        if (self.source_account is not None) != bool(self.source_bucket and self.source_key_arn):
            problems.append(
                "source_account: source_account, source_bucket and source_key_arn go together "
                "(another account's group, its artifacts' bucket and their key)"
            )
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def own_group(self) -> bool:
        """This environment's own group (its rejected packages are marked there)."""
        return self.source_account is None


@dataclass(frozen=True, kw_only=True)
class ModelPromotionProps:
    """What to promote into (the SageMaker ``endpoint`` or a Lambda-hosted model's
    ``lambda_target``: exactly one), where artifacts land, what a model must pass, what
    triggers a promotion, and how to report."""

    prefix: str
    endpoint: ModelEndpoint | None = None
    #: A Lambda-hosted model (``endpoint.kind: lambda``): its function, alias and CodeDeploy
    #: deployment group, instead of ``endpoint``.
    lambda_target: LambdaTarget | None = None
    bucket: s3.IBucket
    encryption_key: kms.IKey
    artifact_parameter: str
    feature_count: int
    alarm_topic: sns.ITopic
    #: The quality floor: the test ROC AUC in the artifact's metrics.json.
    min_auc: float = 0.9
    #: Reject an artifact without metrics.json (off: each promotion logs the skipped check).
    require_metrics: bool = True
    max_artifact_mb: int = 512
    #: Promotions' Models and EndpointConfigs (and release copies) kept besides the serving one.
    keep_previous: int = 3
    #: Deliveries of a request before it goes to the dead-letter queue.
    queue_max_receive_count: int = 20
    #: When a request for a busy endpoint comes back.
    retry_delay_s: int = 300
    api_max_rows: int | None = None
    api_feature_names: tuple[str, ...] = ()
    #: A model.tar.gz uploaded under models/ promotes.
    from_upload: bool = True
    #: Approvals in the model registry promote (None: they do not).
    approvals: RegistryApprovals | None = None
    #: Where the monitoring schedules read the served model's baseline (None: not monitored).
    monitoring_baseline_prefix: str | None = None
    #: Private networking: the function in the private subnets, promoted models in the VPC.
    network: PrivateNetwork | None = None
    function_timeout_s: int = 300
    #: ``model.framework``: what a promoted artifact must hold, and the container environment
    #: of every Model a promotion creates (``serving_core.frameworks``).
    framework: str = DEFAULT_FRAMEWORK
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if not 60 <= self.function_timeout_s <= 900:
            problems.append(f"function_timeout_s {self.function_timeout_s} is outside 60-900")
        if not self.artifact_parameter.startswith("/"):
            problems.append(f"artifact_parameter {self.artifact_parameter!r} must start with /")
        if self.feature_count < 1:
            problems.append("feature_count must be at least 1")
        if not 0.0 <= self.min_auc <= 1.0:
            problems.append(f"min_auc {self.min_auc} is outside 0-1")
        if not 1 <= self.max_artifact_mb <= MAX_ARTIFACT_MB:
            problems.append(
                f"max_artifact_mb {self.max_artifact_mb} is outside 1-{MAX_ARTIFACT_MB}"
            )
        if self.keep_previous < 0:
            problems.append(f"keep_previous {self.keep_previous} must not be negative")
        if not 1 <= self.queue_max_receive_count <= 1000:
            problems.append(
                f"queue_max_receive_count {self.queue_max_receive_count} is outside 1-1000"
            )
        if not 0 <= self.retry_delay_s <= MAX_RETRY_DELAY_S:
            problems.append(f"retry_delay_s {self.retry_delay_s} is outside 0-{MAX_RETRY_DELAY_S}")
        if self.framework not in FRAMEWORK_NAMES:
            problems.append(
                f"framework {self.framework!r} is not one of {', '.join(FRAMEWORK_NAMES)}"
            )
        if not self.from_upload and self.approvals is None:
            problems.append("from_upload: without uploads or approvals nothing would promote")
        if (self.endpoint is None) == (self.lambda_target is None):
            problems.append(
                "endpoint, lambda_target: exactly one of them names what a promotion deploys into"
            )
        elif self.endpoint is not None and self.endpoint.deployment_policy is None:
            problems.append(
                "endpoint: call use_deployment_policy() first; promotions and cdk deploy "
                "share its blue/green policy"
            )
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def visibility_timeout_s(self) -> int:
        """When a busy endpoint's message comes back: the retry delay, but at least 6x the
        function timeout (AWS's advice for Lambda event sources)."""
        return max(self.retry_delay_s, 6 * self.function_timeout_s)

    @property
    def metrics_namespace(self) -> str:
        return f"{self.prefix}/Promotion"

    @property
    def served_name(self) -> str:
        """The name the served model is known by (the metrics' EndpointName dimension)."""
        if self.lambda_target is not None:
            return self.lambda_target.endpoint_name
        assert self.endpoint is not None  # exactly one: checked above
        return self.endpoint.endpoint_name


def data_capture_config(endpoint: ModelEndpoint) -> dict[str, Any] | None:
    """The stack's data capture in the SageMaker API's shape (None when off)."""
    return endpoint.props.data_capture.api_shape()


class ModelPromotion(Construct):
    """Queue, dead-letter queue, EventBridge rules and the promotion function."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ModelPromotionProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.dead_letter_queue, self.queue = self._queues()
        self.rules = self._rules()
        setup = FunctionSetup(self, props, FUNCTION, props.log_retention)
        self.log_group, self.role = setup.log_group, setup.role
        self._grant()
        self.environment = self._environment()
        self.function = setup.function(
            lambda_.Function,
            function_name=promotion_function_name(props.prefix),
            description="Validates an uploaded model.tar.gz and promotes it blue/green",
            runtime=PYTHON_RUNTIME,
            handler=HANDLER,
            code=function_code(RUNTIME_DIR, PACKAGE, core=True),
            memory_size=1024,
            # The artifact is downloaded to /tmp to be validated.
            ephemeral_storage_size=Size.mebibytes(
                min(10_240, max(512, props.max_artifact_mb + 256))
            ),
            timeout=Duration.seconds(props.function_timeout_s),
            environment=self.environment,
        )
        self.event_source = self._consume_the_queue()
        self.function_name = self.function.function_name
        self.queue_url = self.queue.queue_url

    # -- queue and rules -------------------------------------------------------------------------

    def _queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        """The promotion queue (one message per request) and its dead-letter queue."""
        props = self.props
        dead_letters = dead_letter_queue(
            self,
            queue_name=f"{props.prefix}-promotion-dlq",
            encryption_key=props.encryption_key,
            removal_policy=props.removal_policy,
            reason=(
                "This is the dead-letter queue of the promotion queue; an alarm watches its depth."
            ),
            data_key_reuse=Duration.hours(1),
        )
        queue = sqs.Queue(
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
                queue=dead_letters, max_receive_count=props.queue_max_receive_count
            ),
            removal_policy=props.removal_policy,
        )
        return dead_letters, queue

    def _rules(self) -> list[events.Rule]:
        """Uploads, approvals (where they promote) and the endpoint's return to InService, to
        the queue, which admits these rules only.

        The rules send through a plain target: targets.SqsQueue would add an
        events.amazonaws.com statement to the data stack's key policy (which already lets
        EventBridge use the key)."""
        props = self.props
        target = ArnTarget(self.queue.queue_arn)
        self.upload_rule: events.Rule | None = None
        if props.from_upload:
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
                targets=[target],
            )
        self.approval_rule = self._approval_rule(target)
        # A finished (or rolled back) deployment: the function records what now serves.
        self.settle_rule = self._settle_rule()
        self.settle_rule.add_target(target)
        candidates = (self.upload_rule, self.approval_rule, self.settle_rule)
        rules = [rule for rule in candidates if rule is not None]
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesOfThisPromotion",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [rule.rule_arn for rule in rules]}},
            )
        )
        return rules

    def _settle_rule(self) -> events.Rule:
        """The endpoint's return to InService, or CodeDeploy's end of a Lambda deployment."""
        props = self.props
        if props.lambda_target is not None:
            return lambda_grants.deployment_rule(self, props.prefix, props.lambda_target)
        return events.Rule(
            self,
            "EndpointStateRule",
            description=f"{props.prefix}: the endpoint is InService again after an update",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Endpoint State Change"],
                detail={
                    "EndpointName": [props.served_name],
                    "EndpointStatus": ["IN_SERVICE"],
                },
            ),
        )

    def _approval_rule(self, target: events.IRuleTarget) -> events.Rule | None:
        """Approvals of the group's packages: this environment's own group, or another
        account's (forwarded to this account's default bus, which admits that account)."""
        props, approvals = self.props, self.props.approvals
        if approvals is None:
            return None
        rule = events.Rule(
            self,
            "ApprovalRule",
            description=(
                f"{props.prefix}: a package of {approvals.group_name} approved in the registry"
            ),
            event_pattern=approvals_pattern(approvals.group_name, approvals.source_account),
            targets=[target],
        )
        if approvals.source_account:
            self.bus_policy = events.CfnEventBusPolicy(
                self,
                "SourceAccountApprovals",
                statement_id=f"{props.prefix}-approvals-from-{approvals.source_account}",
                event_bus_name="default",
                statement={
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": f"arn:{Aws.PARTITION}:iam::{approvals.source_account}:root"
                    },
                    "Action": "events:PutEvents",
                    "Resource": (
                        f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                        ":event-bus/default"
                    ),
                },
            )
        return rule

    # -- the function ------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The target's settings and the promotion's limits: the runtime's own typed config,
        written as the runtime reads it (the function cannot import CDK)."""
        props, stack = self.props, Stack.of(self)
        approvals = props.approvals
        common: dict[str, Any] = {
            "endpoint_name": props.served_name,
            "name_prefix": props.prefix,
            "min_auc": props.min_auc,
            "require_metrics": props.require_metrics,
            "max_artifact_bytes": props.max_artifact_mb * 1024 * 1024,
            "feature_count": props.feature_count,
            "api_max_rows": props.api_max_rows,
            "api_feature_names": tuple(props.api_feature_names),
            "keep_previous": props.keep_previous,
            "artifact_parameter": props.artifact_parameter,
            "topic_arn": props.alarm_topic.topic_arn,
            "metrics_namespace": props.metrics_namespace,
            "artifact_bucket": props.bucket.bucket_name,
            "package_group": approvals.group_name if approvals else None,
            "package_group_account": approvals.source_account if approvals else None,
            # Only this environment's own registry is written back to.
            "mark_rejected_packages": bool(approvals and approvals.own_group),
            "monitoring_baseline_prefix": props.monitoring_baseline_prefix,
            "framework": props.framework,
        }
        if props.lambda_target is not None:
            config = PromotionConfig(lambda_target=self._lambda_target_config(), **common)
            return config.to_env(stack.to_json_string)
        return self._endpoint_config(common).to_env(stack.to_json_string)

    def _lambda_target_config(self) -> LambdaTargetConfig:
        target = self.props.lambda_target
        assert target is not None  # only for a Lambda target
        group = target.deployment_group
        return LambdaTargetConfig(
            function_name=target.function.function_name,
            alias_name=target.alias.alias_name,
            application_name=group.application.application_name,
            deployment_group_name=group.deployment_group_name,
        )

    def _endpoint_config(self, common: dict[str, Any]) -> PromotionConfig:
        """The stack's endpoint settings: a promoted model gets exactly them."""
        props, endpoint = self.props, self.props.endpoint
        assert endpoint is not None  # only for an endpoint
        variant = endpoint.variant.production_variant("set-by-the-function")
        variant.pop("ModelName")
        deployment = endpoint.deployment_policy
        assert deployment is not None  # checked by the props
        return PromotionConfig(
            production_variant=variant,
            image_uri=endpoint.props.image_uri,
            execution_role_arn=endpoint.props.execution_role.role_arn,
            volume_kms_key_arn=(
                props.encryption_key.key_arn if endpoint.volume_encrypted_with_key else None
            ),
            data_capture_config=data_capture_config(endpoint),
            network_isolation=endpoint.variant.supports("network_isolation"),
            deployment_policy=deployment,
            stack_model_name=endpoint.model.attr_model_name,
            vpc_config=sagemaker_vpc_config(props.network),
            async_inference_config=endpoint.variant.async_inference_config(
                endpoint.props.async_output
            ),
            **common,
        )

    def _consume_the_queue(self) -> lambda_.EventSourceMapping:
        """An explicit mapping (not SqsEventSource, whose logical id embeds the stack path):
        one message per invocation, failed ones reported individually. Concurrency is capped
        by the mapping, not by reserved concurrency: with reserved concurrency 1 the poller
        still fetches several batches and they come back throttled (AWS's SQS guidance)."""
        # What Lambda's poller does with the role (not GetQueueUrl: the code never calls SQS,
        # and in the VPC there is no SQS endpoint for it); the key is granted with the others.
        self.queue.grant(self.role, *LAMBDA_SQS_POLLER_ACTIONS)
        mapping = lambda_.EventSourceMapping(
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
        return mapping

    # -- the role ----------------------------------------------------------------------------------

    def _grant(self) -> None:
        """The role's statements, publishing to the alarm topic, and their findings."""
        props = self.props
        self._bucket_arn, self._bucket_ref = bucket_arn_in(self, props.bucket)
        target = props.lambda_target
        statements = [
            *(self._endpoint_statements() if target is None else lambda_grants.statements(target)),
            *self._artifact_statements(),
            *self._registry_statements(),
            *self._baseline_statements(),
        ]
        for statement in statements:
            self.role.add_to_policy(statement)
        props.alarm_topic.grant_publish(self.role)
        self._acknowledge_grants(self.role.node.find_child("DefaultPolicy"))

    def _endpoint_statements(self) -> list[iam.PolicyStatement]:
        """Create (and retire) promotions' Models and EndpointConfigs, update this endpoint,
        pass its execution role."""
        props, endpoint = self.props, self.props.endpoint
        assert endpoint is not None  # only for an endpoint
        arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        promoted = f"{props.prefix}-p-*"
        models = f"{arn}:model/{promoted}"
        configs = f"{arn}:endpoint-config/{promoted}"
        endpoint_arn = f"{arn}:endpoint/{endpoint.endpoint_name}"
        return [
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
        ]

    def _artifact_statements(self) -> list[iam.PolicyStatement]:
        """Read uploads, keep release copies, record what serves, use the key."""
        props = self.props
        statements = [
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
        ]
        if props.endpoint is not None:
            # SageMaker creates grants on the volume/capture key for the new endpoint fleet.
            statements.append(
                iam.PolicyStatement(
                    sid="LetSageMakerGrantTheKey",
                    actions=["kms:CreateGrant"],
                    resources=[props.encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        return statements

    def _baseline_statements(self) -> list[iam.PolicyStatement]:
        """Copies of the served model's baseline, read by the monitoring (when monitored)."""
        prefix = self.props.monitoring_baseline_prefix
        if not prefix:
            return []
        return [
            iam.PolicyStatement(
                sid="SetTheMonitoringBaseline",
                actions=["s3:PutObject"],
                resources=[f"{self._bucket_arn}/{prefix}*"],
            ),
            # A served model without reference rows must not leave another model's active.
            iam.PolicyStatement(
                sid="RetireTheReferenceRows",
                actions=["s3:DeleteObject"],
                resources=[f"{self._bucket_arn}/{prefix}{monitoring_key('', REFERENCE_ROWS)}"],
            ),
        ]

    def _acknowledge_grants(self, policy: IConstruct) -> None:
        props, bucket_ref = self.props, self._bucket_ref
        self._acknowledge_registry(policy)
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
            "Lambda names its log streams at run time; writes are limited to this function's "
            "own log group.",
            [f"Resource::<{nag_logical_id(self.log_group)}.Arn>:*"],
        )
        acknowledge_encrypted_sends(policy)
        if props.lambda_target is not None:
            lambda_grants.acknowledge_versions(policy, props.lambda_target)
        else:
            self._acknowledge_endpoint(policy)

    def _acknowledge_endpoint(self, policy: IConstruct) -> None:
        props = self.props
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
            "sagemaker:ListEndpointConfigs and sagemaker:ListModels support no resource-level "
            "permissions ('*' is required); retention filters the results to this stack's "
            f"{props.prefix}-p-* promotions and deletes only those.",
            ["Resource::*"],
        )

    def _registry_statements(self) -> list[iam.PolicyStatement]:
        """Read the approved packages; mark this environment's own rejected ones; from another
        account's group, read (and decrypt through S3) its artifacts, to copy them here."""
        approvals = self.props.approvals
        if approvals is None:
            return []
        if approvals.source_account is None:
            _, packages = package_arns(approvals.group_name)
            return [
                iam.PolicyStatement(
                    sid="ReadAndMarkThisGroupsPackages",
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                    resources=[packages],
                )
            ]
        _, packages = package_arns(approvals.group_name, approvals.source_account)
        return [
            iam.PolicyStatement(
                sid="ReadTheSourceGroupsPackages",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[packages],
            ),
            iam.PolicyStatement(
                sid="ReadTheSourceAccountsArtifacts",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=list(source_artifact_arns(approvals.source_bucket)),
            ),
            iam.PolicyStatement(
                sid="DecryptTheSourceAccountsArtifactsThroughS3",
                actions=["kms:Decrypt"],
                resources=[approvals.source_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
        ]

    def _acknowledge_registry(self, policy: IConstruct) -> None:
        approvals = self.props.approvals
        if approvals is None:
            return
        group = approvals.group_name
        account = approvals.source_account or "<AWS::AccountId>"
        findings = [
            f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:{account}:model-package/"
            f"{group}/*"
        ]
        if approvals.source_account:
            findings.append(
                f"Resource::arn:<AWS::Partition>:s3:::{approvals.source_bucket}/{MODELS_PREFIX}*"
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
            dimensions_map={"EndpointName": self.props.served_name},
            statistic="Sum",
            period=period or Duration.minutes(1),
        )

    def metric_dead_letters(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period or Duration.minutes(1), statistic="Maximum"
        )


def source_artifact_arns(source_bucket: str) -> tuple[str, ...]:
    """The other account's artifacts (in ``source_bucket``) a promotion from its registry
    reads (none without one)."""
    if not source_bucket:
        return ()
    return (f"arn:{Aws.PARTITION}:s3:::{source_bucket}/{MODELS_PREFIX}*",)
