"""The in-account model monitor (``model_monitor.engine: own``), AWS's replacement guidance for
SageMaker Model Monitor: open-source analysis in the account.

EventBridge Scheduler invokes a container-image function (``runtime/Dockerfile``: Evidently
and its dependencies exceed a zip function's 250 MB) every ``schedule`` with the scheduled
time; the function reads that window's data capture and the served model's training rows
(``monitoring/baseline/reference/``, kept current by the promotion), runs Evidently, publishes
per-feature drift scores and verdicts, the share of drifted features, data-quality shares and
model quality to CloudWatch (its own namespace), and writes an HTML and a JSON report per run
under ``monitoring/reports/own/``. The drift and AUC alarms keep their names, so retraining
starts from them as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.artifact_storage import (
    DATA_CAPTURE_PREFIX,
    GROUND_TRUTH_PREFIX,
    MONITORING_BASELINE_PREFIX,
    MONITORING_REPORTS_PREFIX,
    ArtifactStorage,
)
from ml_constructs.drift_monitor.runtime.config import AnalyzerConfig
from ml_constructs.findings import (
    acknowledge_encrypted_sends,
    acknowledge_function,
    acknowledge_inline_policy,
)
from ml_constructs.function_setup import FunctionSetup, FunctionSpec
from ml_constructs.nag import acknowledge, bucket_arn_in, nag_logical_id
from ml_constructs.naming import role_name, validate_prefix
from ml_constructs.private_network.construct import PrivateNetwork

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
REPORTS_PREFIX = f"{MONITORING_REPORTS_PREFIX}own/"
#: A cron expression of EventBridge Scheduler: six fields (minutes hours day month weekday year).
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
FUNCTION = FunctionSpec(
    role_purpose="drift-monitor",
    role_description="In-account model monitor: reads captures, labels and the baseline, "
    "writes reports, publishes its metrics",
    what="the model monitor",
    dead_letters="This is the monitor function's dead-letter queue.",
)


@dataclass(frozen=True)
class DriftMonitorProps:
    """The endpoint, where its captured data, labels, baselines and reports are, the alarm
    topic the analyzer announces drift on, when it runs and what it compares."""

    prefix: str
    endpoint_name: str
    storage: ArtifactStorage
    encryption_key: kms.IKey
    topic: sns.ITopic
    #: When the analyzer runs: a cron expression in UTC (``cron(0 * ? * * *)``: hourly).
    schedule: str = "cron(0 * ? * * *)"
    #: Hours of captured traffic each run reads (the time between runs).
    window_hours: int = 1
    #: How long ground truth takes to arrive: model quality scores the traffic that long ago.
    label_delay_hours: int = 24
    #: Rows kept per window (a reservoir sample), fewest labelled rows for model quality.
    sample_size: int = 10_000
    min_labels: int = 30
    #: The share of drifted features that makes the window drift.
    drift_share: float = 0.5
    #: Evidently's method and threshold for every feature (None: Evidently chooses per column).
    stattest: str | None = None
    stattest_threshold: float | None = None
    probability_threshold: float = 0.5
    model_quality: bool = True
    memory_mb: int = 3008
    timeout_s: int = 900
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    network: PrivateNetwork | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if not _CRON.match(self.schedule):
            problems.append(f"schedule {self.schedule!r} is not cron(...) with six fields")
        if not 128 <= self.memory_mb <= 10_240:
            problems.append(f"memory_mb {self.memory_mb} is outside 128-10240")
        if not 1 <= self.timeout_s <= 900:
            problems.append(f"timeout_s {self.timeout_s} is outside 1-900")
        if self.architecture not in ("x86_64", "arm64"):
            problems.append(f"architecture {self.architecture!r} is not x86_64 or arm64")
        try:  # the analysis settings, as the analyzer checks them when it starts
            self.analyzer_config()
        except ValueError as error:
            problems.append(f"the analyzer's settings: {error}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def namespace(self) -> str:
        """The CloudWatch namespace of this environment's monitor (its role may publish there
        only)."""
        return f"{self.prefix}/model-monitor"

    def analyzer_config(self) -> AnalyzerConfig:
        """What the function's environment says (the runtime reads it back)."""
        return AnalyzerConfig(
            bucket=self.storage.bucket_name,
            endpoint_name=self.endpoint_name,
            capture_prefix=f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}/",
            ground_truth_prefix=GROUND_TRUTH_PREFIX,
            baseline_prefix=MONITORING_BASELINE_PREFIX,
            reports_prefix=REPORTS_PREFIX,
            key_arn=self.encryption_key.key_arn,
            namespace=self.namespace,
            topic_arn=self.topic.topic_arn,
            window_hours=self.window_hours,
            label_delay_hours=self.label_delay_hours,
            sample_size=self.sample_size,
            min_labels=self.min_labels,
            drift_share=self.drift_share,
            stattest=self.stattest,
            stattest_threshold=self.stattest_threshold,
            probability_threshold=self.probability_threshold,
            model_quality=self.model_quality,
        )


class DriftMonitor(Construct):
    """``function``, ``schedule``; ``metric_*`` and the drift alarm's semantics for the
    operations construct (``ModelMonitorMetrics``)."""

    #: The alarms read the per-feature verdict (1 drifted, 0 not): Evidently's methods differ
    #: in direction (a p-value drifts below its threshold, a distance above), the verdict not.
    drift_alarm_threshold = 1.0
    drift_alarm_operator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD

    def __init__(self, scope: Construct, construct_id: str, *, props: DriftMonitorProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        setup = FunctionSetup(self, props, FUNCTION, logs.RetentionDays.THREE_MONTHS)
        self.log_group, self.role = setup.log_group, setup.role
        self.dead_letter_queue = setup.dead_letter_queue
        self._grant()
        arm = props.architecture == "arm64"
        self.function = setup.function(
            lambda_.DockerImageFunction,
            function_name=f"{props.prefix}-drift-monitor",
            description="Runs Evidently on a window of data capture against the served model",
            code=lambda_.DockerImageCode.from_image_asset(
                str(RUNTIME_DIR),
                platform=(
                    ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64
                ),
                exclude=["__pycache__", "*.pyc"],
            ),
            architecture=lambda_.Architecture.ARM_64 if arm else lambda_.Architecture.X86_64,
            memory_size=props.memory_mb,
            timeout=Duration.seconds(props.timeout_s),
            retry_attempts=0,  # the next window comes; a failed run is an alarm, not a retry
            environment=props.analyzer_config().to_env(),
        )
        self.schedule = self._schedule()
        self._acknowledge()

    def analyzer_config(self) -> AnalyzerConfig:
        """What the function's environment says (the runtime reads it back)."""
        return self.props.analyzer_config()

    # -- pieces ------------------------------------------------------------------------------

    def _schedule(self) -> scheduler.Schedule:
        """Every ``schedule`` (a cron expression in UTC), with the scheduled time as input."""
        expression = self.props.schedule.removeprefix("cron(").removesuffix(")")
        minute, hour, day, month, weekday, year = expression.split()
        role = iam.Role(
            self,
            "ScheduleRole",
            role_name=role_name(self.props.prefix, "drift-schedule"),
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="EventBridge Scheduler: invoke the model monitor's function",
        )
        schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=f"{self.props.prefix}-drift-monitor",
            description=f"{self.props.prefix}: analyze the last window of data capture",
            schedule=scheduler.ScheduleExpression.cron(
                minute=minute,
                hour=hour,
                day=None if day == "?" else day,
                month=month,
                week_day=None if weekday == "?" else weekday,
                year=year,
            ),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                retry_attempts=0,
                role=role,
            ),
        )
        acknowledge_inline_policy(role)  # the target's invoke grant is the role's policy
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "CDK's invoke grant names the function and its versions (<function ARN>:*); the "
            "schedule invokes $LATEST of this function only.",
            [f"Resource::<{nag_logical_id(self.function)}.Arn>:*"],
        )
        return schedule

    def _grant(self) -> None:
        props, role = self.props, self.role
        bucket_arn, _ = bucket_arn_in(self, props.storage.bucket)
        capture = f"{DATA_CAPTURE_PREFIX}{props.endpoint_name}/"
        statements = [
            iam.PolicyStatement(
                sid="ListTheWindowsCapturesAndLabels",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{capture}*", f"{GROUND_TRUTH_PREFIX}*"]}
                },
            ),
            iam.PolicyStatement(
                sid="ReadCapturesLabelsAndTheBaseline",
                actions=["s3:GetObject"],
                resources=[
                    f"{bucket_arn}/{capture}*",
                    f"{bucket_arn}/{GROUND_TRUTH_PREFIX}*",
                    f"{bucket_arn}/{MONITORING_BASELINE_PREFIX}*",
                ],
            ),
            iam.PolicyStatement(
                sid="WriteReports",
                actions=["s3:PutObject"],
                resources=[f"{bucket_arn}/{REPORTS_PREFIX}*"],
            ),
            iam.PolicyStatement(
                sid="UseTheKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[props.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="PublishItsMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": props.namespace}},
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        props.topic.grant_publish(role)

    def _acknowledge(self) -> None:
        props = self.props
        policy = self.role.node.find_child("DefaultPolicy")
        _, bucket_ref = bucket_arn_in(self, props.storage.bucket)
        capture = f"{DATA_CAPTURE_PREFIX}{props.endpoint_name}/"
        acknowledge_encrypted_sends(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "The monitor reads the objects SageMaker, the ground-truth upload and the promotion "
            "write under their prefixes (names chosen at run time) and writes its reports under "
            "its own; PutMetricData supports no resource (limited to its namespace by "
            "condition); its log streams are named at run time in its own log group.",
            [
                f"Resource::{bucket_ref}/{capture}*",
                f"Resource::{bucket_ref}/{GROUND_TRUTH_PREFIX}*",
                f"Resource::{bucket_ref}/{MONITORING_BASELINE_PREFIX}*",
                f"Resource::{bucket_ref}/{REPORTS_PREFIX}*",
                "Resource::*",
                f"Resource::<{nag_logical_id(self.log_group)}.Arn>:*",
            ],
        )
        acknowledge_function(
            self.function,
            dead_letters=None,  # it has one
            concurrency=(
                "One scheduled invocation per window; a reservation would take account "
                "concurrency for an hourly run."
            ),
        )

    # -- what the operations construct reads ---------------------------------------------------

    def _metric(self, name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.props.namespace,
            metric_name=name,
            dimensions_map={"Endpoint": self.props.endpoint_name},
            statistic=statistic,
            period=period,
        )

    def metric_feature_drift(self, feature: str, period: Duration) -> cloudwatch.Metric:
        """Evidently's verdict on ``feature`` in the window (1 drifted, 0 not)."""
        return self._metric(f"feature_drifted_{feature}", "Maximum", period)

    def metric_model_quality(self, name: str, period: Duration) -> cloudwatch.Metric:
        """A binary-classification metric of the labelled traffic (``auc``, ``f1``, ...)."""
        return self._metric(name, "Minimum", period)

    def metric_failed_executions(self, period: Duration) -> cloudwatch.IMetric:
        """Runs that failed (the function's errors) or found no baseline to compare with (the
        served model carries no reference rows): either way the model is not being watched."""
        return cloudwatch.MathExpression(
            expression="FILL(errors, 0) + FILL(no_baseline, 0)",
            using_metrics={
                "errors": self.function.metric_errors(period=period, statistic="Sum"),
                "no_baseline": self._metric("baseline_missing", "Maximum", period),
            },
            label="Failed runs and runs without a baseline",
            period=period,
        )

    def describe_drift(self, feature: str) -> str:
        """The drift alarm's description: what fired, and where each run's report is."""
        bucket = self.props.storage.bucket_name
        return (
            f"Evidently found {feature} in the captured traffic drifted from the served model's "
            "training rows (the method and its threshold are in the report). Each run writes "
            f"s3://{bucket}/{REPORTS_PREFIX}{self.props.endpoint_name}/YYYY/MM/DD/HHMM/"
            "report.html (plots) and report.json; the analyzer's log and its message on this "
            "topic name the run's."
        )
