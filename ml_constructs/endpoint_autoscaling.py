"""Application Auto Scaling of a SageMaker variant's instance count."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable


@dataclass(frozen=True)
class EndpointAutoscalingProps:
    """Capacity bounds and the invocations-per-instance target."""

    endpoint_name: str
    variant_name: str
    instance_type: str
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: int
    scale_in_cooldown_s: int = 300
    scale_out_cooldown_s: int = 60

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.min_capacity <= self.max_capacity:
            problems.append(
                f"need 1 <= min_capacity ({self.min_capacity})"
                f" <= max_capacity ({self.max_capacity})"
            )
        if self.instance_type.startswith("ml.t"):
            problems.append(
                f"SageMaker cannot autoscale burstable instance type {self.instance_type}"
            )
        if self.target_invocations_per_instance < 1:
            problems.append("target_invocations_per_instance must be at least 1")
        if problems:
            raise ValueError("; ".join(problems))


class EndpointAutoscaling(Construct):
    """Scalable target on DesiredInstanceCount, target tracking on invocations per instance."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: EndpointAutoscalingProps,
        endpoint: IDependable,
    ) -> None:
        super().__init__(scope, construct_id)
        # Application Auto Scaling acts through its service-linked role for SageMaker; the L2's
        # default would create an extra, permissionless role that SageMaker scaling can't use.
        service_linked_role = iam.Role.from_role_arn(
            self,
            "ServiceLinkedRole",
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            mutable=False,
        )
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{props.endpoint_name}/variant/{props.variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=props.min_capacity,
            max_capacity=props.max_capacity,
            role=service_linked_role,
        )
        self.target.node.add_dependency(endpoint)
        self.policy = self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            # Named after the endpoint (a new fleet, a new name), not after the construct path,
            # which would differ between the plain app and a pipeline stage.
            policy_name=f"{props.endpoint_name}-invocations-per-instance",
            target_value=props.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(props.scale_in_cooldown_s),
            scale_out_cooldown=Duration.seconds(props.scale_out_cooldown_s),
        )
