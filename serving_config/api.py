"""Settings of the front door: the REST API and the inference Lambda function."""

from __future__ import annotations

from dataclasses import dataclass

from serving_config._parsing import join, require


@dataclass(frozen=True)
class ApiSettings:
    """Throttling, payload and function limits of the inference API."""

    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    max_rows: int = 100
    reserved_concurrency: int = 10
    function_timeout_s: int = 15
    function_memory_mb: int = 256
    log_retention_days: int = 30

    def validate(self, path: str) -> None:
        require(
            self.throttle_rate_limit > 0,
            join(path, "throttle_rate_limit"),
            f"{self.throttle_rate_limit} must be positive",
        )
        require(
            self.throttle_burst_limit >= 1,
            join(path, "throttle_burst_limit"),
            f"{self.throttle_burst_limit} must be at least 1",
        )
        require(
            1 <= self.max_rows <= 10_000,
            join(path, "max_rows"),
            f"{self.max_rows} is outside 1-10000",
        )
        require(
            1 <= self.reserved_concurrency <= 1000,
            join(path, "reserved_concurrency"),
            f"{self.reserved_concurrency} is outside 1-1000",
        )
        require(
            5 <= self.function_timeout_s <= 60,
            join(path, "function_timeout_s"),
            f"{self.function_timeout_s} is outside 5-60",
        )
        require(
            128 <= self.function_memory_mb <= 10240,
            join(path, "function_memory_mb"),
            f"{self.function_memory_mb} is outside 128-10240",
        )
        require(
            self.log_retention_days in _LOG_RETENTION_DAYS,
            join(path, "log_retention_days"),
            f"{self.log_retention_days} is not a CloudWatch Logs retention period",
        )


_LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
