"""The fleet's bounds over time under scheduled scaling actions: which share of a year each
(min, max) pair is in effect, so a business-hours schedule is paid for the hours it holds.

Application Auto Scaling's cron has six fields (minutes, hours, day-of-month, month,
day-of-week 1-7 = SUN-SAT, year); an action replaces the bounds it names until the next one.
The actions are replayed over a reference year in the schedules' own time zone (wall-clock
hours: a daylight-saving shift moves an action by an hour twice a year, which is ignored).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from serving_config.scaling import ScheduleSettings, cron_problem

#: A non-leap year whose weeks start and end like any other.
REFERENCE_YEAR = 2027
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class Bounds:
    """The fleet's bounds in effect for ``share`` of the year."""

    share: float
    low: int
    high: int


def _value(token: str, names: Sequence[str], first: int) -> int:
    upper = token.upper()
    if upper in names:
        return names.index(upper) + first
    if not upper.isdigit():
        raise ValueError(f"{token!r} is not supported here (L, W and # are not evaluated)")
    return int(upper)


def _field(text: str, low: int, high: int, names: Sequence[str] = ()) -> frozenset[int]:
    """The values a cron field matches: ``*``/``?``, numbers or names, ranges, lists, steps."""
    values: set[int] = set()
    for part in text.split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?"):
            start, stop = low, high
        elif "-" in span:
            first, last = span.split("-", 1)
            start, stop = _value(first, names, low), _value(last, names, low)
        else:
            start = _value(span, names, low)
            stop = high if step else start
        values.update(range(start, stop + 1, int(step) if step else 1))
    return frozenset(v for v in values if low <= v <= high)


def firings(cron: str, year: int = REFERENCE_YEAR) -> list[datetime.datetime]:
    """The wall-clock times in ``year`` at which ``cron(...)`` fires."""
    problem = cron_problem(cron)
    if problem:
        raise ValueError(problem)
    minutes, hours, dom, month, dow, years = cron.removeprefix("cron(").removesuffix(")").split()
    if years not in ("*", "?") and year not in _field(years, 1970, 2199):
        return []
    minute_set, hour_set = _field(minutes, 0, 59), _field(hours, 0, 23)
    month_set = _field(month, 1, 12, _MONTHS)
    dom_set = None if dom == "?" else _field(dom, 1, 31)
    dow_set = None if dow == "?" else _field(dow, 1, 7, _DAYS)
    times = []
    day = datetime.date(year, 1, 1)
    while day.year == year:
        weekday = (day.weekday() + 1) % 7 + 1  # Monday is 2, Sunday 1
        if (
            day.month in month_set
            and (dom_set is None or day.day in dom_set)
            and (dow_set is None or weekday in dow_set)
        ):
            times += [
                datetime.datetime(year, day.month, day.day, h, m)
                for h in sorted(hour_set)
                for m in sorted(minute_set)
            ]
        day += datetime.timedelta(days=1)
    return times


def bounds_over_year(
    low: int, high: int, schedules: Sequence[ScheduleSettings], year: int = REFERENCE_YEAR
) -> tuple[Bounds, ...]:
    """Each (min, max) pair in effect and its share of ``year``, starting from the scaling
    target's ``low``-``high`` and replaying every action in order (the year wraps: what the
    last action set holds until the first of the next year)."""
    if not schedules:
        return (Bounds(share=1.0, low=low, high=high),)
    actions = sorted(
        (time, order, s) for order, s in enumerate(schedules) for time in firings(s.cron, year)
    )
    state = (low, high)
    for _, _, action in actions:  # the state the previous year ends in
        state = _apply(state, action)
    start = datetime.datetime(year, 1, 1)
    end = datetime.datetime(year + 1, 1, 1)
    seconds: dict[tuple[int, int], float] = {}
    cursor = start
    for time, _, action in actions:
        seconds[state] = seconds.get(state, 0.0) + (time - cursor).total_seconds()
        cursor, state = time, _apply(state, action)
    seconds[state] = seconds.get(state, 0.0) + (end - cursor).total_seconds()
    year_s = (end - start).total_seconds()
    return tuple(
        Bounds(share=s / year_s, low=lo, high=hi) for (lo, hi), s in seconds.items() if s > 0
    )


def _apply(state: tuple[int, int], action: ScheduleSettings) -> tuple[int, int]:
    low = state[0] if action.min_capacity is None else action.min_capacity
    high = state[1] if action.max_capacity is None else action.max_capacity
    return low, max(low, high)
