"""What one capacity run does and what it found: the plan handed to the load process, the
steps it measured, the verdict and the recommendation (plain data; no Locust here)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from serving_config.capacity import CapacitySettings

Mode = Literal["http", "runtime"]


class CapacityError(ValueError):
    """Bad input to the capacity test; the message names the flag or file."""


@dataclass(frozen=True)
class Plan:
    """The load to offer. ``http``: POST ``{url}/invocations`` (the container contract, the
    local model server). ``runtime``: boto3 ``sagemaker-runtime`` InvokeEndpoint of
    ``endpoint_name`` (SigV4 with the caller's credentials; ``endpoint_url`` for a
    runtime-compatible local server)."""

    mode: Mode
    bodies: tuple[str, ...]
    rates: tuple[float, ...]
    step_s: float
    max_requests: int
    users: int
    latency_p99_ms: float
    min_achieved_fraction: float
    url: str = ""
    endpoint_name: str = ""
    region: str = ""
    endpoint_url: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        for name in ("bodies", "rates"):
            data[name] = tuple(data[name])
        return cls(**data)


@dataclass(frozen=True)
class StepResult:
    """One rung of the ladder as Locust measured it."""

    rate: float
    achieved: float
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    elapsed_s: float
    truncated: bool = False  # the run's request budget ended this step early
    first_error: str = ""

    def problems(self, plan: Plan) -> list[str]:
        """Why this rate is not sustained (empty: it is)."""
        found = []
        if self.requests == 0:
            found.append("no request completed")
        if self.failures:
            found.append(f"{self.failures} errors ({self.first_error[:80]})")
        if self.p99_ms > plan.latency_p99_ms:
            found.append(f"p99 {self.p99_ms:.0f} ms > {plan.latency_p99_ms:.0f} ms")
        if self.achieved < plan.min_achieved_fraction * self.rate:
            found.append(f"achieved {self.achieved:.1f}/s < {plan.min_achieved_fraction:.0%}")
        if self.truncated:
            found.append("request budget ran out")
        return found


@dataclass(frozen=True)
class Outcome:
    steps: tuple[StepResult, ...]
    sustained: StepResult | None
    stopped: str = field(default="")


def judge(plan: Plan, steps: list[StepResult]) -> Outcome:
    """The highest rate whose step passed, with every lower step passing too."""
    sustained = None
    stopped = ""
    for step in steps:
        problems = step.problems(plan)
        if problems:
            stopped = f"{step.rate:g}/s: {'; '.join(problems)}"
            break
        sustained = step
    return Outcome(tuple(steps), sustained, stopped)


def recommended_target(per_instance_rate: float, safety_factor: float) -> int:
    """InvocationsPerInstance is a per-minute sum: requests/s x 60 x safety factor (the
    aws-sagemaker-alpha module's ``scaleOnInvocations`` convention, 0.5 by default)."""
    return max(1, math.floor(per_instance_rate * 60 * safety_factor))


def table(steps: tuple[StepResult, ...], plan: Plan) -> str:
    header = ("rate/s", "achieved/s", "requests", "p50 ms", "p99 ms", "max ms", "errors", "")
    rows = [header]
    for step in steps:
        problems = step.problems(plan)
        rows.append(
            (
                f"{step.rate:g}",
                f"{step.achieved:.1f}",
                str(step.requests),
                f"{step.p50_ms:.0f}",
                f"{step.p99_ms:.0f}",
                f"{step.max_ms:.0f}",
                str(step.failures),
                "ok" if not problems else "FAIL: " + "; ".join(problems),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ).rstrip()


def request_bodies(path: Path, feature_count: int, limit: int = 1000) -> tuple[str, ...]:
    """One ``{"instances": [[...]]}`` body per held-out row (header line, ``label`` column
    dropped, as training and the rehearsal read the test CSV)."""
    if not path.is_file():
        raise CapacityError(f"--rows: {path} does not exist (the held-out test CSV)")
    bodies = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        names = [n for n in reader.fieldnames or [] if n != "label"]
        if len(names) != feature_count:
            raise CapacityError(
                f"--rows: {path} has {len(names)} feature columns, the model takes {feature_count}"
            )
        for line, record in enumerate(reader, start=2):
            try:
                row = [float(record[n]) for n in names]
            except (TypeError, ValueError) as error:
                raise CapacityError(f"--rows: {path} line {line}: {error}") from None
            bodies.append(json.dumps({"instances": [row]}))
            if len(bodies) >= limit:
                break
    if not bodies:
        raise CapacityError(f"--rows: {path} has no rows")
    return tuple(bodies)


def plan_from(settings: CapacitySettings, bodies: tuple[str, ...], **target: Any) -> Plan:
    return Plan(
        bodies=bodies,
        rates=settings.rates,
        step_s=settings.step_s,
        max_requests=settings.max_requests,
        users=settings.users,
        latency_p99_ms=settings.latency_p99_ms,
        min_achieved_fraction=settings.min_achieved_fraction,
        **target,
    )


def steps_from_json(text: str) -> list[StepResult]:
    return [StepResult(**step) for step in json.loads(text)["steps"]]
