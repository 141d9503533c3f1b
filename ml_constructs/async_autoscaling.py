"""Backlog-driven scaling of an asynchronous endpoint, down to zero instances.

SageMaker's documented pattern ("Autoscale an asynchronous endpoint"):

- target tracking on ``ApproximateBacklogSizePerInstance`` (customized metric, namespace
  ``AWS/SageMaker``, dimension ``EndpointName``, statistic Average) keeps the queued requests
  per instance near the target, and scales in to ``min_capacity`` (0) when the queue is empty;
- at zero instances that metric has no instances to divide by, so a second, step policy adds
  one instance when ``HasBacklogWithoutCapacity`` (Average) is >= 1 ("scale up from zero"):
  a CloudWatch alarm on it is the policy's trigger.

The second policy lives beside :mod:`ml_constructs.endpoint_autoscaling` (real-time
invocations per instance), which does not apply to async endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from constructs import Construct, IDependable

from ml_constructs.endpoint_autoscaling import variant_instance_target
from serving_core.variants import HostingVariant

NAMESPACE = "AWS/SageMaker"
BACKLOG_PER_INSTANCE = "ApproximateBacklogSizePerInstance"
BACKLOG_WITHOUT_CAPACITY = "HasBacklogWithoutCapacity"


@dataclass(frozen=True)
class AsyncAutoscalingProps:
    """Capacity bounds (min may be 0), the backlog target and the wake-up policy's timing."""

    prefix: str
    endpoint_name: str
    #: An asynchronous variant: its fleet range is the scalable target's bounds.
    variant: HostingVariant
    target_backlog_per_instance: float
    scale_in_cooldown_s: int = 600
    scale_out_cooldown_s: int = 300
    wake_cooldown_s: int = 300
    wake_evaluation_periods: int = 2

    def __post_init__(self) -> None:
        problems = []
        if not self.variant.supports("async_invocation"):
            problems.append(f"variant: {self.variant.why_not('async_invocation')}")
        if self.target_backlog_per_instance <= 0:
            problems.append("target_backlog_per_instance must be above 0")
        if problems:
            raise ValueError("; ".join(problems))


class AsyncAutoscaling(Construct):
    """Scalable target (min may be 0), backlog target tracking, and the wake-from-zero step
    policy with its alarm. Attributes: ``target``, ``backlog_policy``, ``wake_policy``,
    ``wake_alarm``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: AsyncAutoscalingProps,
        endpoint: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target = variant_instance_target(
            self,
            endpoint_name=props.endpoint_name,
            variant_name=props.variant.name,
            min_capacity=props.variant.fleet_range[0],
            max_capacity=props.variant.fleet_range[1],
            endpoint=endpoint,
        )
        dimensions = {"EndpointName": props.endpoint_name}
        self.backlog_policy = self.target.scale_to_track_metric(
            "BacklogPerInstance",
            policy_name=f"{props.endpoint_name}-backlog-per-instance",
            target_value=props.target_backlog_per_instance,
            custom_metric=cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=BACKLOG_PER_INSTANCE,
                dimensions_map=dimensions,
                statistic="Average",
            ),
            scale_in_cooldown=Duration.seconds(props.scale_in_cooldown_s),
            scale_out_cooldown=Duration.seconds(props.scale_out_cooldown_s),
        )
        self.wake_policy = appscaling.StepScalingAction(
            self,
            "WakeFromZero",
            scaling_target=self.target,
            policy_name=f"{props.endpoint_name}-wake-from-zero",
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
            cooldown=Duration.seconds(props.wake_cooldown_s),
        )
        self.wake_policy.add_adjustment(adjustment=1, lower_bound=0)
        self.wake_alarm = cloudwatch.Alarm(
            self,
            "BacklogWithoutCapacity",
            alarm_name=f"{props.prefix}-async-backlog-without-capacity",
            alarm_description=(
                "Requests wait and the endpoint has no instance: add one (scale up from zero)."
            ),
            metric=cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=BACKLOG_WITHOUT_CAPACITY,
                dimensions_map=dimensions,
                statistic="Average",
                period=Duration.minutes(1),
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=props.wake_evaluation_periods,
            datapoints_to_alarm=props.wake_evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )
        self.wake_alarm.add_alarm_action(
            cloudwatch_actions.ApplicationScalingAction(self.wake_policy)
        )
