"""The cost table (markdown or aligned text), the assumptions and sources beneath it, and the
itemized lines per environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from deploy_tools.cost.environment import NOT_MODELLED
from deploy_tools.cost.lines import DEFAULT_REGION, EnvironmentCost, LineItem
from deploy_tools.cost.price_book import Price

Format = Literal["markdown", "text"]


def money(value: float) -> str:
    return f"${value:,.2f}"


def _marked(value: float, cost: EnvironmentCost) -> str:
    return money(value) + ("*" if cost.third_party else "")


def _grid(rows: Sequence[Sequence[str]], right: Sequence[bool], style: Format) -> list[str]:
    if style == "markdown":
        rule = ["---:" if r else "---" for r in right]
        return [f"| {' | '.join(row)} |" for row in (rows[0], rule, *rows[1:])]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(w) if r else cell.ljust(w)
            for cell, w, r in zip(row, widths, right, strict=True)
        ).rstrip()
        for row in rows
    ]


def table(costs: Sequence[EnvironmentCost], style: Format = "markdown") -> list[str]:
    """One row per environment: fixed per month, the traffic-driven cost per million, the
    month's total at the stated traffic and what that is per million, and what is unpriced."""
    traffic = f"{costs[0].assumptions.requests_per_month:,.0f}" if costs else ""
    header = [
        "environment",
        "kind",
        "region",
        "fixed/month",
        "variable per 1M",
        f"total/month at {traffic}",
        f"per 1M at {traffic}",
        "unpriced",
    ]
    rows = [header]
    for cost in costs:
        region = cost.region if cost.region_named else f"{cost.region} (default)"
        rows.append(
            [
                cost.name,
                cost.kind,
                region,
                _marked(cost.fixed, cost),
                _marked(cost.usage_per_million, cost),
                _marked(cost.total, cost),
                _marked(cost.per_million, cost),
                ", ".join(line.item for line in cost.unpriced) or "-",
            ]
        )
    right = [False, False, False, True, True, True, True, False]
    return _grid(rows, right, style)


def itemized(cost: EnvironmentCost, style: Format = "markdown") -> list[str]:
    """Each line of ``cost``: fixed, usage, the item, how it was computed (or why unpriced)."""
    rows = [["fixed/month", "usage/month", "item", "how"]]
    for line in cost.lines:
        if line.unpriced:
            rows.append(["unpriced", "", line.item, line.unpriced])
        else:
            mark = " *" if line.third_party else ""
            rows.append([money(line.fixed), money(line.usage), line.item + mark, line.detail])
    title = f"{cost.name} ({cost.kind}, {cost.region})"
    heading = f"#### {title}" if style == "markdown" else title
    return [heading, "", *_grid(rows, [True, True, False, False], style), ""]


def rate(usd: float) -> str:
    """``usd`` in full (no exponent), with at least cents: $0.0000133334, $3.50."""
    digits = f"{usd:.10f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _source(price: Price) -> str:
    where = "all regions" if price.region == "*" else price.region
    bands, below = [], 0.0
    for tier in price.tiers:
        if len(price.tiers) == 1 and tier.up_to is None:
            bands.append(rate(tier.usd))
        elif tier.up_to is None:
            bands.append(f"{rate(tier.usd)} beyond {below:,.0f}")
        else:
            bands.append(f"{rate(tier.usd)} to {tier.up_to:,.0f}")
            below = tier.up_to
    rate_text = ", ".join(bands)
    published = f", page dated {price.published}" if price.published else ""
    mark = " (third-party) *" if price.third_party else ""
    return (
        f"- `{price.key}` ({where}): {rate_text} per {price.unit}{mark} - {price.source} "
        f"(read {price.read.isoformat()}{published})"
    )


def notes(costs: Sequence[EnvironmentCost]) -> list[str]:
    """The assumptions, the default region, what is left out, and every price used."""
    if not costs:
        return []
    used: dict[tuple[str, str], Price] = {}
    for cost in costs:
        for price in cost.prices:
            used.setdefault((price.key, price.region), price)
    unpriced = sorted(
        {(line.item, line.unpriced or "") for cost in costs for line in cost.unpriced}
    )
    out = [
        f"Assumptions: {costs[0].assumptions.describe()}.",
        f"Region: an environment that names none is priced in {DEFAULT_REGION} (default).",
        "Totals leave out unpriced items: where that column is not empty they are lower bounds. "
        "* uses a rate from a third-party page (no stored AWS page states it).",
        "",
        "Unpriced:",
        *[f"- {item}: {why}" for item, why in unpriced],
        "",
        "Not modelled (every environment): " + "; ".join(NOT_MODELLED) + ".",
        "",
        "Prices used (deploy_tools/cost/prices.yaml):",
        *[_source(p) for _, p in sorted(used.items())],
    ]
    return out


def report(
    costs: Sequence[EnvironmentCost], style: Format = "markdown", verbose: bool = False
) -> str:
    lines = [*table(costs, style), ""]
    if verbose:
        for cost in costs:
            lines += itemized(cost, style)
    lines += notes(costs)
    return "\n".join(lines)


def summary(cost: EnvironmentCost) -> str:
    """One line for the synth report."""
    unpriced: Sequence[LineItem] = cost.unpriced
    names = ", ".join(line.item for line in unpriced)
    left = f"; unpriced ({len(unpriced)}): {names}" if unpriced else ""
    region = cost.region if cost.region_named else f"{cost.region}, default"
    return (
        f"cost ({region}, {cost.assumptions.requests_per_month:,.0f} predictions/month): "
        f"{_marked(cost.fixed, cost)} fixed/month + {_marked(cost.usage_per_million, cost)} "
        f"per 1M = {_marked(cost.total, cost)}/month, {_marked(cost.per_million, cost)} per 1M"
        f"{left}"
    )
