"""Settings of asynchronous inference (``endpoint.kind: async``): how many requests one
instance works on, and the fleet's scaling on the request backlog, down to zero instances.

SageMaker's documented pattern ("Autoscale an asynchronous endpoint"): target tracking on
``ApproximateBacklogSizePerInstance`` (a customized metric, namespace AWS/SageMaker, dimension
EndpointName), and, because a fleet at zero instances reports no per-instance backlog, a step
policy on ``HasBacklogWithoutCapacity`` >= 1 that adds one instance ("scale up from zero").
Only asynchronous endpoints may scale to zero; ``scaling:`` (invocations per instance) does
not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving_config._parsing import join, require


@dataclass(frozen=True)
class AsyncInferenceSettings:
    """``max_concurrent_invocations_per_instance``: SageMaker's client config (1-1000; None:
    SageMaker picks). ``min_capacity`` 0 scales to zero when the queue is empty.
    ``target_backlog_per_instance``: queued requests per instance that target tracking keeps.
    ``wake_cooldown_s``: the step policy's cooldown after it added an instance from zero.
    ``retention_days``: requests, results and failures under ``async/`` expire after it."""

    max_concurrent_invocations_per_instance: int | None = 4
    min_capacity: int = 0
    max_capacity: int = 2
    target_backlog_per_instance: float = 5.0
    scale_in_cooldown_s: int = 600
    scale_out_cooldown_s: int = 300
    wake_cooldown_s: int = 300
    wake_evaluation_periods: int = 2
    retention_days: int = 30

    def validate(self, path: str) -> None:
        limit = self.max_concurrent_invocations_per_instance
        require(
            limit is None or 1 <= limit <= 1000,
            join(path, "max_concurrent_invocations_per_instance"),
            f"{limit} is outside SageMaker's 1-1000",
        )
        require(
            self.min_capacity >= 0,
            join(path, "min_capacity"),
            f"{self.min_capacity} must be at least 0",
        )
        require(
            self.max_capacity >= max(1, self.min_capacity),
            join(path, "max_capacity"),
            f"{self.max_capacity} must be at least 1 and at least min_capacity {self.min_capacity}",
        )
        require(
            self.max_capacity <= 100,
            join(path, "max_capacity"),
            f"{self.max_capacity} is above 100",
        )
        require(
            self.target_backlog_per_instance > 0,
            join(path, "target_backlog_per_instance"),
            f"{self.target_backlog_per_instance} must be above 0",
        )
        for name in ("scale_in_cooldown_s", "scale_out_cooldown_s", "wake_cooldown_s"):
            value = getattr(self, name)
            require(0 <= value <= 3600, join(path, name), f"{value} is outside 0-3600")
        require(
            1 <= self.retention_days <= 3650,
            join(path, "retention_days"),
            f"{self.retention_days} is outside 1-3650",
        )
        require(
            1 <= self.wake_evaluation_periods <= 10,
            join(path, "wake_evaluation_periods"),
            f"{self.wake_evaluation_periods} is outside 1-10",
        )

    @property
    def scales_to_zero(self) -> bool:
        return self.min_capacity == 0
