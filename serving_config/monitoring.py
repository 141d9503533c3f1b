"""Settings of the alarms, their thresholds and who is notified.

Thresholds are in the units people think in (milliseconds, percent of the whole
instance); the monitoring construct converts them to what CloudWatch reports
(SageMaker's ModelLatency is in microseconds, CPUUtilization is summed over vCPUs).
"""

from __future__ import annotations

from dataclasses import dataclass

from serving_config._parsing import join, require
from serving_core.alarm_thresholds import AlarmThresholds


@dataclass(frozen=True)
class AlarmSettings(AlarmThresholds):
    """The ``alarms:`` section: the shared thresholds type, its rules named by field."""

    def validate(self, path: str) -> None:
        problems = self.problems()
        if problems:
            name, message = problems[0]
            require(False, join(path, name), message)
