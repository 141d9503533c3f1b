"""Settings of safe model promotion on upload."""

from __future__ import annotations

from dataclasses import dataclass

from serving_config._parsing import join, require


@dataclass(frozen=True)
class PromotionSettings:
    """Quality floor and blue/green traffic shifting for a newly uploaded model."""

    min_auc: float = 0.9
    max_artifact_mb: int = 512
    canary_percent: int = 10
    wait_before_shift_s: int = 300
    termination_wait_s: int = 300

    def validate(self, path: str) -> None:
        require(0.0 <= self.min_auc <= 1.0, join(path, "min_auc"), f"{self.min_auc} is outside 0-1")
        require(
            1 <= self.max_artifact_mb <= 10_240,
            join(path, "max_artifact_mb"),
            f"{self.max_artifact_mb} is outside 1-10240",
        )
        require(
            1 <= self.canary_percent <= 50,
            join(path, "canary_percent"),
            f"{self.canary_percent} is outside 1-50",
        )
        for name in ("wait_before_shift_s", "termination_wait_s"):
            value = getattr(self, name)
            require(0 <= value <= 3600, join(path, name), f"{value} is outside 0-3600")
