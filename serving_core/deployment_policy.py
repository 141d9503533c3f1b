"""How the endpoint moves to a new EndpointConfig: one policy for ``cdk deploy`` and promotions.

The stack's ``AWS::SageMaker::Endpoint`` (its ``DeploymentConfig``) and the promotion
function's ``UpdateEndpoint`` both take their blue/green policy from
:meth:`DeploymentPolicy.deployment_config`, so a later ``cdk deploy`` shifts traffic exactly
as a promotion does, with the same auto-rollback alarms. Stdlib only: this file is bundled
with the promotion function and imported by the constructs at synth.

SageMaker shifts whole instances. ``CanarySize`` must be at most 50% of the variant's instance
count and ``LinearStepSize`` 10-50% of it (API reference, ``TrafficRoutingConfig``), so a
percentage is turned into an instance count for the fleet that is being replaced; a fleet too
small for a step (one instance) shifts all at once, still baked for the waiting interval and
guarded by the rollback alarms.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

TRAFFIC_SHIFTING = ("canary", "linear", "all_at_once")
#: SageMaker's bounds for one step of the new fleet, as fractions of the instance count.
CANARY_MAX_FRACTION = 0.5
LINEAR_MIN_FRACTION = 0.1
LINEAR_MAX_FRACTION = 0.5


class DeploymentPolicyError(ValueError):
    """A policy that SageMaker would refuse; the message names the setting."""


@dataclass(frozen=True)
class DeploymentPolicy:
    """Blue/green traffic shifting with baking, old-fleet retention and alarm rollback.

    ``step_percent`` is the canary's share of the fleet, or each linear step's share.
    """

    traffic_shifting: str
    step_percent: int
    wait_before_shift_s: int
    termination_wait_s: int
    max_execution_timeout_s: int
    rollback_alarm_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.traffic_shifting not in TRAFFIC_SHIFTING:
            raise DeploymentPolicyError(
                f"traffic_shifting {self.traffic_shifting!r} is not one of "
                f"{', '.join(TRAFFIC_SHIFTING)}"
            )
        if not 1 <= self.step_percent <= 50:
            raise DeploymentPolicyError(f"step_percent {self.step_percent} is outside 1-50")

    def step_instances(self, fleet_min: int, fleet_max: int | None = None) -> int | None:
        """Instances per step valid for every fleet size in ``fleet_min..fleet_max``, or None
        when the traffic moves at once (all_at_once, or a fleet too small for a step).

        Raises DeploymentPolicyError when no whole-instance linear step fits the range.
        """
        low = fleet_min
        high = fleet_max if fleet_max is not None else fleet_min
        if low < 1 or high < low:
            raise DeploymentPolicyError(f"fleet range {low}-{high} is not a range of instances")
        if self.traffic_shifting == "all_at_once":
            return None
        largest = math.floor(low * CANARY_MAX_FRACTION)  # <= 50% of the smallest fleet
        if largest < 1:
            return None
        wanted = max(1, math.floor(low * self.step_percent / 100))
        if self.traffic_shifting == "canary":
            return min(wanted, largest)
        smallest = math.ceil(high * LINEAR_MIN_FRACTION)  # >= 10% of the largest fleet
        if smallest > largest:
            raise DeploymentPolicyError(
                f"no linear step of whole instances is 10-50% of every fleet size in "
                f"{low}-{high}; use canary, or narrow the scaling range"
            )
        return min(max(wanted, smallest), largest)

    def traffic_routing(
        self, fleet_min: int, fleet_max: int | None = None, *, all_at_once: bool = False
    ) -> dict[str, Any]:
        """``TrafficRoutingConfiguration`` for a fleet of ``fleet_min..fleet_max`` instances
        (``all_at_once``: a serverless variant, on which SageMaker shifts all at once)."""
        step = None if all_at_once else self.step_instances(fleet_min, fleet_max)
        routing: dict[str, Any] = {"WaitIntervalInSeconds": self.wait_before_shift_s}
        if step is None:
            routing["Type"] = "ALL_AT_ONCE"
        elif self.traffic_shifting == "canary":
            routing["Type"] = "CANARY"
            routing["CanarySize"] = {"Type": "INSTANCE_COUNT", "Value": step}
        else:
            routing["Type"] = "LINEAR"
            routing["LinearStepSize"] = {"Type": "INSTANCE_COUNT", "Value": step}
        return routing

    def deployment_config(
        self, fleet_min: int, fleet_max: int | None = None, *, all_at_once: bool = False
    ) -> dict[str, Any]:
        """``DeploymentConfig`` in the SageMaker API's shape (CloudFormation uses the same).

        ``all_at_once`` for serverless variants: SageMaker's guardrails fall back to all at
        once there ("Supported features"), so that is what the policy says, baked and guarded.
        """
        routing = self.traffic_routing(fleet_min, fleet_max, all_at_once=all_at_once)
        config: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": self.termination_wait_s,
                "MaximumExecutionTimeoutInSeconds": self.max_execution_timeout_s,
            }
        }
        if self.rollback_alarm_names:
            config["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": name} for name in self.rollback_alarm_names]
            }
        return config

    def as_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data (the promotion function's environment)."""
        data = asdict(self)
        data["rollback_alarm_names"] = list(self.rollback_alarm_names)
        return data

    @classmethod
    def from_json(cls, text: str) -> DeploymentPolicy:
        """Parse :meth:`as_dict`'s JSON; raises DeploymentPolicyError naming the problem."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DeploymentPolicyError(f"not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise DeploymentPolicyError("expected a JSON object")
        names = data.get("rollback_alarm_names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise DeploymentPolicyError("rollback_alarm_names must be a list of alarm names")
        integers = (
            "step_percent",
            "wait_before_shift_s",
            "termination_wait_s",
            "max_execution_timeout_s",
        )
        for name in integers:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise DeploymentPolicyError(f"{name} must be an integer, got {value!r}")
        return cls(
            traffic_shifting=str(data.get("traffic_shifting")),
            step_percent=data["step_percent"],
            wait_before_shift_s=data["wait_before_shift_s"],
            termination_wait_s=data["termination_wait_s"],
            max_execution_timeout_s=data["max_execution_timeout_s"],
            rollback_alarm_names=tuple(names),
        )


#: CodeDeploy's predefined Lambda configurations: (type, percent, minutes) -> name.
CODEDEPLOY_PREDEFINED = {
    ("all_at_once", 100, 0): "CodeDeployDefault.LambdaAllAtOnce",
    **{
        ("canary", 10, minutes): f"CodeDeployDefault.LambdaCanary10Percent{minutes}Minutes"
        for minutes in (5, 10, 15, 30)
    },
    **{
        ("linear", 10, minutes): (
            f"CodeDeployDefault.LambdaLinear10PercentEvery{minutes}Minute"
            f"{'s' if minutes > 1 else ''}"
        )
        for minutes in (1, 2, 3, 10)
    },
}


@dataclass(frozen=True)
class LambdaTrafficShifting:
    """How CodeDeploy shifts a Lambda alias: ``TimeBasedCanary`` (``percent`` first, the rest
    ``minutes`` later), ``TimeBasedLinear`` (``percent`` every ``minutes``) or ``AllAtOnce``;
    ``predefined`` names CodeDeploy's own configuration when one matches (else a custom one)."""

    traffic_shifting: str
    percent: int
    minutes: int

    @property
    def predefined(self) -> str | None:
        key = (self.traffic_shifting, self.percent, self.minutes)
        return CODEDEPLOY_PREDEFINED.get(key)

    @property
    def total_minutes(self) -> int:
        """Minutes from the first shift to all traffic on the new version."""
        if self.traffic_shifting == "linear":
            return math.ceil(100 / self.percent - 1) * self.minutes
        return self.minutes


def lambda_traffic_shifting(policy: DeploymentPolicy) -> LambdaTrafficShifting:
    """The policy as CodeDeploy shifts a Lambda alias: the same percentage (of invocations, not
    instances) and the baking wait in whole minutes, CodeDeploy's unit (``TimeBasedCanary``
    ``CanaryInterval`` and ``TimeBasedLinear`` ``LinearInterval`` are integer minutes).

    Raises DeploymentPolicyError naming the setting that CodeDeploy cannot express: a wait
    that is not a whole number of minutes (at least one) for canary or linear, or a linear
    shift that would outlast ``max_execution_timeout_s``."""
    if policy.traffic_shifting == "all_at_once":
        return LambdaTrafficShifting("all_at_once", 100, 0)
    wait = policy.wait_before_shift_s
    if wait < 60 or wait % 60:
        raise DeploymentPolicyError(
            f"wait_before_shift_s {wait} is not a whole number of minutes (at least 60): "
            "CodeDeploy waits between a Lambda alias's shifts in whole minutes"
        )
    shifting = LambdaTrafficShifting(policy.traffic_shifting, policy.step_percent, wait // 60)
    if shifting.total_minutes * 60 > policy.max_execution_timeout_s:
        raise DeploymentPolicyError(
            f"max_execution_timeout_s {policy.max_execution_timeout_s} is shorter than the "
            f"{shifting.total_minutes} minutes the {policy.traffic_shifting} shift takes"
        )
    return shifting
