"""Settings of the alarms, their thresholds and who is notified."""

from __future__ import annotations

import re
from dataclasses import dataclass

from serving_config._parsing import join, require

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class AlarmSettings:
    """Alarm thresholds (see docs in README) and e-mail subscribers of the alarm topic."""

    emails: tuple[str, ...] = ()
    evaluation_periods: int = 3
    period_s: int = 60
    endpoint_5xx_errors: int = 1
    model_latency_p99_ms: int = 500

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
            self.period_s in (10, 30) or (self.period_s >= 60 and self.period_s % 60 == 0),
            join(path, "period_s"),
            f"{self.period_s} must be 10, 30 or a multiple of 60",
        )
