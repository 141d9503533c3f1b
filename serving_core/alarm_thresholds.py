"""When the operational alarms fire: one plain type that the configuration reads from YAML
and the monitoring construct renders (in human units; the construct converts them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTS = ("endpoint_5xx_errors", "function_errors", "function_throttles", "api_5xx_errors")
_LATENCIES = ("model_latency_p99_ms", "api_latency_p99_ms")
_PERCENTS = (
    "endpoint_4xx_error_rate_percent",
    "cpu_utilization_percent",
    "memory_utilization_percent",
    "function_duration_p99_percent_of_timeout",
)


@dataclass(frozen=True)
class AlarmThresholds:
    """Thresholds (milliseconds, percent of the whole instance), the evaluation window, and
    the e-mail subscribers of the alarm topic."""

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

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every rule CloudWatch or SNS would break on; empty when valid."""
        problems = [
            (f"emails[{i}]", f"{email!r} is not an e-mail address")
            for i, email in enumerate(self.emails)
            if _EMAIL.match(email) is None
        ]
        problems += self._window_problems()
        problems += [
            (n, f"{getattr(self, n)} must be at least 1") for n in _COUNTS if getattr(self, n) < 1
        ]
        problems += [
            (n, f"{getattr(self, n)} is outside 1-600000 ms")
            for n in _LATENCIES
            if not 1 <= getattr(self, n) <= 600_000
        ]
        problems += [
            (n, f"{getattr(self, n)} is outside (0, 100] percent")
            for n in _PERCENTS
            if not 0 < getattr(self, n) <= 100
        ]
        return problems

    def _window_problems(self) -> list[tuple[str, str]]:
        periods, period = self.evaluation_periods, self.period_s
        problems = []
        if not 1 <= periods <= 100:
            problems.append(("evaluation_periods", f"{periods} is outside 1-100"))
        if not 1 <= self.datapoints_to_alarm <= periods:
            problems.append(
                (
                    "datapoints_to_alarm",
                    f"{self.datapoints_to_alarm} is outside 1-evaluation_periods ({periods})",
                )
            )
        if period not in (10, 30) and (period < 60 or period % 60):
            problems.append(("period_s", f"{period} must be 10, 30 or a multiple of 60"))
        elif period * periods > 86_400:
            problems.append(
                (
                    "evaluation_periods",
                    f"{periods} periods of {period} s exceed CloudWatch's one day",
                )
            )
        return problems
