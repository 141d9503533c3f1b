"""Which hours a run analyzes, from the scheduler's event or an explicit request.

EventBridge Scheduler sends ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``: the data
window is the ``window_hours`` before it, the quality window the same span ``label_delay_hours``
earlier (labels take that long). A person (or the rehearsal) may ask for explicit windows:
``{"window_start": ISO, "window_end": ISO}`` and optionally ``quality_window_start``/``_end``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

MAX_SPAN = dt.timedelta(days=7)
SCHEDULED = {"scheduled_time"}
EXPLICIT = {"window_start", "window_end", "quality_window_start", "quality_window_end"}


class EventError(ValueError):
    """An event the analyzer cannot act on; the message names the field."""


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def hours(self) -> list[dt.datetime]:
        """The hour folders (UTC) a record of the window can be filed under."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        found = []
        while hour < self.end:
            found.append(hour)
            hour += dt.timedelta(hours=1)
        return found

    def to_json(self) -> dict[str, str]:
        return {"start": _iso(self.start), "end": _iso(self.end)}


@dataclass(frozen=True)
class Windows:
    data: Window
    quality: Window


def windows_of(event: Any, window_hours: int, label_delay_hours: int) -> Windows:
    if not isinstance(event, dict):
        raise EventError(f"the event must be a JSON object, not {type(event).__name__}")
    keys = set(event)
    if keys == SCHEDULED:
        end = _time(event, "scheduled_time").replace(minute=0, second=0, microsecond=0)
        data = Window(end - dt.timedelta(hours=window_hours), end)
    elif {"window_start", "window_end"} <= keys <= EXPLICIT:
        data = _window(event, "window_start", "window_end")
    else:
        raise EventError(
            f"unexpected event fields {sorted(keys)}: send {{'scheduled_time': ISO}} or "
            "{'window_start': ISO, 'window_end': ISO} (optionally quality_window_start/_end)"
        )
    if {"quality_window_start", "quality_window_end"} <= keys:
        quality = _window(event, "quality_window_start", "quality_window_end")
    elif keys & {"quality_window_start", "quality_window_end"}:
        raise EventError("quality_window_start and quality_window_end go together")
    else:
        delay = dt.timedelta(hours=label_delay_hours)
        quality = Window(data.start - delay, data.end - delay)
    return Windows(data, quality)


def _window(event: dict[str, Any], start_key: str, end_key: str) -> Window:
    start, end = _time(event, start_key), _time(event, end_key)
    if end <= start:
        raise EventError(f"{end_key} {_iso(end)} is not after {start_key} {_iso(start)}")
    if end - start > MAX_SPAN:
        raise EventError(f"{start_key}..{end_key} spans more than {MAX_SPAN.days} days")
    return Window(start, end)


def _time(event: dict[str, Any], key: str) -> dt.datetime:
    value = event.get(key)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"{key}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise EventError(f"{key}: {value!r} has no time zone (use ...Z for UTC)")
    return parsed.astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
