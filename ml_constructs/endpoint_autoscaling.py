"""Application Auto Scaling of a SageMaker variant's instance count.

Target tracking on invocations per instance always; optionally also on CPU utilization (a
customized metric: ``/aws/sagemaker/Endpoints`` ``CPUUtilization``, Average, summed over
vCPUs) and on the high-resolution concurrency metric; and scheduled actions that change the
bounds (cron in a time zone). With several target tracking policies Application Auto Scaling
scales out when any of them asks and scales in only when all of them allow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from ml_constructs.monitoring.construct import INSTANCE_NAMESPACE, vcpus
from serving_core.variants import HostingVariant

_CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")


@dataclass(frozen=True)
class ScheduledBounds:
    """At ``cron`` (Application Auto Scaling's six-field cron), the new bounds."""

    name: str
    cron: str
    min_capacity: int | None = None
    max_capacity: int | None = None


@dataclass(frozen=True)
class EndpointAutoscalingProps:
    """Capacity bounds, the targets and the schedules."""

    endpoint_name: str
    variant: HostingVariant
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: int
    scale_in_cooldown_s: int = 300
    scale_out_cooldown_s: int = 60
    #: Percent of the instance's vCPUs (the metric itself is summed over them: 400 % max on 4).
    cpu_target_percent: float | None = None
    concurrent_requests_target: float | None = None
    time_zone: str = "UTC"
    schedules: tuple[ScheduledBounds, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.min_capacity <= self.max_capacity:
            problems.append(
                f"need 1 <= min_capacity ({self.min_capacity})"
                f" <= max_capacity ({self.max_capacity})"
            )
        if not self.variant.supports("autoscaling"):
            problems.append(f"variant: {self.variant.why_not('autoscaling')}")
        if self.target_invocations_per_instance < 1:
            problems.append("target_invocations_per_instance must be at least 1")
        if self.cpu_target_percent is not None and not 1 <= self.cpu_target_percent <= 100:
            problems.append(f"cpu_target_percent {self.cpu_target_percent} is outside 1-100")
        if self.concurrent_requests_target is not None and self.concurrent_requests_target <= 0:
            problems.append("concurrent_requests_target must be above 0")
        for schedule in self.schedules:
            low, high = schedule.min_capacity, schedule.max_capacity
            if not _CRON.match(schedule.cron):
                problems.append(f"schedules {schedule.name}: {schedule.cron!r} is not cron(6)")
            if low is None and high is None:
                problems.append(f"schedules {schedule.name}: sets neither bound")
            if low is not None and high is not None and low > high:
                problems.append(f"schedules {schedule.name}: min_capacity {low} > {high}")
        if len({s.name for s in self.schedules}) != len(self.schedules):
            problems.append("schedules: names must be unique")
        if problems:
            raise ValueError("; ".join(problems))


def variant_instance_target(
    scope: Construct,
    *,
    endpoint_name: str,
    variant_name: str,
    min_capacity: int,
    max_capacity: int,
    endpoint: IDependable,
) -> appscaling.ScalableTarget:
    """The variant's DesiredInstanceCount as a scalable target, created after the endpoint."""
    # Application Auto Scaling acts through its service-linked role for SageMaker; the L2's
    # default would create an extra, permissionless role that SageMaker scaling can't use.
    service_linked_role = iam.Role.from_role_arn(
        scope,
        "ServiceLinkedRole",
        f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
        "sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        mutable=False,
    )
    target = appscaling.ScalableTarget(
        scope,
        "Target",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        role=service_linked_role,
    )
    target.node.add_dependency(endpoint)
    return target


class EndpointAutoscaling(Construct):
    """Scalable target on DesiredInstanceCount, target tracking policies, scheduled bounds."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: EndpointAutoscalingProps,
        endpoint: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target = variant_instance_target(
            self,
            endpoint_name=props.endpoint_name,
            variant_name=props.variant.name,
            min_capacity=props.min_capacity,
            max_capacity=props.max_capacity,
            endpoint=endpoint,
        )
        scale_in = Duration.seconds(props.scale_in_cooldown_s)
        scale_out = Duration.seconds(props.scale_out_cooldown_s)
        self.policy = self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            # Named after the endpoint (a new fleet, a new name), not after the construct path,
            # which would differ between the plain app and a pipeline stage.
            policy_name=f"{props.endpoint_name}-invocations-per-instance",
            target_value=props.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
        self.cpu_policy: appscaling.TargetTrackingScalingPolicy | None = None
        if props.cpu_target_percent is not None:
            cores = vcpus(props.variant.instance_metrics_type or "")
            self.cpu_policy = self.target.scale_to_track_metric(
                "CpuUtilization",
                policy_name=f"{props.endpoint_name}-cpu-utilization",
                # CloudWatch sums the cores: 70 % of a 4-vCPU instance is 280.
                target_value=props.cpu_target_percent * cores,
                custom_metric=cloudwatch.Metric(
                    namespace=INSTANCE_NAMESPACE,
                    metric_name="CPUUtilization",
                    dimensions_map={
                        "EndpointName": props.endpoint_name,
                        "VariantName": props.variant.name,
                    },
                    statistic="Average",
                    unit=cloudwatch.Unit.PERCENT,
                ),
                scale_in_cooldown=scale_in,
                scale_out_cooldown=scale_out,
            )
        self.concurrency_policy: appscaling.TargetTrackingScalingPolicy | None = None
        if props.concurrent_requests_target is not None:
            self.concurrency_policy = self.target.scale_to_track_metric(
                "ConcurrentRequestsPerModel",
                policy_name=f"{props.endpoint_name}-concurrent-requests",
                target_value=props.concurrent_requests_target,
                predefined_metric=(
                    appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION
                ),
                scale_in_cooldown=scale_in,
                scale_out_cooldown=scale_out,
            )
        time_zone = TimeZone.of(props.time_zone)
        for schedule in props.schedules:
            self.target.scale_on_schedule(
                schedule.name,
                schedule=appscaling.Schedule.expression(schedule.cron),
                min_capacity=schedule.min_capacity,
                max_capacity=schedule.max_capacity,
                time_zone=time_zone,
            )
