"""Settings of the alarms, their thresholds and who is notified.

Thresholds are in the units people think in (milliseconds, percent of the whole
instance); the monitoring construct converts them to what CloudWatch reports
(SageMaker's ModelLatency is in microseconds, CPUUtilization is summed over vCPUs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from serving_config._parsing import join, require

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class AlarmSettings:
    """Alarm thresholds, evaluation window and the e-mail subscribers of the alarm topic."""

    emails: tuple[str, ...] = ()
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2
    period_s: int = 60
    endpoint_5xx_errors: int = 1
    endpoint_4xx_error_rate_percent: float = 5.0
    model_latency_p99_ms: int = 500
    cpu_utilization_percent: float = 80.0
    memory_utilization_percent: float = 85.0
    function_errors: int = 1
    function_throttles: int = 1
    function_duration_p99_percent_of_timeout: float = 80.0
    api_5xx_errors: int = 1
    api_latency_p99_ms: int = 3000

    def validate(self, path: str) -> None:
        for i, email in enumerate(self.emails):
            require(
                _EMAIL.match(email) is not None,
                f"{join(path, 'emails')}[{i}]",
                f"{email!r} is not an e-mail address",
            )
        require(
            1 <= self.evaluation_periods <= 100,
            join(path, "evaluation_periods"),
            f"{self.evaluation_periods} is outside 1-100",
        )
        require(
            1 <= self.datapoints_to_alarm <= self.evaluation_periods,
            join(path, "datapoints_to_alarm"),
            f"{self.datapoints_to_alarm} is outside 1-evaluation_periods "
            f"({self.evaluation_periods})",
        )
        require(
            self.period_s in (10, 30) or (self.period_s >= 60 and self.period_s % 60 == 0),
            join(path, "period_s"),
            f"{self.period_s} must be 10, 30 or a multiple of 60",
        )
        require(
            self.period_s * self.evaluation_periods <= 86_400,
            join(path, "evaluation_periods"),
            f"{self.evaluation_periods} periods of {self.period_s} s exceed CloudWatch's one day",
        )
        for name in ("endpoint_5xx_errors", "function_errors", "function_throttles"):
            self._at_least_one(path, name)
        self._at_least_one(path, "api_5xx_errors")
        for name in ("model_latency_p99_ms", "api_latency_p99_ms"):
            value = getattr(self, name)
            require(1 <= value <= 600_000, join(path, name), f"{value} is outside 1-600000 ms")
        for name in (
            "endpoint_4xx_error_rate_percent",
            "cpu_utilization_percent",
            "memory_utilization_percent",
            "function_duration_p99_percent_of_timeout",
        ):
            value = getattr(self, name)
            require(0 < value <= 100, join(path, name), f"{value} is outside (0, 100] percent")

    def _at_least_one(self, path: str, name: str) -> None:
        value = getattr(self, name)
        require(value >= 1, join(path, name), f"{value} must be at least 1")
