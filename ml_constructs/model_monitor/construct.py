"""SageMaker Model Monitor on the endpoint's captured traffic: data quality (drift of every
feature from the served model's baseline) and model quality (AUC of the labelled requests).

Each monitor is a job definition and an hourly (configurable) ``MonitoringSchedule``. Job
definitions cannot be updated, so each is named after a digest of its properties: a change
creates a new one, CloudFormation points the schedule at it and deletes the old one. Their
baseline is read from fixed keys under ``monitoring/baseline/``, which the promotion fills with
the served model's own baseline once the endpoint serves it: the schedules follow promotions
without CloudFormation knowing, and a later ``cdk deploy`` changes nothing about it.

The jobs run the region's Model Monitor analyzer (sagemaker-core's image table) with network
isolation and inter-container encryption, their volume and outputs encrypted with the project
key, and a role of their own: read ``data-capture/``, the baseline and ``ground-truth/``, write
``monitoring/reports/``, publish the two Model Monitor metric namespaces.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Aws, Duration, IStableStringProducer, Lazy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct, IDependable

from ml_constructs.artifact_storage import (
    DATA_CAPTURE_PREFIX,
    GROUND_TRUTH_PREFIX,
    MONITORING_BASELINE_PREFIX,
    MONITORING_REPORTS_PREFIX,
    ArtifactStorage,
)
from ml_constructs.encryption_key import grant_key_to_sagemaker_volumes
from ml_constructs.event_targets import ArnTarget
from ml_constructs.findings import acknowledge_inline_policy
from ml_constructs.framework_image import ModelMonitorImage
from ml_constructs.nag import acknowledge, bucket_arn_in
from ml_constructs.naming import role_name, validate_prefix
from ml_constructs.private_network.construct import (
    VPC_ACCESS_REASON,
    PrivateNetwork,
    grant_vpc_access,
    sagemaker_vpc_config,
)
from serving_core.baseline import (
    DATA_QUALITY_CONSTRAINTS,
    DATA_QUALITY_STATISTICS,
    MODEL_QUALITY_CONSTRAINTS,
    PREPROCESSOR,
    monitoring_key,
)

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"
#: What a captured response looks like: {"predictions": [{"probability": p, "label": l}]}.
PROBABILITY_ATTRIBUTE = "predictions[0].probability"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"


#: What ScheduleConfig accepts for monitoring: on the hour, every N hours or at given hours.
_SCHEDULE = re.compile(r"^cron\(0 (\*|\d{1,2}(,\d{1,2})*|\d{1,2}/\d{1,2}) \? \* \* \*\)$")


@dataclass(frozen=True)
class ModelMonitorProps:
    """The endpoint, where its captured data and baselines are, when the jobs run, on what,
    and what they compare."""

    prefix: str
    endpoint_name: str
    storage: ArtifactStorage
    encryption_key: kms.IKey
    #: When the jobs run: ``cron(0 * ? * * *)`` (hourly), every N hours or at given hours.
    schedule: str = "cron(0 * ? * * *)"
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = 20
    max_runtime_s: int = 1800
    #: The analyzer's distance of a feature from the baseline above which it drifts.
    drift_threshold: float = 0.1
    #: Model quality (AUC of the labelled traffic) besides data quality.
    model_quality: bool = True
    probability_threshold: float = 0.5
    #: How long ground truth takes to arrive: each model-quality run scores that long ago.
    label_delay_hours: int = 24
    #: Private networking: the jobs in the private subnets (the role may place them there).
    network: PrivateNetwork | None = None

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if not _SCHEDULE.match(self.schedule):
            problems.append(f"schedule {self.schedule!r} is not an hourly monitoring schedule")
        if not self.instance_type.startswith("ml."):
            problems.append(f"instance_type {self.instance_type!r} is not an ml.* type")
        if self.volume_size_gb < 1:
            problems.append(f"volume_size_gb {self.volume_size_gb} must be at least 1")
        # Model Monitor: an hourly model-quality run may last 1800 s, a data-quality one 3600 s.
        limit = 1800 if self.model_quality else 3600
        if not 1 <= self.max_runtime_s <= limit:
            problems.append(f"max_runtime_s {self.max_runtime_s} is outside 1-{limit}")
        if not 0.0 < self.drift_threshold < 1.0:
            problems.append(f"drift_threshold {self.drift_threshold} is outside (0, 1)")
        if not 0.0 < self.probability_threshold < 1.0:
            problems.append(f"probability_threshold {self.probability_threshold} is outside (0, 1)")
        if self.label_delay_hours < 0:
            problems.append(f"label_delay_hours {self.label_delay_hours} must not be negative")
        if problems:
            raise ValueError("; ".join(problems))


@jsii.implements(IStableStringProducer)
class _DigestName:
    """``<prefix>-<kind>-<10 hex>``, the digest of a job definition's resolved properties and
    tags (every one of them replaces it), produced at synth once tags are applied."""

    def __init__(self, prefix: str, kind: str, properties: Mapping[str, Any]) -> None:
        self.prefix, self.kind, self.properties = prefix, kind, dict(properties)
        self.resource: Any = None

    def produce(self) -> str:
        stack = Stack.of(self.resource)
        content = {"properties": self.properties, "tags": self.resource.tags.render_tags()}
        resolved = json.dumps(stack.resolve(content), sort_keys=True, default=str)
        return f"{self.prefix}-{self.kind}-{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def digest_named(
    resource_type: Any,
    scope: Construct,
    construct_id: str,
    prefix: str,
    kind: str,
    properties: Mapping[str, Any],
) -> Any:
    """A job definition named after its digest: a change of any property creates a new one
    (they cannot be updated) and CloudFormation can replace it."""
    name = _DigestName(prefix, kind, properties)
    resource = resource_type(
        scope, construct_id, job_definition_name=Lazy.string(name), **properties
    )
    name.resource = resource
    return resource


class ModelMonitor(Construct):
    """Data-quality and model-quality schedules; ``metric_*`` for the operations construct,
    ``alarm_names_pattern`` for what may start retraining."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: ModelMonitorProps,
        endpoint: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        #: The analyzer's distance of a feature from the baseline drifts above the threshold.
        self.drift_alarm_threshold = props.drift_threshold
        self.drift_alarm_operator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        #: SageMaker checks that the endpoint a schedule watches exists when the schedule (and
        #: its job definition) is created; both name it by a string, so they depend on it.
        self._endpoint = endpoint
        self.image = ModelMonitorImage(self, "AnalyzerImage")
        self.role = self._role()
        stack = Stack.of(self)
        self.baseline_uri = f"s3://{props.storage.bucket_name}/{MONITORING_BASELINE_PREFIX}"
        self.reports_uri = f"s3://{props.storage.bucket_name}/{MONITORING_REPORTS_PREFIX}"
        dq = sagemaker.CfnDataQualityJobDefinition
        data_quality: dict[str, Any] = {
            "data_quality_app_specification": dq.DataQualityAppSpecificationProperty(
                image_uri=self.image.image_uri,
                record_preprocessor_source_uri=self._baseline(PREPROCESSOR),
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            "data_quality_baseline_config": dq.DataQualityBaselineConfigProperty(
                constraints_resource=dq.ConstraintsResourceProperty(
                    s3_uri=self._baseline(DATA_QUALITY_CONSTRAINTS)
                ),
                statistics_resource=dq.StatisticsResourceProperty(
                    s3_uri=self._baseline(DATA_QUALITY_STATISTICS)
                ),
            ),
            "data_quality_job_input": dq.DataQualityJobInputProperty(
                endpoint_input=dq.EndpointInputProperty(
                    endpoint_name=props.endpoint_name,
                    local_path=INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            **self._job(dq),
            "data_quality_job_output_config": self._output(dq, "data-quality"),
        }
        self.data_quality = digest_named(
            dq, self, "DataQualityJobDefinition", props.prefix, "dq", data_quality
        )
        self.data_quality_schedule = self._schedule(
            "DataQualitySchedule", "data-quality", "DataQuality", self.data_quality
        )
        self.model_quality: sagemaker.CfnModelQualityJobDefinition | None = None
        self.model_quality_schedule: sagemaker.CfnMonitoringSchedule | None = None
        if props.model_quality:
            self._add_model_quality(stack)
        self.failure_rule = self._failure_rule()

    # -- pieces ------------------------------------------------------------------------------

    def _baseline(self, member: str) -> str:
        """The fixed URI of a baseline member (the served model's, written by the promotion)."""
        return f"{self.baseline_uri}{monitoring_key('', member)}"

    def _output(self, resource: Any, name: str) -> Any:
        return resource.MonitoringOutputConfigProperty(
            kms_key_id=self.props.encryption_key.key_arn,
            monitoring_outputs=[
                resource.MonitoringOutputProperty(
                    s3_output=resource.S3OutputProperty(
                        local_path=OUTPUT_PATH,
                        s3_uri=f"{self.reports_uri}{name}",
                        s3_upload_mode="EndOfJob",
                    )
                )
            ],
        )

    def _job(self, resource: Any) -> dict[str, Any]:
        """What both job definitions share: one instance with an encrypted volume, network
        isolation and encrypted inter-container traffic, the role, the run-time limit."""
        props = self.props
        return {
            "job_resources": resource.MonitoringResourcesProperty(
                cluster_config=resource.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=props.instance_type,
                    volume_size_in_gb=props.volume_size_gb,
                    volume_kms_key_id=props.encryption_key.key_arn,
                )
            ),
            "network_config": resource.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=self._vpc_config(resource),
            ),
            "role_arn": self.role.role_arn,
            "stopping_condition": resource.StoppingConditionProperty(
                max_runtime_in_seconds=props.max_runtime_s
            ),
        }

    def _vpc_config(self, resource: Any) -> Any:
        vpc = sagemaker_vpc_config(self.props.network)
        if vpc is None:
            return None
        return resource.VpcConfigProperty(
            security_group_ids=vpc["SecurityGroupIds"], subnets=vpc["Subnets"]
        )

    def _add_model_quality(self, stack: Stack) -> None:
        props = self.props
        model = sagemaker.CfnModelQualityJobDefinition
        delay = props.label_delay_hours
        quality: dict[str, Any] = {
            "model_quality_app_specification": model.ModelQualityAppSpecificationProperty(
                image_uri=self.image.image_uri,
                problem_type="BinaryClassification",
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            "model_quality_baseline_config": model.ModelQualityBaselineConfigProperty(
                constraints_resource=model.ConstraintsResourceProperty(
                    s3_uri=self._baseline(MODEL_QUALITY_CONSTRAINTS)
                )
            ),
            "model_quality_job_input": model.ModelQualityJobInputProperty(
                endpoint_input=model.EndpointInputProperty(
                    endpoint_name=props.endpoint_name,
                    local_path=INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                    probability_attribute=PROBABILITY_ATTRIBUTE,
                    probability_threshold_attribute=props.probability_threshold,
                    start_time_offset=f"-PT{delay + 1}H",
                    end_time_offset=f"-PT{delay}H",
                ),
                ground_truth_s3_input=model.MonitoringGroundTruthS3InputProperty(
                    s3_uri=f"s3://{props.storage.bucket_name}/{GROUND_TRUTH_PREFIX}"
                ),
            ),
            "model_quality_job_output_config": self._output(model, "model-quality"),
            **self._job(model),
        }
        self.model_quality = digest_named(
            model, self, "ModelQualityJobDefinition", props.prefix, "mq", quality
        )
        self.model_quality_schedule = self._schedule(
            "ModelQualitySchedule", "model-quality", "ModelQuality", self.model_quality
        )

    def _schedule(
        self, construct_id: str, name: str, monitoring_type: str, definition: Any
    ) -> sagemaker.CfnMonitoringSchedule:
        schedule = sagemaker.CfnMonitoringSchedule(
            self,
            construct_id,
            monitoring_schedule_name=f"{self.props.prefix}-{name}",
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=definition.job_definition_name,
                monitoring_type=monitoring_type,
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=self.props.schedule
                ),
            ),
            endpoint_name=self.props.endpoint_name,
        )
        schedule.add_resource_dependency(definition)  # named, not referenced
        schedule.node.add_dependency(self._endpoint)
        definition.node.add_dependency(self._endpoint)
        return schedule

    def schedule_arn(self, name: str) -> str:
        return (
            f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:monitoring-schedule/"
            f"{self.props.prefix}-{name}"
        )

    def _failure_rule(self) -> events.Rule:
        """A failed execution of either schedule (its processing job names the schedule)."""
        schedules = ["data-quality"] + (["model-quality"] if self.model_quality else [])
        return events.Rule(
            self,
            "FailedExecutions",
            rule_name=f"{self.props.prefix}-monitoring-failed",
            description=f"{self.props.prefix}: a Model Monitor execution failed",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                detail={
                    "ProcessingJobStatus": ["Failed"],
                    "MonitoringScheduleArn": [self.schedule_arn(s) for s in schedules],
                },
            ),
        )

    def notify_failures(self, topic: sns.ITopic) -> None:
        """Each failed execution, as it happens, on the alarm topic (which admits this rule
        only: ``aws:SourceArn``)."""
        job = events.EventField.from_path("$.detail.ProcessingJobName")
        reason = events.EventField.from_path("$.detail.FailureReason")
        text = f"Model Monitor execution {job} of {self.props.endpoint_name} failed: {reason}"
        message = events.RuleTargetInput.from_text(text)
        self.failure_rule.add_target(ArnTarget(topic.topic_arn, message))
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ModelMonitorFailuresRule",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.failure_rule.rule_arn}},
            )
        )

    def _role(self) -> iam.Role:
        """The jobs' role: read captures, baselines and labels, write reports, publish the
        metrics, pull the analyzer, encrypt the volume (and run in the VPC when private)."""
        props = self.props
        bucket_arn, bucket_ref = bucket_arn_in(self, props.storage.bucket)
        role = iam.Role(
            self,
            "Role",
            role_name=role_name(props.prefix, "model-monitor"),
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Model Monitor jobs: read captured data, baselines, labels; write reports",
        )
        for statement in self._role_statements(bucket_arn):
            role.add_to_policy(statement)
        grant_key_to_sagemaker_volumes(role, props.encryption_key, "EncryptTheJobVolume")
        if props.network is not None:
            grant_vpc_access(role)
        acknowledge_inline_policy(role)
        self._acknowledge_role(role, bucket_ref)
        return role

    def _role_statements(self, bucket_arn: str) -> list[iam.PolicyStatement]:
        key = self.props.encryption_key

        def objects(prefix: str) -> str:
            return f"{bucket_arn}/{prefix}*"

        return [
            iam.PolicyStatement(
                sid="ReadCapturedDataBaselinesAndLabels",
                actions=["s3:GetObject"],
                resources=[
                    objects(DATA_CAPTURE_PREFIX),
                    objects(MONITORING_BASELINE_PREFIX),
                    objects(GROUND_TRUTH_PREFIX),
                ],
            ),
            iam.PolicyStatement(
                sid="ListCapturedDataAndLabels",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={
                    "StringLike": {
                        "s3:prefix": [
                            f"{DATA_CAPTURE_PREFIX}*",
                            f"{GROUND_TRUTH_PREFIX}*",
                            f"{MONITORING_BASELINE_PREFIX}*",
                            f"{MONITORING_REPORTS_PREFIX}*",
                        ]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="WriteReports",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[objects(MONITORING_REPORTS_PREFIX)],
            ),
            iam.PolicyStatement(
                sid="UseTheKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="PublishModelMonitorMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "cloudwatch:namespace": [DATA_METRICS_NAMESPACE, MODEL_METRICS_NAMESPACE]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
                    f"{PROCESSING_LOG_GROUP}:*"
                ],
            ),
            iam.PolicyStatement(
                sid="PullTheAnalyzerImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=[self.image.repository_arn],
            ),
            iam.PolicyStatement(
                sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
        ]

    def _acknowledge_role(self, role: iam.Role, bucket_ref: str) -> None:
        wildcard = [
            f"Resource::{bucket_ref}/{p}*"
            for p in (
                DATA_CAPTURE_PREFIX,
                MONITORING_BASELINE_PREFIX,
                GROUND_TRUTH_PREFIX,
                MONITORING_REPORTS_PREFIX,
            )
        ]
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "Model Monitor reads captured data and labels whose keys SageMaker and the labelling "
            "process choose (per endpoint, variant and hour) and writes reports per execution; "
            "each statement is limited to its prefix of the artifact bucket. "
            "cloudwatch:PutMetricData and ecr:GetAuthorizationToken support no resource "
            "(PutMetricData is limited to Model Monitor's two namespaces); processing job log "
            "streams are named per job in /aws/sagemaker/ProcessingJobs."
            + (" " + VPC_ACCESS_REASON if self.props.network is not None else ""),
            [
                *wildcard,
                "Resource::*",
                f"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
                f"{PROCESSING_LOG_GROUP}:*",
            ],
        )

    # -- metrics for alarms and the dashboard --------------------------------------------------

    def _dimensions(self, schedule: str) -> dict[str, str]:
        return {
            "Endpoint": self.props.endpoint_name,
            "MonitoringSchedule": f"{self.props.prefix}-{schedule}",
        }

    def describe_drift(self, feature: str) -> str:
        threshold = self.drift_alarm_threshold
        return (
            f"The distribution of {feature} in the captured traffic moved away from the served "
            f"model's training baseline (distance above {threshold}). See the data-quality "
            "report under monitoring/reports/ in the artifact bucket."
        )

    def metric_feature_drift(self, feature: str, period: Duration) -> cloudwatch.Metric:
        """The analyzer's distance of ``feature`` from the baseline (0 same, 1 disjoint)."""
        return cloudwatch.Metric(
            namespace=DATA_METRICS_NAMESPACE,
            metric_name=f"{DRIFT_METRIC_PREFIX}{feature}",
            dimensions_map=self._dimensions("data-quality"),
            statistic="Maximum",
            period=period,
        )

    def metric_model_quality(self, name: str, period: Duration) -> cloudwatch.Metric:
        """A binary-classification metric of the labelled traffic (``auc``, ``f1``, ...)."""
        return cloudwatch.Metric(
            namespace=MODEL_METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map=self._dimensions("model-quality"),
            statistic="Minimum",
            period=period,
        )

    def metric_failed_executions(self, period: Duration) -> cloudwatch.Metric:
        """Failed executions of the schedules (EventBridge's count of the rule's matches)."""
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions_map={"RuleName": self.failure_rule.rule_name},
            statistic="Sum",
            period=period,
        )
