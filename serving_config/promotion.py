"""Settings of safe model promotion on upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require
from serving_config.service_model import require_enumerated

TrafficShifting = Literal["canary", "linear", "all_at_once"]


@dataclass(frozen=True)
class PromotionSettings:
    """Quality floor, artifact limits and blue/green traffic shifting for a new model.

    ``canary_percent`` is the canary's share of capacity, or the step size when
    ``traffic_shifting`` is ``linear``; SageMaker shifts whole instances, so the step is
    rounded to instances of the fleet at deployment time (a fleet too small for a canary
    shifts all at once, still baked and guarded by the rollback alarms).
    ``wait_before_shift_s`` is the baking period between steps; ``termination_wait_s`` keeps
    the old fleet warm for a fast rollback.

    ``require_metrics``: an artifact must carry ``metrics.json`` with a test ROC AUC, so the
    quality floor is always checked; turning it off is an explicit choice that each promotion
    logs. ``keep_previous``: promotions' Models and EndpointConfigs (and their release copies)
    kept besides the serving one, for a manual rollback; older ones are deleted once a
    promotion settles.
    """

    min_auc: float = 0.9
    max_artifact_mb: int = 512
    traffic_shifting: TrafficShifting = "canary"
    canary_percent: int = 10
    wait_before_shift_s: int = 300
    termination_wait_s: int = 300
    max_execution_timeout_s: int = 3600
    queue_max_receive_count: int = 20
    retry_delay_s: int = 300
    require_metrics: bool = True
    keep_previous: int = 3

    def validate(self, path: str) -> None:
        require_enumerated(
            self.traffic_shifting, join(path, "traffic_shifting"), "promotion.traffic_shifting"
        )
        require(0.0 <= self.min_auc <= 1.0, join(path, "min_auc"), f"{self.min_auc} is outside 0-1")
        require(
            1 <= self.max_artifact_mb <= 5_120,
            join(path, "max_artifact_mb"),
            f"{self.max_artifact_mb} is outside 1-5120 (S3 CopyObject copies at most 5 GiB)",
        )
        require(
            1 <= self.canary_percent <= 50,
            join(path, "canary_percent"),
            f"{self.canary_percent} is outside 1-50",
        )
        for name in ("wait_before_shift_s", "termination_wait_s"):
            value = getattr(self, name)
            require(0 <= value <= 3600, join(path, name), f"{value} is outside 0-3600")
        # SageMaker: MaximumExecutionTimeoutInSeconds is 600-28800 and must cover the waits.
        require(
            600 <= self.max_execution_timeout_s <= 28_800,
            join(path, "max_execution_timeout_s"),
            f"{self.max_execution_timeout_s} is outside 600-28800",
        )
        needed = self.wait_before_shift_s + self.termination_wait_s
        require(
            self.max_execution_timeout_s > needed,
            join(path, "max_execution_timeout_s"),
            f"{self.max_execution_timeout_s} s does not cover wait_before_shift_s + "
            f"termination_wait_s ({needed} s)",
        )
        require(
            2 <= self.queue_max_receive_count <= 1000,
            join(path, "queue_max_receive_count"),
            f"{self.queue_max_receive_count} is outside 2-1000",
        )
        require(
            0 <= self.keep_previous <= 50,
            join(path, "keep_previous"),
            f"{self.keep_previous} is outside 0-50",
        )
        require(
            0 <= self.retry_delay_s <= 43_200,
            join(path, "retry_delay_s"),
            f"{self.retry_delay_s} is outside 0-43200 (SQS's 12-hour visibility limit)",
        )
