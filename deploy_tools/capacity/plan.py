"""What one capacity run does and what it found: the plan handed to the load process, the
steps it measured, the verdict and the recommendation (plain data; no Locust here)."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from serving_config.capacity import CapacitySettings

Mode = Literal["http", "runtime", "lambda"]

#: Lambda's default quota of concurrent executions per account and Region (it can be raised;
#: new accounts may start lower: GetAccountSettings says what an account has).
ACCOUNT_CONCURRENCY_DEFAULT = 1000
#: Lambda keeps this many concurrent executions unreserved for the functions without reserved
#: concurrency: reserved (and so provisioned) concurrency can take the rest only.
UNRESERVED_MINIMUM = 100


class CapacityError(ValueError):
    """Bad input to the capacity test; the message names the flag or file."""


@dataclass(frozen=True)
class Plan:
    """The load to offer. ``http``: POST ``{url}/invocations`` (the container contract, the
    local model server). ``runtime``: boto3 ``sagemaker-runtime`` InvokeEndpoint of
    ``endpoint_name`` (SigV4 with the caller's credentials; ``endpoint_url`` for a
    runtime-compatible local server). ``lambda``: boto3 ``lambda`` Invoke of ``function_name``
    at ``qualifier`` (an alias or version; empty when the name is an ARN that carries it) with
    an API Gateway proxy event of ``POST /predict`` per body (``endpoint_url``: a
    Lambda-compatible local server)."""

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
    function_name: str = ""
    qualifier: str = ""

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
    #: Lambda: requests refused with 429 / TooManyRequestsException (among ``failures``).
    throttled: int = 0
    #: Lambda: p99 of the ``Duration`` the function's REPORT lines gave (LogType Tail); None
    #: when none came back (a local runner writes none).
    duration_p99_ms: float | None = None

    @property
    def errors(self) -> int:
        """Failures other than throttles."""
        return self.failures - self.throttled

    def problems(self, plan: Plan) -> list[str]:
        """Why this rate is not sustained (empty: it is)."""
        found = []
        if self.requests == 0:
            found.append("no request completed")
        if self.errors:
            found.append(f"{self.errors} errors ({self.first_error[:80]})")
        if self.throttled:
            found.append(f"{self.throttled} throttled (429)")
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


def recommended_provisioned_concurrency(
    rate_per_s: float, duration_ms: float, safety_factor: float
) -> int:
    """Little's law: the executions busy at once = arrival rate x the time each request holds
    one (Lambda holds a concurrent execution for the whole invocation), divided by
    ``safety_factor`` (the share of the time each provisioned environment is busy at that
    rate, as SageMaker's target is the measured rate x ``safety_factor``), rounded up.
    ``round(..., 9)`` first: 30/s x 70 ms / 0.7 is 3, not the 4 its float error would give."""
    for name, value in (("rate_per_s", rate_per_s), ("duration_ms", duration_ms)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name}: {value} must be a positive number")
    if not 0 < safety_factor <= 1:
        raise ValueError(f"safety_factor: {safety_factor} is outside (0, 1]")
    busy = rate_per_s * duration_ms / 1000 / safety_factor
    return max(1, math.ceil(round(busy, 9)))


def function_time(step: StepResult) -> tuple[float, str]:
    """The time a request holds an execution at ``step`` (ms) and where it comes from: the p99
    of the function's own REPORT ``Duration`` when the responses carried them, else the p99
    of the Invoke round trip (an upper bound: it adds the Invoke API and the network)."""
    if step.duration_p99_ms is not None and step.duration_p99_ms > 0:
        return step.duration_p99_ms, "p99 of the function's REPORT Duration"
    return step.p99_ms, "p99 of the Invoke round trip (an upper bound of the time in the function)"


@dataclass(frozen=True)
class ConcurrencyAdvice:
    """The provisioned concurrency for a rate, and what it asks of reserved concurrency and the
    account. Reserved concurrency is the function's ceiling and provisioned concurrency cannot
    exceed it; the account keeps ``UNRESERVED_MINIMUM`` executions unreserved, so a function
    can reserve at most ``account_concurrency - UNRESERVED_MINIMUM``."""

    rate_per_s: float
    rate_source: str
    duration_ms: float
    duration_source: str
    safety_factor: float
    provisioned: int
    account_concurrency: int
    warnings: tuple[str, ...]

    @property
    def reservable(self) -> int:
        return self.account_concurrency - UNRESERVED_MINIMUM

    def lines(self) -> list[str]:
        return [
            f"recommended provisioned concurrency = ceil({self.rate_per_s:g}/s x "
            f"{self.duration_ms / 1000:.3f} s / {self.safety_factor:g}) = {self.provisioned} "
            f"(rate: {self.rate_source}; time: {self.duration_source})",
            f"reserved concurrency, if set, must be at least {self.provisioned} (provisioned "
            f"concurrency cannot exceed it); the account quota is {self.account_concurrency} "
            f"concurrent executions (Lambda's default: {ACCOUNT_CONCURRENCY_DEFAULT}), of which "
            f"a function can reserve at most {self.reservable}",
            *(f"warning: {w}" for w in self.warnings),
        ]


def concurrency_advice(
    sustained: StepResult,
    safety_factor: float,
    peak_rate: float | None = None,
    reserved: int | None = None,
    provisioned: int | None = None,
    account_concurrency: int = ACCOUNT_CONCURRENCY_DEFAULT,
) -> ConcurrencyAdvice:
    """Size provisioned concurrency for ``peak_rate`` (None: the sustained rate) with the time
    in the function measured at the sustained step; ``reserved`` and ``provisioned``: what
    the function is configured with (plain numbers, None: not set), to compare."""
    duration_ms, duration_source = function_time(sustained)
    rate = peak_rate if peak_rate is not None else sustained.achieved
    source = "capacity.peak_requests_per_s" if peak_rate is not None else "the sustained rate"
    recommended = recommended_provisioned_concurrency(rate, duration_ms, safety_factor)
    warnings = []
    if peak_rate is not None and peak_rate > sustained.achieved:
        warnings.append(
            f"the peak {peak_rate:g}/s is above the highest rate measured "
            f"({sustained.achieved:.1f}/s): the time in the function there is assumed, not "
            "measured"
        )
    if reserved is not None and recommended > reserved:
        warnings.append(
            f"{recommended} exceeds the configured reserved concurrency {reserved}: provisioned "
            f"concurrency cannot exceed it, and the function is throttled beyond {reserved} "
            f"concurrent requests; raise reserved_concurrency to at least {recommended}"
        )
    reservable = account_concurrency - UNRESERVED_MINIMUM
    if recommended > reservable:
        warnings.append(
            f"{recommended} exceeds what one function can reserve or provision in an account "
            f"with {account_concurrency} concurrent executions ({reservable}, "
            f"{UNRESERVED_MINIMUM} stay unreserved): request a higher quota"
        )
    if reserved is not None and reserved > reservable:
        warnings.append(
            f"the configured reserved concurrency {reserved} exceeds the {reservable} an account "
            f"with {account_concurrency} concurrent executions lets one function reserve"
        )
    if provisioned is not None and provisioned < recommended:
        warnings.append(
            f"the configured provisioned concurrency {provisioned} is below {recommended}: at "
            "the peak, requests beyond it run on on-demand concurrency and start cold"
        )
    return ConcurrencyAdvice(
        rate_per_s=rate,
        rate_source=source,
        duration_ms=duration_ms,
        duration_source=duration_source,
        safety_factor=safety_factor,
        provisioned=recommended,
        account_concurrency=account_concurrency,
        warnings=tuple(warnings),
    )


_FUNCTION = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:function:"
    r"|\d{12}:function:)?(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>[a-zA-Z0-9$_-]{1,128}))?$"
)
_QUALIFIER = re.compile(r"^(?:\$LATEST|[a-zA-Z0-9_-]{1,128})$")


def function_target(function: str, qualifier: str | None) -> tuple[str, str, str]:
    """(the function without its qualifier, the qualifier, the ARN's region or "") of
    ``--function-name`` (a name, an ARN or a partial ARN, with or without ``:qualifier``) and
    ``--qualifier``. The qualifier is required and is not ``$LATEST``: provisioned concurrency
    is configured on an alias or a version, and that is what the test sizes."""
    found = _FUNCTION.match(function)
    if found is None:
        raise CapacityError(
            f"--function-name: {function!r} is not a function name (1-64 letters, digits, - or "
            "_), a function ARN or a partial ARN (ACCOUNT:function:NAME), optionally with "
            ":QUALIFIER"
        )
    in_name = found.group("qualifier")
    if qualifier is not None and not _QUALIFIER.match(qualifier):
        raise CapacityError(
            f"--qualifier: {qualifier!r} is not an alias or version (letters, digits, - or _)"
        )
    if in_name and qualifier and in_name != qualifier:
        raise CapacityError(
            f"--qualifier: {qualifier!r} differs from the {in_name!r} in --function-name"
        )
    chosen = qualifier or in_name
    if not chosen or chosen == "$LATEST":
        raise CapacityError(
            "--qualifier: name the alias (e.g. --qualifier live) or version to drive: "
            "provisioned concurrency is configured on an alias or a version, never on "
            f"{chosen or 'the unqualified function ($LATEST)'}"
        )
    base = function[: -(len(in_name) + 1)] if in_name else function
    return base, chosen, found.group("region") or ""


def proxy_event(body: str, request_id: str) -> dict[str, Any]:
    """The API Gateway (REST, proxy integration) event of ``POST /predict`` with ``body``:
    what the function receives behind the API."""
    return {
        "resource": "/predict",
        "path": "/predict",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "Accept": "application/json"},
        "isBase64Encoded": False,
        "body": body,
        "requestContext": {"requestId": request_id, "stage": "capacity"},
    }


def invocation_outcome(function_error: str | None, payload: bytes) -> tuple[str, str]:
    """("ok" | "throttled" | "error", why) of one synchronous Invoke that returned: a
    FunctionError, or a proxy answer other than 2xx (429: throttled), is not a success."""
    text = payload.decode("utf-8", errors="replace")
    if function_error:
        return "error", f"FunctionError {function_error}: {text[:200]}"
    try:
        answer = json.loads(text)
        status = int(answer["statusCode"])
    except (ValueError, TypeError, KeyError):
        return "error", f"not an API Gateway proxy answer: {text[:200]}"
    if 200 <= status < 300:
        return "ok", ""
    kind = "throttled" if status == 429 else "error"
    return kind, f"statusCode {status}: {str(answer.get('body'))[:200]}"


_REPORT = re.compile(r"REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms")


def reported_duration_ms(log_result: str | None) -> float | None:
    """The ``Duration`` of the REPORT line in an Invoke's ``LogResult`` (the base64 tail of
    the invocation's log, with LogType Tail); None when there is none."""
    if not log_result:
        return None
    try:
        tail = base64.b64decode(log_result).decode("utf-8", errors="replace")
    except ValueError:
        return None
    found = _REPORT.search(tail)
    return float(found.group(1)) if found else None


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def table(steps: tuple[StepResult, ...], plan: Plan) -> str:
    lambda_mode = plan.mode == "lambda"
    header: tuple[str, ...] = (
        "rate/s",
        "achieved/s",
        "requests",
        "p50 ms",
        "p99 ms",
        "max ms",
        *(("duration p99 ms", "throttled") if lambda_mode else ()),
        "errors",
        "",
    )
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
                *(
                    (
                        "-" if step.duration_p99_ms is None else f"{step.duration_p99_ms:.0f}",
                        str(step.throttled),
                    )
                    if lambda_mode
                    else ()
                ),
                str(step.errors),
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
