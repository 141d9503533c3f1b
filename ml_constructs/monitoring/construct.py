"""Alarms on the endpoint, the inference function and API, and promotions; their encrypted
topic; and one dashboard that shows traffic, latency, errors, capacity and promotions.

Thresholds (:class:`AlarmThresholds`) are in human units and are converted here to what
CloudWatch reports: SageMaker's ``ModelLatency`` is in
microseconds and a variant's ``CPUUtilization`` is summed over its vCPUs (400 % on a
4-vCPU instance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ml_constructs.naming import alarms_arn, validate_prefix
from serving_core.alarm_thresholds import AlarmThresholds
from serving_core.metric_names import (
    METRIC_COMPLETED,
    METRIC_ERRORS,
    METRIC_FAILED,
    METRIC_REJECTED,
    METRIC_STARTED,
)

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
_MICROSECONDS_PER_MS = 1000


class InferenceApiMetrics(Protocol):
    """What the inference API construct exposes for monitoring (issue 4's metric helpers)."""

    def metric_function_errors(self, period: Duration | None = None) -> cloudwatch.Metric: ...
    def metric_function_throttles(self, period: Duration | None = None) -> cloudwatch.Metric: ...
    def metric_function_duration(
        self, period: Duration | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric: ...
    def metric_api_5xx(self, period: Duration | None = None) -> cloudwatch.Metric: ...
    def metric_api_4xx(self, period: Duration | None = None) -> cloudwatch.Metric: ...
    def metric_api_latency(
        self, period: Duration | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric: ...


class ModelMonitorMetrics(Protocol):
    """What a model monitor (in-account or SageMaker's) exposes for monitoring: its metrics,
    and how its drift metric reads (above which value, and what to tell the reader)."""

    drift_alarm_threshold: float
    drift_alarm_operator: cloudwatch.ComparisonOperator

    def describe_drift(self, feature: str) -> str: ...
    def metric_feature_drift(self, feature: str, period: Duration) -> cloudwatch.Metric: ...
    def metric_model_quality(self, name: str, period: Duration) -> cloudwatch.Metric: ...
    def metric_failed_executions(self, period: Duration) -> cloudwatch.IMetric: ...


class ModelFunctionMetrics(Protocol):
    """What the Lambda-hosted model exposes for monitoring beyond the API's function metrics."""

    def metric_concurrency(self, period: Duration) -> cloudwatch.Metric: ...
    def metric_spillover(self, period: Duration) -> cloudwatch.Metric: ...


class PromotionMetrics(Protocol):
    """What the promotion construct exposes for monitoring."""

    def metric_promotions(self, name: str, period: Duration | None = None) -> cloudwatch.Metric: ...
    def metric_dead_letters(self, period: Duration | None = None) -> cloudwatch.Metric: ...


def vcpus(instance_type: str) -> int:
    """vCPUs of an ``ml.<family>.<size>`` type from its size (large=2, xlarge=4, 4xlarge=16)."""
    size = instance_type.rsplit(".", 1)[-1]
    fixed = {"medium": 1, "large": 2, "xlarge": 4, "metal": 96}
    if size in fixed:
        return fixed[size]
    match = re.fullmatch(r"(\d+)xlarge", size)
    if not match:
        raise ValueError(f"cannot tell the vCPUs of {instance_type!r}")
    return 4 * int(match.group(1))


@dataclass(frozen=True)
class MonitoringProps:
    """The endpoint to watch, the thresholds, and the key that encrypts the alarm topic."""

    prefix: str
    alarms: AlarmThresholds
    encryption_key: kms.IKey
    endpoint_name: str
    variant_name: str
    instance_type: str | None = None  # None for a serverless variant (no instance metrics)
    #: False when the model runs inside Lambda: no endpoint alarms; the function's alarms
    #: (:meth:`Monitoring.add_inference_api`, :meth:`Monitoring.add_model_function`) watch it.
    sagemaker_endpoint: bool = True

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if self.instance_type is not None:
            vcpus(self.instance_type)
        problems = self.alarms.problems()
        if problems:
            raise ValueError("; ".join(f"alarms.{name}: {message}" for name, message in problems))


class Monitoring(Construct):
    """Endpoint alarms on creation; ``add_inference_api`` / ``add_promotion`` add the rest.

    ``rollback_alarms`` are the ones a blue/green promotion watches to roll back by itself.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: MonitoringProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        thresholds = props.alarms
        self.period = Duration.seconds(thresholds.period_s)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{props.prefix}-alarms",
            display_name=f"{props.prefix} alarms",
            master_key=props.encryption_key,
            enforce_ssl=True,
        )
        # The explicit topic policy replaces SNS's default one: let this account's
        # CloudWatch alarms (and nothing else outside IAM) publish.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisApp",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": alarms_arn(props.prefix)},
                },
            )
        )
        for email in thresholds.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.topic_arn = self.topic.topic_arn
        self._action = actions.SnsAction(self.topic)

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{props.prefix}-operations",
            default_interval=Duration.hours(6),
        )
        self.dashboard_name = f"{props.prefix}-operations"
        self.rollback_alarms: list[cloudwatch.IAlarm] = []
        if props.sagemaker_endpoint:
            self._add_endpoint_alarms()
            self.rollback_alarms = [
                self.alarms[name]
                for name in ("endpoint-5xx", "endpoint-4xx-rate", "model-latency-p99")
            ]

    # -- helpers -----------------------------------------------------------------------------

    def _alarm(
        self,
        key: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        missing: cloudwatch.TreatMissingData,
        operator: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        evaluation_periods: int | None = None,
        datapoints: int | None = None,
    ) -> cloudwatch.Alarm:
        thresholds = self.props.alarms
        alarm = cloudwatch.Alarm(
            self,
            "".join(part.capitalize() for part in key.split("-")),
            alarm_name=f"{self.props.prefix}-{key}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=evaluation_periods or thresholds.evaluation_periods,
            datapoints_to_alarm=datapoints or thresholds.datapoints_to_alarm,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[key] = alarm
        return alarm

    def _endpoint_metric(
        self, name: str, statistic: str, namespace: str = SAGEMAKER_NAMESPACE
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map={
                "EndpointName": self.props.endpoint_name,
                "VariantName": self.props.variant_name,
            },
            statistic=statistic,
            period=self.period,
        )

    # -- endpoint ----------------------------------------------------------------------------

    def _add_endpoint_alarms(self) -> None:
        props, thresholds = self.props, self.props.alarms
        endpoint = f"{props.endpoint_name}/{props.variant_name}"
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        self._alarm(
            "endpoint-5xx",
            self._endpoint_metric("Invocation5XXErrors", "Sum"),
            threshold=thresholds.endpoint_5xx_errors,
            description=(
                f"{endpoint} answered 5XX (model container errors). Check the endpoint's "
                "CloudWatch logs (/aws/sagemaker/Endpoints/...) and whether a promotion just "
                "started; no traffic counts as OK."
            ),
            missing=not_breaching,
        )
        invocations = self._endpoint_metric("Invocations", "Sum")
        client_errors = self._endpoint_metric("Invocation4XXErrors", "Sum")
        self._alarm(
            "endpoint-4xx-rate",
            cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * FILL(errors4xx, 0) / invocations, 0)",
                using_metrics={"invocations": invocations, "errors4xx": client_errors},
                label="4XX errors (% of invocations)",
                period=self.period,
            ),
            threshold=thresholds.endpoint_4xx_error_rate_percent,
            description=(
                f"More than {thresholds.endpoint_4xx_error_rate_percent}% of requests to "
                f"{endpoint} were rejected as bad input. Check callers' payloads against the "
                "model's feature count, and the inference API's validation logs."
            ),
            missing=not_breaching,
        )
        self._alarm(
            "model-latency-p99",
            self._endpoint_metric("ModelLatency", "p99"),
            threshold=thresholds.model_latency_p99_ms * _MICROSECONDS_PER_MS,
            description=(
                f"p99 ModelLatency of {endpoint} is above {thresholds.model_latency_p99_ms} ms "
                "(SageMaker reports microseconds; the threshold is converted). Check "
                "CPUUtilization, batch sizes and whether autoscaling reached max capacity."
            ),
            missing=not_breaching,
        )
        if props.instance_type is not None:
            cores = vcpus(props.instance_type)
            self._alarm(
                "endpoint-cpu",
                self._endpoint_metric("CPUUtilization", "Average", INSTANCE_NAMESPACE),
                threshold=thresholds.cpu_utilization_percent * cores,
                description=(
                    f"CPU of {endpoint} above {thresholds.cpu_utilization_percent}% of its "
                    f"{cores} vCPUs (CloudWatch sums cores: threshold {cores * 100}% scale). "
                    "Check autoscaling's max capacity and instance type. Missing data keeps "
                    "the state: instance metrics stop only while instances are replaced."
                ),
                missing=cloudwatch.TreatMissingData.MISSING,
            )
            self._alarm(
                "endpoint-memory",
                self._endpoint_metric("MemoryUtilization", "Average", INSTANCE_NAMESPACE),
                threshold=thresholds.memory_utilization_percent,
                description=(
                    f"Memory of {endpoint} above {thresholds.memory_utilization_percent}%. "
                    "Check the model size against the instance type and for leaks after a "
                    "promotion."
                ),
                missing=cloudwatch.TreatMissingData.MISSING,
            )
        self._add_endpoint_widgets(invocations, client_errors)

    def _add_endpoint_widgets(
        self, invocations: cloudwatch.Metric, client_errors: cloudwatch.Metric
    ) -> None:
        latency = {
            stat: cloudwatch.MathExpression(
                expression=f"latency_{stat} / {_MICROSECONDS_PER_MS}",
                using_metrics={f"latency_{stat}": self._endpoint_metric("ModelLatency", stat)},
                label=f"ModelLatency {stat} (ms)",
                period=self.period,
            )
            for stat in ("p50", "p90", "p99")
        }
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="Endpoint invocations and errors",
                left=[invocations],
                right=[client_errors, self._endpoint_metric("Invocation5XXErrors", "Sum")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Endpoint latency percentiles (ms)",
                left=list(latency.values()),
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=self.props.alarms.model_latency_p99_ms, label="p99 alarm"
                    )
                ],
                width=12,
            ),
        ]
        if self.props.instance_type is not None:
            # Each instance reports CPUUtilization once a minute: the 1-minute SampleCount
            # is the number of running instances, so autoscaling shows up over time.
            instances = cloudwatch.MathExpression(
                expression="samples",
                using_metrics={
                    "samples": self._endpoint_metric(
                        "CPUUtilization", "SampleCount", INSTANCE_NAMESPACE
                    ).with_(period=Duration.minutes(1))
                },
                label="Instances (CPUUtilization samples per minute)",
                period=Duration.minutes(1),
            )
            widgets += [
                cloudwatch.GraphWidget(
                    title="Variant instance count (autoscaling)",
                    left=[instances],
                    right=[self._endpoint_metric("InvocationsPerInstance", "Sum")],
                    width=12,
                ),
                cloudwatch.GraphWidget(
                    title="Variant CPU / memory utilization (%)",
                    left=[self._endpoint_metric("CPUUtilization", "Average", INSTANCE_NAMESPACE)],
                    right=[
                        self._endpoint_metric("MemoryUtilization", "Average", INSTANCE_NAMESPACE)
                    ],
                    width=12,
                ),
            ]
        self.dashboard.add_widgets(*widgets)

    # -- inference function and API ----------------------------------------------------------

    def add_inference_api(
        self,
        api: InferenceApiMetrics,
        function_timeout_s: int,
        reservation_setting: str = "api.reserved_concurrency",
    ) -> None:
        """Alarms and widgets of the inference function (the model function's alias when the
        model runs inside Lambda; ``reservation_setting`` names its reservation) and its REST
        API."""
        thresholds = self.props.alarms
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        period = self.period
        duration_limit_ms = (
            function_timeout_s * 1000 * thresholds.function_duration_p99_percent_of_timeout / 100
        )
        self._alarm(
            "function-errors",
            api.metric_function_errors(period),
            threshold=thresholds.function_errors,
            description=(
                "The inference function raised (it answers handled errors itself, so this "
                "is a bug or a crash). Check its log group for the traceback."
            ),
            missing=not_breaching,
        )
        self._alarm(
            "function-throttles",
            api.metric_function_throttles(period),
            threshold=thresholds.function_throttles,
            description=(
                "The inference function was throttled: its reserved concurrency "
                f"({reservation_setting}) or the account's concurrency quota is exhausted. "
                "Raise the reservation or the quota, or lower the API's throttling limits."
            ),
            missing=not_breaching,
        )
        self._alarm(
            "function-duration-p99",
            api.metric_function_duration(period, "p99"),
            threshold=duration_limit_ms,
            description=(
                f"p99 duration of the inference function is above "
                f"{thresholds.function_duration_p99_percent_of_timeout}% of its "
                f"{function_timeout_s} s timeout. Check the endpoint's ModelLatency and "
                "instance count before raising the timeout."
            ),
            missing=not_breaching,
        )
        self._alarm(
            "api-5xx",
            api.metric_api_5xx(period),
            threshold=thresholds.api_5xx_errors,
            description=(
                "The inference API answered 5XX. Check the API's access log (status, "
                "integrationError) and the function's log for the request id."
            ),
            missing=not_breaching,
        )
        self._alarm(
            "api-latency-p99",
            api.metric_api_latency(period, "p99"),
            threshold=thresholds.api_latency_p99_ms,
            description=(
                f"p99 API latency above {thresholds.api_latency_p99_ms} ms. Compare with the "
                "function's duration and the endpoint's ModelLatency to find the slow hop."
            ),
            missing=not_breaching,
        )
        self._add_inference_api_widgets(api, duration_limit_ms)

    def _add_inference_api_widgets(
        self, api: InferenceApiMetrics, duration_limit_ms: float
    ) -> None:
        period = self.period
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Inference function: errors, throttles",
                left=[api.metric_function_errors(period), api.metric_function_throttles(period)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Inference function duration (ms)",
                left=[
                    api.metric_function_duration(period, "p50"),
                    api.metric_function_duration(period, "p99"),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=duration_limit_ms, label="p99 alarm")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API: 4XX / 5XX and p99 latency (ms)",
                left=[api.metric_api_4xx(period), api.metric_api_5xx(period)],
                right=[api.metric_api_latency(period, "p99")],
                width=8,
            ),
        )

    # -- the model inside Lambda ----------------------------------------------------------------

    def add_model_function(
        self,
        model: ModelFunctionMetrics,
        reserved_concurrency: int | None,
        provisioned_concurrency: int | None,
        concurrency_percent: float = 80.0,
    ) -> list[cloudwatch.IAlarm]:
        """The Lambda-hosted model's alarms beyond the API function's: concurrency near its
        reservation, invocations spilling over the provisioned concurrency; returns the
        rollback alarms of its CodeDeploy group (the alias's errors, throttles and duration,
        added by :meth:`add_inference_api`), which become ``rollback_alarms``."""
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        if reserved_concurrency is not None:
            self._alarm(
                "function-concurrency",
                model.metric_concurrency(self.period),
                threshold=reserved_concurrency * concurrency_percent / 100,
                description=(
                    f"The model function's concurrency reached {concurrency_percent:g}% of its "
                    f"reserved {reserved_concurrency} (lambda_model.reserved_concurrency): "
                    "throttling is near. Raise the reservation or lower the API's throttling."
                ),
                missing=not_breaching,
            )
        if provisioned_concurrency is not None:
            self._alarm(
                "provisioned-spillover",
                model.metric_spillover(self.period),
                threshold=1,
                description=(
                    "Invocations of the live alias ran beyond its provisioned concurrency "
                    "(cold starts). Raise lambda_model.provisioned_concurrency or a schedule's "
                    "value for these hours."
                ),
                missing=not_breaching,
            )
        self.rollback_alarms = [
            self.alarms[name]
            for name in ("function-errors", "function-throttles", "function-duration-p99")
        ]
        return self.rollback_alarms

    # -- promotions --------------------------------------------------------------------------

    def add_promotion(self, promotion: PromotionMetrics) -> None:
        """An alarm on rejected or failed promotions and on dead letters, and their widget."""
        period = self.period
        self._alarm(
            "promotion-failed",
            cloudwatch.MathExpression(
                expression="FILL(rejected, 0) + FILL(failed, 0) + FILL(errors, 0)",
                using_metrics={
                    "rejected": promotion.metric_promotions(METRIC_REJECTED, period),
                    "failed": promotion.metric_promotions(METRIC_FAILED, period),
                    "errors": promotion.metric_promotions(METRIC_ERRORS, period),
                },
                label="Rejected, failed or erroring promotions",
                period=period,
            ),
            threshold=1,
            evaluation_periods=1,
            datapoints=1,
            description=(
                "An uploaded model was rejected or its promotion failed; the endpoint still "
                "serves the previous model. The SNS message and the promotion function's log "
                "(event promotion_rejected / promotion_failed) give the reason."
            ),
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self._alarm(
            "promotion-dead-letters",
            promotion.metric_dead_letters(period),
            threshold=1,
            evaluation_periods=1,
            datapoints=1,
            description=(
                "A promotion request exhausted its retries and is in the dead-letter queue "
                "(endpoint busy for too long, or repeated errors). Inspect the message, fix "
                "the cause, then redrive it to the promotion queue."
            ),
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        names = (METRIC_STARTED, METRIC_COMPLETED, METRIC_REJECTED, METRIC_FAILED)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Promotions",
                left=[promotion.metric_promotions(name, period) for name in names],
                right=[promotion.metric_dead_letters(period)],
                width=12,
            ),
        )

    # -- the model (Model Monitor) ---------------------------------------------------------------

    def add_model_monitor(
        self,
        monitor: ModelMonitorMetrics,
        drift_features: tuple[str, ...],
        min_auc: float | None,
        schedule_hours: int = 1,
    ) -> list[cloudwatch.Alarm]:
        """An alarm per watched feature's drift, one on the labelled traffic's AUC (when
        model quality is monitored) and one on failed executions; returns the model alarms
        (drift and quality), which may start retraining."""
        period = Duration.hours(schedule_hours)
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        model_alarms = [
            self._alarm(
                f"drift-{feature}",
                monitor.metric_feature_drift(feature, period),
                threshold=monitor.drift_alarm_threshold,
                operator=monitor.drift_alarm_operator,
                evaluation_periods=1,
                datapoints=1,
                description=monitor.describe_drift(feature),
                missing=not_breaching,
            )
            for feature in drift_features
        ]
        if min_auc is not None:
            model_alarms.append(
                self._alarm(
                    "model-auc",
                    monitor.metric_model_quality("auc", period),
                    threshold=min_auc,
                    operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    evaluation_periods=1,
                    datapoints=1,
                    description=(
                        f"The AUC of the labelled traffic fell below {min_auc}: the model's "
                        "quality decays. See the model-quality report under monitoring/reports/."
                    ),
                    missing=not_breaching,
                )
            )
        self._alarm(
            "monitoring-failed",
            monitor.metric_failed_executions(period),
            threshold=1,
            evaluation_periods=1,
            datapoints=1,
            description=(
                "A monitoring run failed or found no baseline (the analyzer's error or a served "
                "model without reference rows; for Model Monitor also no captured data in its "
                "window): the model is not being watched. The "
                "analyzer's log (the monitor function's, or the processing job's FailureReason "
                "and /aws/sagemaker/ProcessingJobs) says why."
            ),
            missing=not_breaching,
        )
        self._add_model_widgets(monitor, drift_features, min_auc, period)
        return model_alarms

    def _add_model_widgets(
        self,
        monitor: ModelMonitorMetrics,
        drift_features: tuple[str, ...],
        min_auc: float | None,
        period: Duration,
    ) -> None:
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="Feature drift from the baseline",
                left=[monitor.metric_feature_drift(f, period) for f in drift_features],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=monitor.drift_alarm_threshold, label="alarm"
                    )
                ],
                legend_position=cloudwatch.LegendPosition.RIGHT,
                width=12,
            )
        ]
        if min_auc is not None:
            widgets.append(
                cloudwatch.GraphWidget(
                    title="Model quality of the labelled traffic",
                    left=[monitor.metric_model_quality(m, period) for m in ("auc", "f1")],
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(value=min_auc, label="floor")
                    ],
                    width=12,
                )
            )
        self.dashboard.add_widgets(*widgets)

    def model_alarm_name_prefixes(self) -> tuple[str, ...]:
        """Names of the alarms on the model itself (drift, quality), by prefix."""
        return (f"{self.props.prefix}-drift-", f"{self.props.prefix}-model-auc")

    def add_alarm_overview(self) -> None:
        """One widget with the state of every alarm; call it after the last ``add_*``."""
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24
            )
        )
