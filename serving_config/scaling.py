"""Scaling schedules and their checks: Application Auto Scaling's own cron dialect and the IANA
time zones it accepts ("Schedule recurring scaling actions using Application Auto Scaling")."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from serving_config._parsing import join, require

#: ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: six fields; one of the two day
#: fields must be ``?`` (the EventBridge/Application Auto Scaling dialect, not Unix cron).
_CRON = re.compile(r"^cron\((.*)\)$")
_FIELD = {
    "minutes": re.compile(r"^(\*|[0-5]?\d)([,/-][0-5]?\d)*$"),
    "hours": re.compile(r"^(\*|[01]?\d|2[0-3])([,/-]([01]?\d|2[0-3]))*$"),
    "day-of-month": re.compile(
        r"^(\?|\*|L|LW|([1-9]|[12]\d|3[01])W?)([,/-]([1-9]|[12]\d|3[01]))*$"
    ),
    "month": re.compile(
        r"^(\*|[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
        r"([,/-]([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))*$"
    ),
    "day-of-week": re.compile(
        r"^(\?|\*|[1-7](L|#[1-5])?|SUN|MON|TUE|WED|THU|FRI|SAT)"
        r"([,/-]([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))*$"
    ),
    "year": re.compile(r"^(\*|\d{4})([,/-]\d{1,4})*$"),
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
#: Application Auto Scaling scales a SageMaker variant between 1 and 100 instances here.
MAX_INSTANCES = 100


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not an Application Auto Scaling ``cron(...)`` schedule, or None."""
    match = _CRON.match(expression)
    if match is None:
        return f"{expression!r} is not cron(Minutes Hours Day-of-month Month Day-of-week Year)"
    fields = match.group(1).split()
    if len(fields) != 6:
        return f"{expression!r} has {len(fields)} fields; Application Auto Scaling cron has 6"
    for (name, pattern), value in zip(_FIELD.items(), fields, strict=True):
        if pattern.match(value.upper()) is None:
            return f"{expression!r}: {value!r} is not a valid {name} field"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'"
    return None


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class ScheduleSettings:
    """One scheduled action: at ``cron``, the target's bounds become ``min_capacity`` and/or
    ``max_capacity`` (target tracking then works inside them)."""

    name: str
    cron: str
    min_capacity: int | None = None
    max_capacity: int | None = None

    def validate(self, path: str) -> None:
        require(
            _NAME.match(self.name) is not None,
            join(path, "name"),
            f"{self.name!r} must be 1-40 letters, digits, '-' or '_'",
        )
        problem = cron_problem(self.cron)
        require(problem is None, join(path, "cron"), problem or "")
        require(
            self.min_capacity is not None or self.max_capacity is not None,
            path,
            "set min_capacity, max_capacity or both",
        )
        for name in ("min_capacity", "max_capacity"):
            value = getattr(self, name)
            require(
                value is None or 1 <= value <= MAX_INSTANCES,
                join(path, name),
                f"{value} is outside 1-{MAX_INSTANCES}",
            )
        require_ordered_bounds(self.min_capacity, self.max_capacity, path)


def require_ordered_bounds(low: int | None, high: int | None, path: str) -> None:
    """A schedule's bounds, where both are given, in order (Application Auto Scaling refuses
    a scheduled action whose minimum exceeds its maximum)."""
    require(
        low is None or high is None or low <= high,
        join(path, "max_capacity"),
        f"{high} is below min_capacity {low}",
    )


def validate_time_zone(time_zone: str, path: str) -> None:
    require(
        time_zone in known_time_zones(),
        path,
        f"{time_zone!r} is not an IANA time zone name like Europe/Berlin or UTC",
    )
