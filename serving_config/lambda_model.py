"""Settings of the model served inside a Lambda function (``endpoint.kind: lambda``, the
``lambda_model:`` section): memory, architecture, timeout, reserved and provisioned concurrency,
the provisioned concurrency's schedules (Application Auto Scaling scheduled actions on the
function's alias, read in ``time_zone`` as ``scaling.schedules`` are), and data-capture batching.

The variant's own rules (``serving_core.variants.LambdaVariant``: Lambda's memory range,
provisioned at most reserved) are checked where the variant is built (``hosting.py``) and
reported under these fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require
from serving_config.scaling import cron_problem, require_ordered_bounds, validate_time_zone
from serving_config.service_model import require_enumerated

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class ProvisionedScheduleSettings:
    """At ``cron``, the alias's provisioned concurrency becomes ``value`` (both bounds), or
    its bounds ``min_capacity`` and/or ``max_capacity``."""

    name: str
    cron: str
    value: int | None = None
    min_capacity: int | None = None
    max_capacity: int | None = None

    def validate(self, path: str) -> None:
        require(
            1 <= len(self.name) <= 40 and set(self.name) <= _NAME_CHARS,
            join(path, "name"),
            f"{self.name!r} must be 1-40 letters, digits, '-' or '_'",
        )
        problem = cron_problem(self.cron)
        require(problem is None, join(path, "cron"), problem or "")
        given = [
            n for n in ("value", "min_capacity", "max_capacity") if getattr(self, n) is not None
        ]
        require(bool(given), path, "set value, or min_capacity and/or max_capacity")
        require(
            self.value is None or given == ["value"],
            join(path, "value"),
            "sets both bounds: leave min_capacity and max_capacity out",
        )
        for name in given:
            value = getattr(self, name)
            require(value >= 1, join(path, name), f"{value} must be at least 1")
        require_ordered_bounds(self.min_capacity, self.max_capacity, path)

    @property
    def bounds(self) -> tuple[int | None, int | None]:
        """(min, max) the scheduled action sets (None: left as it is)."""
        if self.value is not None:
            return self.value, self.value
        return self.min_capacity, self.max_capacity


@dataclass(frozen=True)
class LambdaModelSettings:
    """``memory_mb`` (Lambda gives CPU in proportion), ``architecture``, ``timeout_s`` (within
    API Gateway's 29 s), ``reserved_concurrency`` (None: none reserved; Lambda keeps 100 of the
    account's concurrency unreserved, so a reservation needs an account limit above 100 plus
    it), ``provisioned_concurrency`` on the ``live`` alias (None: cold starts on demand;
    billed while idle), its ``schedules`` in ``time_zone``, and how many captured records one
    capture object holds (``capture_max_records``; 1 writes before answering) and how old a
    batch may grow (``capture_max_age_s``)."""

    memory_mb: int = 2048
    architecture: Literal["arm64", "x86_64"] = "arm64"
    timeout_s: int = 10
    reserved_concurrency: int | None = None
    provisioned_concurrency: int | None = None
    time_zone: str = "UTC"
    schedules: tuple[ProvisionedScheduleSettings, ...] = ()
    capture_max_records: int = 1
    capture_max_age_s: int = 60

    def validate(self, path: str) -> None:
        require_enumerated(
            self.architecture, join(path, "architecture"), "lambda_model.architecture"
        )
        validate_time_zone(self.time_zone, join(path, "time_zone"))
        require(
            1 <= self.capture_max_records <= 10_000,
            join(path, "capture_max_records"),
            f"{self.capture_max_records} is outside 1-10000",
        )
        require(
            1 <= self.capture_max_age_s <= 3600,
            join(path, "capture_max_age_s"),
            f"{self.capture_max_age_s} is outside 1-3600",
        )
        names = [s.name for s in self.schedules]
        for i, schedule in enumerate(self.schedules):
            where = f"{join(path, 'schedules')}[{i}]"
            schedule.validate(where)
            require(
                names.count(schedule.name) == 1,
                join(where, "name"),
                f"{schedule.name!r} names more than one schedule",
            )
        require(
            not self.schedules or self.provisioned_concurrency is not None,
            join(path, "schedules"),
            "schedules change the alias's provisioned concurrency: set provisioned_concurrency "
            "(the level between schedules) too",
        )

    @property
    def provisioned_concurrency_max(self) -> int | None:
        """The most provisioned concurrency the alias may get (schedules included)."""
        highs = [b for s in self.schedules for b in s.bounds if b is not None]
        values = [v for v in (self.provisioned_concurrency, *highs) if v]
        return max(values) if values else None
