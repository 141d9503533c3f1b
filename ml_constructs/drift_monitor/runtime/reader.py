"""Reading a window of data capture and ground truth from S3, one object at a time.

Captures are filed by SageMaker under ``<capture prefix><variant>/yyyy/mm/dd/hh/`` by the hour
of capture; ground truth under ``<ground-truth prefix>yyyy/mm/dd/hh/`` by the hour of upload.
Objects are listed per hour folder and streamed line by line, so memory holds one object's
line at a time beside the reservoir; at most ``max_objects`` are read per run (the rest are
counted as skipped, and the report says so).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .windows import Window


@dataclass
class ReadStats:
    """What a run read: objects and lines, and the objects left unread at the cap."""

    objects: int = 0
    lines: int = 0
    objects_skipped: int = 0
    undecodable_lines: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "lines": self.lines,
            "objects_skipped": self.objects_skipped,
            "undecodable_lines": self.undecodable_lines,
            "rejected": dict(sorted(self.rejected.items())),
        }


class WindowReader:
    """Lines of the objects under a prefix for the hours of a window."""

    def __init__(self, s3: Any, bucket: str, max_objects: int, stats: ReadStats) -> None:
        self.s3, self.bucket, self.max_objects, self.stats = s3, bucket, max_objects, stats

    def variants(self, prefix: str) -> list[str]:
        """The variant folders under an endpoint's capture prefix."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    def lines(self, prefix: str, hours: list[dt.datetime]) -> Iterator[str]:
        for hour in hours:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{prefix}{hour:%Y/%m/%d/%H}/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if self.stats.objects >= self.max_objects:
                        self.stats.objects_skipped += 1
                        continue
                    self.stats.objects += 1
                    yield from self._object_lines(item["Key"])

    def _object_lines(self, key: str) -> Iterator[str]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        for raw in body.iter_lines():
            if not raw.strip():
                continue
            self.stats.lines += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.stats.undecodable_lines += 1


def capture_hours(window: Window) -> list[dt.datetime]:
    """Capture folders that may hold the window's records (a record's folder is its hour)."""
    return window.hours()


def label_hours(window: Window, now: dt.datetime) -> list[dt.datetime]:
    """Ground truth for the window's requests is uploaded after them, up to now."""
    return Window(window.start, max(now, window.end)).hours()
