"""Application Auto Scaling: moto 5.2.5's CloudFormation skips scalable targets and policies."""

from __future__ import annotations

from moto.applicationautoscaling.models import applicationautoscaling_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::ApplicationAutoScaling::ScalableTarget")
class ScalableTarget(Shim):
    """-> RegisterScalableTarget (nothing scales the endpoint locally)."""

    @classmethod
    def create(cls, call: CfnCall) -> ScalableTarget:
        p = call.properties
        backend = applicationautoscaling_backends[call.account_id][call.region_name]
        backend.register_scalable_target(
            namespace=p["ServiceNamespace"],
            r_id=p["ResourceId"],
            dimension=p["ScalableDimension"],
            min_capacity=int(p["MinCapacity"]),
            max_capacity=int(p["MaxCapacity"]),
            role_arn=p.get("RoleARN", ""),
            suspended_state=p.get("SuspendedState"),  # type: ignore[arg-type]
        )
        physical = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
        return cls(physical, p, {})


@register("AWS::ApplicationAutoScaling::ScalingPolicy")
class ScalingPolicy(Shim):
    """-> PutScalingPolicy (target tracking or step scaling, on the target's id or its parts)."""

    @classmethod
    def create(cls, call: CfnCall) -> ScalingPolicy:
        p = call.properties
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id = p["ResourceId"]
            dimension = p["ScalableDimension"]
            namespace = p["ServiceNamespace"]
        backend = applicationautoscaling_backends[call.account_id][call.region_name]
        policy = backend.put_scaling_policy(
            policy_name=p["PolicyName"],
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=p.get(
                "TargetTrackingScalingPolicyConfiguration",
                p.get("StepScalingPolicyConfiguration", {}),
            ),
            policy_type=p.get("PolicyType"),
        )
        return cls(policy.policy_arn, p, {"Arn": policy.policy_arn})
