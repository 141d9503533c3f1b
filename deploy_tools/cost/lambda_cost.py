"""A Lambda function's cost, for any function of the stacks: requests, GB-seconds of duration
by architecture, and provisioned concurrency (capacity kept warm, and the cheaper duration of
the invocations it serves). The inference API's function, the drift monitor, and a hosting
kind that serves the model from Lambda all price through here."""

from __future__ import annotations

from dataclasses import dataclass

from deploy_tools.cost.lines import SECONDS_PER_MONTH, LineItem, Quote


@dataclass(frozen=True)
class LambdaUse:
    """How a function is configured and used in a month. ``fixed``: its invocations do not
    depend on the traffic (a schedule), so its cost counts as fixed."""

    name: str
    memory_mb: int
    architecture: str
    invocations: float
    duration_ms: float
    provisioned_concurrency: int = 0
    fixed: bool = False

    @property
    def gb(self) -> float:
        return self.memory_mb / 1024

    @property
    def busy_seconds(self) -> float:
        """Concurrency-seconds the invocations need in the month."""
        return self.invocations * self.duration_ms / 1000


def _split(use: LambdaUse, amount: float) -> tuple[float, float]:
    return (amount, 0.0) if use.fixed else (0.0, amount)


def lambda_lines(quote: Quote, use: LambdaUse) -> list[LineItem]:
    """Requests, duration, and (with provisioned concurrency) the warm capacity."""
    arch = use.architecture

    def requests(q: Quote) -> tuple[float, float, str]:
        cost = q.cost("lambda.requests", "1M requests", use.invocations / 1e6)
        return (*_split(use, cost), f"{use.invocations:,.0f} requests")

    lines = [quote.line(f"{use.name}: Lambda requests", requests)]
    if not use.provisioned_concurrency:

        def duration(q: Quote) -> tuple[float, float, str]:
            gb_s = use.busy_seconds * use.gb
            cost = q.cost(f"lambda.duration.{arch}", "GB-second", gb_s)
            return (
                *_split(use, cost),
                f"{use.invocations:,.0f} x {use.duration_ms:g} ms x {use.memory_mb} MB "
                f"({arch}) = {gb_s:,.0f} GB-s",
            )

        lines.append(quote.line(f"{use.name}: Lambda duration", duration))
        return lines

    capacity_s = use.provisioned_concurrency * SECONDS_PER_MONTH
    served_s = min(use.busy_seconds, capacity_s)

    def warm(q: Quote) -> tuple[float, float, str]:
        gb_s = capacity_s * use.gb
        cost = q.cost(f"lambda.provisioned_concurrency.{arch}", "GB-second", gb_s)
        return cost, 0.0, f"{use.provisioned_concurrency} x {use.memory_mb} MB kept warm all month"

    def served(q: Quote) -> tuple[float, float, str]:
        on_warm = served_s * use.gb
        overflow = (use.busy_seconds - served_s) * use.gb
        cost = q.cost(f"lambda.provisioned_duration.{arch}", "GB-second", on_warm)
        if overflow > 0:
            cost += q.cost(f"lambda.duration.{arch}", "GB-second", overflow)
        detail = f"{on_warm:,.0f} GB-s on provisioned concurrency, {overflow:,.0f} GB-s beyond"
        return (*_split(use, cost), detail)

    lines.append(quote.line(f"{use.name}: Lambda provisioned concurrency", warm))
    lines.append(quote.line(f"{use.name}: Lambda duration", served))
    return lines
