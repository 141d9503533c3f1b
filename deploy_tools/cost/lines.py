"""What a priced environment is made of: the traffic assumptions, one line per billed item
(fixed per month, or driven by the traffic), and the environment's totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deploy_tools.cost.price_book import Price, PriceBook, UnpricedError

#: AWS's monthly hour convention (8,760 hours a year / 12).
HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
#: The region priced when an environment names none (it is then environment-agnostic).
DEFAULT_REGION = "us-east-1"
#: Bytes per GB as SageMaker's and CloudWatch's per-GB rates count them.
GB = 1024**3


@dataclass(frozen=True)
class Assumptions:
    """The traffic the prices are applied to; every figure printed states these."""

    requests_per_month: float = 1_000_000
    #: Mean time the model takes per prediction (SageMaker's ModelLatency).
    model_latency_ms: float = 20.0
    #: The inference function's own time per call beyond waiting for the model.
    function_overhead_ms: float = 30.0
    request_bytes: int = 1_000
    response_bytes: int = 200
    #: CloudWatch Logs bytes written per prediction (the function's and API Gateway's).
    log_bytes_per_prediction: int = 1_000
    #: Result polls (GET /predict-async/{id}) per asynchronous prediction.
    async_polls: int = 1
    #: Duration of one run of the in-account drift monitor.
    monitor_run_s: float = 60.0
    #: KMS requests per prediction (S3 Bucket Keys make object writes reuse a data key).
    kms_requests_per_prediction: float = 0.0

    def __post_init__(self) -> None:
        numbers = {k: v for k, v in self.__dict__.items() if isinstance(v, int | float)}
        negative = [k for k, v in numbers.items() if v < 0]
        if negative or self.requests_per_month <= 0:
            raise ValueError(f"assumptions must be positive: {negative or 'requests_per_month'}")

    @property
    def millions(self) -> float:
        return self.requests_per_month / 1e6

    @property
    def requests_per_minute(self) -> float:
        """The mean rate, the traffic spread evenly over the month."""
        return self.requests_per_month / (HOURS_PER_MONTH * 60)

    def describe(self) -> str:
        return (
            f"{self.requests_per_month:,.0f} predictions/month spread evenly; model latency "
            f"{self.model_latency_ms:g} ms; inference function {self.function_overhead_ms:g} ms "
            f"beyond the model; {self.request_bytes:,} B in, {self.response_bytes:,} B out; "
            f"{self.log_bytes_per_prediction:,} B of logs per prediction; "
            f"{self.async_polls} result poll(s) per async prediction; monitor run "
            f"{self.monitor_run_s:g} s; {self.kms_requests_per_prediction:g} KMS requests per "
            f"prediction; {HOURS_PER_MONTH:g} h/month; free tiers not applied"
        )


@dataclass(frozen=True)
class LineItem:
    """One billed item: its monthly ``fixed`` cost (whatever the traffic) and ``usage`` cost
    (at the stated traffic), how it was computed, and the prices used; or why it is unpriced."""

    item: str
    fixed: float = 0.0
    usage: float = 0.0
    detail: str = ""
    prices: tuple[Price, ...] = ()
    unpriced: str | None = None

    @property
    def third_party(self) -> bool:
        return any(p.third_party for p in self.prices)


@dataclass(frozen=True)
class Quote:
    """Prices a line from the book, collecting each rate it used; a missing rate becomes an
    unpriced line with the reason instead of an exception."""

    book: PriceBook
    region: str
    used: list[Price] = field(default_factory=list)

    def cost(self, key: str, unit: str, quantity: float) -> float:
        price = self.book.price(key, self.region, unit)
        self.used.append(price)
        return price.cost(quantity)

    def line(self, item: str, compute: Callable[[Quote], tuple[float, float, str]]) -> LineItem:
        """``compute`` returns (fixed, usage, detail) using :meth:`cost`."""
        quote = Quote(self.book, self.region)
        try:
            fixed, usage, detail = compute(quote)
        except UnpricedError as missing:
            return LineItem(item=item, unpriced=str(missing), prices=tuple(quote.used))
        return LineItem(
            item=item, fixed=fixed, usage=usage, detail=detail, prices=tuple(quote.used)
        )


@dataclass(frozen=True)
class EnvironmentCost:
    """An environment's lines and totals at the stated traffic."""

    name: str
    kind: str
    region: str
    region_named: bool
    assumptions: Assumptions
    lines: tuple[LineItem, ...]

    @property
    def fixed(self) -> float:
        return sum(line.fixed for line in self.lines)

    @property
    def usage(self) -> float:
        return sum(line.usage for line in self.lines)

    @property
    def total(self) -> float:
        return self.fixed + self.usage

    @property
    def usage_per_million(self) -> float:
        """The traffic-driven cost per million predictions (at the stated traffic)."""
        return self.usage / self.assumptions.millions

    @property
    def per_million(self) -> float:
        """Everything, fixed included, per million predictions at the stated traffic."""
        return self.total / self.assumptions.millions

    @property
    def unpriced(self) -> tuple[LineItem, ...]:
        return tuple(line for line in self.lines if line.unpriced)

    @property
    def third_party(self) -> bool:
        """Some amount in the totals rests on a third-party rate."""
        return any(line.third_party and (line.fixed or line.usage) for line in self.lines)

    @property
    def prices(self) -> tuple[Price, ...]:
        """Every rate used, each once."""
        seen: dict[tuple[str, str], Price] = {}
        for line in self.lines:
            for price in line.prices:
                seen.setdefault((price.key, price.region), price)
        return tuple(seen.values())
