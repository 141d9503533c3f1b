"""The price data (``prices.yaml``) as typed, checked values: each price with its page, the date
it was read and the words it came from, so every figure the tool prints can be traced."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

PRICES_FILE = Path(__file__).resolve().parent / "prices.yaml"
#: A price AWS states without naming a region.
ANY_REGION = "*"
Publisher = Literal["AWS", "third-party"]


class UnpricedError(Exception):
    """An item needs a price the data does not hold (or a quantity beyond its tiers)."""


@dataclass(frozen=True)
class Tier:
    """A band of monthly usage, cumulative: the first ``up_to`` units at ``usd`` each."""

    up_to: float | None
    usd: float


@dataclass(frozen=True)
class Price:
    """One published rate: ``key`` in ``region``, per ``unit``, in tiers, and where it is from."""

    key: str
    region: str
    unit: str
    tiers: tuple[Tier, ...]
    publisher: Publisher
    source: str
    read: datetime.date
    quote: str
    published: str | None = None
    note: str = ""

    @property
    def third_party(self) -> bool:
        return self.publisher != "AWS"

    @property
    def usd(self) -> float:
        """The first tier's rate (what small usage pays)."""
        return self.tiers[0].usd

    def cost(self, quantity: float) -> float:
        """USD for ``quantity`` units in one month, through the tiers; beyond the last tier
        the data holds, the cost is unknown (UnpricedError)."""
        total, below = 0.0, 0.0
        for tier in self.tiers:
            top = math.inf if tier.up_to is None else tier.up_to
            total += max(0.0, min(quantity, top) - below) * tier.usd
            if quantity <= top:
                return total
            below = top
        raise UnpricedError(f"{self.key}: {quantity:,.0f} {self.unit} is beyond the tiers recorded")


@dataclass(frozen=True)
class NotFound:
    """A price looked for and not found, and why."""

    key: str
    why: str


@dataclass(frozen=True)
class PriceBook:
    """Every recorded price, looked up by key and region."""

    prices: tuple[Price, ...]
    not_found: tuple[NotFound, ...] = ()

    def price(self, key: str, region: str, unit: str) -> Price:
        """The price of ``key`` in ``region`` (or one AWS states for every region); ``unit``
        must be the recorded one, so a rate is never applied to the wrong quantity."""
        for candidate in (region, ANY_REGION):
            for price in self.prices:
                if price.key == key and price.region == candidate:
                    if price.unit != unit:
                        raise ValueError(f"{key} is per {price.unit}, not per {unit}")
                    return price
        raise UnpricedError(f"no {region} price for {key}")

    def regions(self) -> list[str]:
        return sorted({p.region for p in self.prices} - {ANY_REGION})


def _tiers(entry: dict[str, Any], where: str) -> tuple[Tier, ...]:
    if "usd" in entry:
        return (Tier(up_to=None, usd=float(entry["usd"])),)
    tiers = tuple(
        Tier(up_to=None if t["up_to"] is None else float(t["up_to"]), usd=float(t["usd"]))
        for t in entry["tiers"]
    )
    edges = [t.up_to for t in tiers]
    if not tiers or any(e is None for e in edges[:-1]) or edges != sorted(edges, key=_edge):
        raise ValueError(f"{where}: tiers must rise, only the last may be open (null)")
    return tiers


def _edge(value: float | None) -> float:
    return math.inf if value is None else value


def _price(entry: dict[str, Any], where: str) -> Price:
    missing = {"key", "region", "unit", "publisher", "source", "read", "quote"} - set(entry)
    if missing or ("usd" in entry) == ("tiers" in entry):
        raise ValueError(f"{where}: needs {sorted(missing)} and exactly one of usd or tiers")
    read = entry["read"]
    if not isinstance(read, datetime.date):
        raise ValueError(f"{where}: read {read!r} is not a date (YYYY-MM-DD)")
    if entry["publisher"] not in ("AWS", "third-party"):
        raise ValueError(f"{where}: publisher {entry['publisher']!r} is not AWS or third-party")
    if not str(entry["source"]).startswith("https://"):
        raise ValueError(f"{where}: source {entry['source']!r} is not an https URL")
    published = entry.get("published")
    return Price(
        key=str(entry["key"]),
        region=str(entry["region"]),
        unit=str(entry["unit"]),
        tiers=_tiers(entry, where),
        publisher=entry["publisher"],
        source=str(entry["source"]),
        read=read,
        quote=str(entry["quote"]),
        published=None if published is None else str(published),
        note=str(entry.get("note", "")),
    )


def parse_price_book(raw: dict[str, Any]) -> PriceBook:
    """A checked price book from the YAML's mapping (``prices``, ``not_found``)."""
    prices = tuple(_price(e, f"prices[{i}]") for i, e in enumerate(raw.get("prices") or []))
    seen = [(p.key, p.region) for p in prices]
    duplicated = sorted({s for s in seen if seen.count(s) > 1})
    if duplicated:
        raise ValueError(f"prices recorded twice: {duplicated}")
    not_found = tuple(
        NotFound(key=str(e["key"]), why=" ".join(str(e["why"]).split()))
        for e in raw.get("not_found") or []
    )
    return PriceBook(prices=prices, not_found=not_found)


@cache
def load_price_book(path: Path = PRICES_FILE) -> PriceBook:
    """The repository's price data (read once per process)."""
    return parse_price_book(yaml.safe_load(path.read_text(encoding="utf-8")))
