"""What serving the model costs, one pricer per hosting variant class.

``PRICERS`` maps a variant class to its pricer; a new hosting kind registers one small function
(``@pricer(NewVariant)``) and nothing else changes. A pricer returns the hosting lines and the
front door's use (API calls and the inference function's time per call), which the environment
prices the same way for every kind; a kind that serves from Lambda prices its function with
:func:`deploy_tools.cost.lambda_cost.lambda_lines` and may say the front door runs no separate
function (``function_ms=None``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deploy_tools.cost.lambda_cost import LambdaUse, lambda_lines
from deploy_tools.cost.lines import (
    GB,
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    Assumptions,
    LineItem,
    Quote,
)
from deploy_tools.cost.schedule import bounds_over_year
from serving_config.settings import Settings
from serving_core.variants import (
    AsyncVariant,
    HostingVariant,
    InstanceVariant,
    LambdaVariant,
    ServerlessVariant,
)


@dataclass(frozen=True)
class FrontDoor:
    """How the inference API is used per prediction: REST API calls, and the inference
    function's duration per call (None: the kind runs no separate function)."""

    api_calls_per_prediction: float
    function_ms: float | None


@dataclass(frozen=True)
class Hosting:
    lines: tuple[LineItem, ...]
    front_door: FrontDoor


@dataclass(frozen=True)
class HostingContext:
    settings: Settings
    quote: Quote
    assumptions: Assumptions


Pricer = Callable[[HostingVariant, HostingContext], Hosting]
PRICERS: dict[type[HostingVariant], Pricer] = {}


def pricer(variant_class: type[HostingVariant]) -> Callable[[Pricer], Pricer]:
    """Register the pricer of ``variant_class``."""

    def register(function: Pricer) -> Pricer:
        PRICERS[variant_class] = function
        return function

    return register


def price_hosting(variant: HostingVariant, context: HostingContext) -> Hosting:
    """The most specific registered pricer for ``variant``'s class."""
    for cls in type(variant).__mro__:
        if cls in PRICERS:
            return PRICERS[cls](variant, context)
    unpriced = LineItem(
        item=f"hosting ({variant.described} variant)",
        unpriced=f"no pricer registered for {type(variant).__name__}",
    )
    return Hosting(lines=(unpriced,), front_door=_synchronous(context.assumptions))


def _synchronous(a: Assumptions) -> FrontDoor:
    return FrontDoor(1.0, a.model_latency_ms + a.function_overhead_ms)


def data_processed(context: HostingContext) -> LineItem:
    """SageMaker's per-GB charge on invocation data in and out."""
    a = context.assumptions
    gb = a.requests_per_month * (a.request_bytes + a.response_bytes) / GB

    def compute(q: Quote) -> tuple[float, float, str]:
        cost = q.cost("sagemaker.data_processed_gb", "GB", gb)
        return 0.0, cost, f"{gb:,.2f} GB in and out"

    return context.quote.line("SageMaker data processed", compute)


def instance_hours(
    context: HostingContext, instance_type: str, floor: float, average: float, detail: str
) -> LineItem:
    """An instance fleet's hours: ``floor`` instances on average always run (fixed), the
    traffic adds ``average - floor`` (usage)."""

    def compute(q: Quote) -> tuple[float, float, str]:
        key = f"sagemaker.hosting.{instance_type}"
        fixed = q.cost(key, "instance-hour", floor * HOURS_PER_MONTH)
        usage = q.cost(key, "instance-hour", average * HOURS_PER_MONTH) - fixed
        return fixed, usage, detail

    return context.quote.line(f"SageMaker hosting ({instance_type})", compute)


@pricer(InstanceVariant)
def price_instances(variant: HostingVariant, context: HostingContext) -> Hosting:
    """A real-time fleet: the schedule-weighted minimum always runs; at the stated traffic the
    fleet grows to what target tracking asks (requests per minute / target per instance),
    within the bounds in effect."""
    assert isinstance(variant, InstanceVariant)
    a, scaling = context.assumptions, context.settings.scaling
    if scaling is None:
        count = variant.initial_instance_count
        floor = average = float(count)
        detail = f"{count} instance(s) all month (no autoscaling)"
    else:
        needed = a.requests_per_minute / scaling.target_invocations_per_instance
        try:
            bounds = bounds_over_year(scaling.min_capacity, scaling.max_capacity, scaling.schedules)
        except ValueError as error:
            unpriced = LineItem(
                item=f"SageMaker hosting ({variant.instance_type})",
                unpriced=f"schedules not evaluated: {error}",
            )
            return Hosting(lines=(unpriced, data_processed(context)), front_door=_synchronous(a))
        floor = sum(b.share * b.low for b in bounds)
        average = sum(b.share * min(max(needed, b.low), b.high) for b in bounds)
        shares = ", ".join(f"{b.low}-{b.high} for {b.share:.1%}" for b in bounds)
        detail = (
            f"bounds {shares} of the year ({scaling.time_zone}); minimum {floor:.2f} on "
            f"average; traffic asks {needed:.2f} ({a.requests_per_minute:,.1f}/min / "
            f"{scaling.target_invocations_per_instance:,} per instance): {average:.2f} on average"
        )
    lines = (
        instance_hours(context, variant.instance_type, floor, average, detail),
        data_processed(context),
    )
    return Hosting(lines=lines, front_door=_synchronous(a))


@pricer(AsyncVariant)
def price_async(variant: HostingVariant, context: HostingContext) -> Hosting:
    """An asynchronous fleet scaling on its backlog: ``min_capacity`` always runs; above it,
    the work (predictions x latency / concurrent invocations per instance) and, when it may
    scale to zero, the time an instance stays up after a request (the scale-in cooldown), the
    traffic spread evenly."""
    assert isinstance(variant, AsyncVariant)
    a, backlog = context.assumptions, context.settings.async_inference
    per_instance = variant.max_concurrent_invocations_per_instance or 1
    work = a.requests_per_month * a.model_latency_ms / 1000 / per_instance / SECONDS_PER_MONTH
    awake_s = backlog.scale_in_cooldown_s + a.model_latency_ms / 1000
    awake = min(1.0, a.requests_per_month * awake_s / SECONDS_PER_MONTH)
    floor = float(variant.min_capacity)
    average = min(float(variant.max_capacity), max(floor, work, awake))
    detail = (
        f"{variant.min_capacity}-{variant.max_capacity} instances on the backlog; work "
        f"{work:.3f} instances ({per_instance} concurrent each); up {awake:.1%} of the month "
        f"if each request keeps one {awake_s:g} s; {average:.3f} on average"
    )
    lines = (
        instance_hours(context, variant.instance_type, floor, average, detail),
        data_processed(context),
    )
    front_door = FrontDoor(1.0 + a.async_polls, a.function_overhead_ms)
    return Hosting(lines=lines, front_door=front_door)


@pricer(ServerlessVariant)
def price_serverless(variant: HostingVariant, context: HostingContext) -> Hosting:
    """Serverless Inference: memory x duration per prediction; provisioned concurrency keeps
    instances warm all month and bills the inference it serves at its own rate."""
    assert isinstance(variant, ServerlessVariant)
    a, quote = context.assumptions, context.quote
    gb = variant.memory_mb / 1024
    busy_s = a.requests_per_month * a.model_latency_ms / 1000
    provisioned = variant.provisioned_concurrency or 0
    served_s = min(busy_s, provisioned * SECONDS_PER_MONTH)

    def on_demand(q: Quote) -> tuple[float, float, str]:
        gb_s = (busy_s - served_s) * gb
        cost = q.cost("sagemaker.serverless.gb_second", "GB-second", gb_s) if gb_s else 0.0
        return 0.0, cost, f"{busy_s - served_s:,.0f} s x {variant.memory_mb} MB = {gb_s:,.0f} GB-s"

    lines = [quote.line("SageMaker Serverless inference", on_demand)]
    if provisioned:

        def warm(q: Quote) -> tuple[float, float, str]:
            gb_s = provisioned * SECONDS_PER_MONTH * gb
            cost = q.cost("sagemaker.serverless.provisioned_concurrency", "GB-second", gb_s)
            return cost, 0.0, f"{provisioned} x {variant.memory_mb} MB kept warm all month"

        def served(q: Quote) -> tuple[float, float, str]:
            gb_s = served_s * gb
            cost = q.cost("sagemaker.serverless.provisioned_inference", "GB-second", gb_s)
            return 0.0, cost, f"{gb_s:,.0f} GB-s served warm"

        lines.append(quote.line("SageMaker Serverless provisioned concurrency", warm))
        lines.append(quote.line("SageMaker Serverless inference on provisioned", served))
    lines.append(data_processed(context))
    return Hosting(lines=tuple(lines), front_door=_synchronous(a))


@pricer(LambdaVariant)
def price_lambda(variant: HostingVariant, context: HostingContext) -> Hosting:
    """The model inside a Lambda function: one invocation per prediction (the API integrates
    the function's alias: no separate inference function), each as long as the model's
    latency, GB-seconds by architecture; provisioned concurrency at its level between
    schedules (the schedules' extra hours are not added). No SageMaker charges."""
    assert isinstance(variant, LambdaVariant)
    a = context.assumptions
    use = LambdaUse(
        name="model function",
        memory_mb=variant.memory_mb,
        architecture=variant.architecture,
        invocations=a.requests_per_month,
        duration_ms=a.model_latency_ms,
        provisioned_concurrency=variant.provisioned_concurrency or 0,
    )
    return Hosting(lines=tuple(lambda_lines(context.quote, use)), front_door=FrontDoor(1.0, None))
