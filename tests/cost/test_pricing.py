"""The pricing arithmetic on cases worked by hand, with the round test rates of conftest."""

from __future__ import annotations

from typing import Any

import pytest

from deploy_tools.cost import Assumptions, price_environment
from deploy_tools.cost.hosting import PRICERS, HostingContext, price_hosting, pricer
from deploy_tools.cost.lambda_cost import LambdaUse, lambda_lines
from deploy_tools.cost.lines import SECONDS_PER_MONTH, EnvironmentCost, LineItem, Quote
from deploy_tools.cost.price_book import PriceBook, UnpricedError
from deploy_tools.cost.schedule import bounds_over_year, firings
from serving_config._parsing import build
from serving_config.settings import Settings
from serving_core.variants import VARIANT_CLASSES, HostingVariant
from tests.cost.conftest import REGION, book

#: Weekdays in 2027 (it starts and ends on a Friday: 52 weeks and one Friday).
WEEKDAYS_2027 = 261
HOURS_2027 = 8760


def settings(**raw: Any) -> Settings:
    """An environment built as the loader builds one (validated), in the test region."""
    return build(Settings, {"name": "test", "region": REGION, "sandbox": True, **raw}, "")


def line(cost: EnvironmentCost, name: str) -> LineItem:
    """The line named ``name``, or the one line whose name starts so."""
    exact = [item for item in cost.lines if item.item == name]
    (found,) = exact or [item for item in cost.lines if item.item.startswith(name)]
    return found


def test_a_schedule_fires_on_the_days_and_hours_it_names() -> None:
    assert len(firings("cron(0 7 ? * MON-FRI *)")) == WEEKDAYS_2027
    assert len(firings("cron(30 8,18 ? * 2-6 *)")) == 2 * WEEKDAYS_2027
    assert len(firings("cron(0 0 1 JAN-MAR ? *)")) == 3
    assert len(firings("cron(0 */6 ? * SUN *)")) == 52 * 4
    assert firings("cron(0 7 ? * MON-FRI 2030)") == []
    with pytest.raises(ValueError, match="not evaluated"):
        firings("cron(0 7 L * ? *)")


def test_business_hours_weigh_the_floor_by_the_hours_they_hold() -> None:
    scaling = settings(
        scaling={
            "min_capacity": 1,
            "max_capacity": 4,
            "schedules": [
                {"name": "day", "cron": "cron(0 8 ? * MON-FRI *)", "min_capacity": 3},
                {"name": "night", "cron": "cron(0 18 ? * MON-FRI *)", "min_capacity": 1},
            ],
        }
    ).scaling
    assert scaling is not None
    bounds = bounds_over_year(1, 4, scaling.schedules)
    shares = {(b.low, b.high): b.share for b in bounds}
    assert shares[(3, 4)] == pytest.approx(10 * WEEKDAYS_2027 / HOURS_2027)
    assert sum(shares.values()) == pytest.approx(1.0)


def _fleet(requests: float, full_book: PriceBook) -> EnvironmentCost:
    env = settings(
        endpoint={"instance_type": "ml.m5.large", "initial_instance_count": 1},
        scaling={
            "min_capacity": 1,
            "max_capacity": 4,
            "target_invocations_per_instance": 1000,
            "schedules": [
                {"name": "day", "cron": "cron(0 8 ? * MON-FRI *)", "min_capacity": 3},
                {"name": "night", "cron": "cron(0 18 ? * MON-FRI *)", "min_capacity": 1},
            ],
        },
    )
    return price_environment(env, Assumptions(requests_per_month=requests), full_book)


def test_an_instance_fleet_with_a_schedule(full_book: PriceBook) -> None:
    """$1/h; 1 instance, 3 for 10 weekday hours: 730 x (1 + 2 x 2610/8760) = $1,165 a month.
    At 87.6 M requests (2,000/min, target 1,000) the traffic asks 2: nights and weekends run
    2 instead of 1, 730 x (1 - 2610/8760) = $512.50 more."""
    quiet = line(_fleet(1_000, full_book), "SageMaker hosting")
    assert quiet.fixed == pytest.approx(1165.0)
    assert quiet.usage == pytest.approx(0.0)
    busy = line(_fleet(87_600_000, full_book), "SageMaker hosting")
    assert busy.fixed == pytest.approx(1165.0)
    assert busy.usage == pytest.approx(512.5)
    capped = line(_fleet(876_000_000, full_book), "SageMaker hosting")  # asks 20, max 4
    assert capped.fixed + capped.usage == pytest.approx(4 * 730)


def test_a_schedule_the_tool_cannot_replay_leaves_the_fleet_unpriced(
    full_book: PriceBook,
) -> None:
    env = settings(
        scaling={
            "min_capacity": 1,
            "max_capacity": 2,
            "schedules": [{"name": "month-end", "cron": "cron(0 8 L * ? *)", "min_capacity": 2}],
        }
    )
    hosting = line(price_environment(env, Assumptions(), full_book), "SageMaker hosting")
    assert (
        hosting.unpriced
        == "schedules not evaluated: 'L' is not supported here (L, W and # are not evaluated)"
    )


def test_a_fleet_without_autoscaling_runs_its_initial_count(full_book: PriceBook) -> None:
    env = settings(
        endpoint={"instance_type": "ml.c5.xlarge", "initial_instance_count": 2}, scaling=None
    )
    hosting = line(price_environment(env, Assumptions(), full_book), "SageMaker hosting")
    assert (hosting.fixed, hosting.usage) == (pytest.approx(2 * 730 * 2.0), 0.0)


def _serverless(provisioned: int | None, prices: PriceBook) -> EnvironmentCost:
    env = settings(
        endpoint={
            "kind": "serverless",
            "serverless_memory_mb": 2048,
            "serverless_max_concurrency": 5,
            "serverless_provisioned_concurrency": provisioned,
            "data_capture_percent": 0,
        },
        scaling=None,
        promotion={"traffic_shifting": "all_at_once"},
    )
    return price_environment(env, Assumptions(requests_per_month=1_000_000), prices)


def test_a_serverless_variant_without_provisioned_concurrency(full_book: PriceBook) -> None:
    """1 M x 20 ms = 20,000 s x 2 GB = 40,000 GB-s x $0.00002 = $0.80, nothing fixed."""
    cost = _serverless(None, full_book)
    inference = line(cost, "SageMaker Serverless inference")
    assert (inference.fixed, inference.usage) == (0.0, pytest.approx(0.80))
    assert not [i for i in cost.lines if "provisioned" in i.item]


def test_a_serverless_variant_with_provisioned_concurrency(full_book: PriceBook) -> None:
    """2 x 2 GB kept warm 2,628,000 s at $0.000004 = $42.048 fixed; the 40,000 GB-s fit in it
    and bill at the warm rate, $0.000011: $0.44; nothing on demand."""
    cost = _serverless(2, full_book)
    assert line(cost, "SageMaker Serverless provisioned").fixed == pytest.approx(42.048)
    assert line(cost, "SageMaker Serverless inference on").usage == pytest.approx(0.44)
    assert line(cost, "SageMaker Serverless inference").usage == 0.0


def test_serverless_provisioned_concurrency_without_its_price_is_unpriced(
    rates: dict[str, Any],
) -> None:
    partial = book(*(r for name, r in rates.items() if not name.startswith("serverless_pc")))
    cost = _serverless(2, partial)
    assert {i.item for i in cost.unpriced} == {
        "SageMaker Serverless provisioned concurrency",
        "SageMaker Serverless inference on provisioned",
    }
    assert "no ap-southeast-2 price for sagemaker.serverless.provisioned_concurrency" in {
        i.unpriced for i in cost.unpriced
    }


def _async(min_capacity: int, requests: float, prices: PriceBook) -> LineItem:
    env = settings(
        endpoint={"kind": "async", "instance_type": "ml.m5.large", "data_capture_percent": 0},
        scaling=None,
        model_monitor={"enabled": False},
        promotion={"traffic_shifting": "all_at_once"},
        async_inference={
            "min_capacity": min_capacity,
            "max_capacity": 2,
            "scale_in_cooldown_s": 600,
            "max_concurrent_invocations_per_instance": 4,
        },
    )
    cost = price_environment(env, Assumptions(requests_per_month=requests), prices)
    return line(cost, "SageMaker hosting")


def test_async_at_zero_pays_only_while_requests_keep_it_up(full_book: PriceBook) -> None:
    """1,000 requests, each keeping an instance up for the 600 s cooldown (+ 20 ms): 600,020
    instance-seconds = $166.67 at $1/h, nothing fixed; at one instance minimum, 730 h fixed."""
    at_zero = _async(0, 1_000, full_book)
    assert (at_zero.fixed, at_zero.usage) == (0.0, pytest.approx(600_020 / 3600))
    at_one = _async(1, 1_000, full_book)
    assert (at_one.fixed, at_one.usage) == (pytest.approx(730.0), pytest.approx(0.0))
    # Steady traffic keeps it up all month either way.
    assert _async(0, 1_000_000, full_book).usage == pytest.approx(730.0)


def test_async_predictions_call_the_api_for_the_result_too(full_book: PriceBook) -> None:
    env = settings(
        endpoint={"kind": "async", "data_capture_percent": 0},
        scaling=None,
        model_monitor={"enabled": False},
        promotion={"traffic_shifting": "all_at_once"},
    )
    cost = price_environment(env, Assumptions(async_polls=2), full_book)
    assert line(cost, "API Gateway").usage == pytest.approx(3 * 3.5)  # 3 M requests
    # The function queues the request and returns: its own 30 ms, not the model's latency.
    duration = line(cost, "inference function: Lambda duration")
    assert duration.usage == pytest.approx(3e6 * 0.030 * 0.25 * 0.00001)


def test_private_network_endpoints_per_zone_per_hour(full_book: PriceBook) -> None:
    """11 endpoints x 2 zones x 730 h x $0.01 = $160.60; a private API adds execute-api."""
    private = {"network": {"mode": "create", "availability_zones": 2}}
    cost = price_environment(settings(**private), Assumptions(), full_book)
    assert line(cost, "VPC interface endpoints").fixed == pytest.approx(160.60)
    assert line(cost, "VPC flow logs").unpriced
    with_api = settings(**private, api={"endpoint_type": "private"})
    endpoints = line(
        price_environment(with_api, Assumptions(), full_book), "VPC interface endpoints"
    )
    assert endpoints.fixed == pytest.approx(12 * 2 * 730 * 0.01)
    three_zones = settings(network={"mode": "create", "availability_zones": 3})
    endpoints = line(
        price_environment(three_zones, Assumptions(), full_book), "VPC interface endpoints"
    )
    assert endpoints.fixed == pytest.approx(11 * 3 * 730 * 0.01)
    public = price_environment(settings(), Assumptions(), full_book)
    assert not [i for i in public.lines if i.item.startswith("VPC")]


def test_imported_vpc_endpoints_count_its_zones_or_none(full_book: PriceBook) -> None:
    subnets = [
        {
            "subnet_id": f"subnet-0000000{i}",
            "availability_zone": f"ap-southeast-2{z}",
            "route_table_id": f"rtb-0000000{i}",
        }
        for i, z in enumerate("abc")
    ]
    imported = {"mode": "import", "vpc_id": "vpc-00000000", "subnets": subnets}
    cost = price_environment(settings(network=imported), Assumptions(), full_book)
    assert line(cost, "VPC interface endpoints").fixed == pytest.approx(11 * 3 * 730 * 0.01)
    reused = settings(network={**imported, "create_endpoints": False})
    cost = price_environment(reused, Assumptions(), full_book)
    assert not [i for i in cost.lines if i.item.startswith("VPC")]


def test_lambda_requests_duration_and_provisioned_concurrency(full_book: PriceBook) -> None:
    """1 M x 100 ms x 1 GB = 100,000 GB-s x $0.00001 = $1.00, requests $0.20. With one
    environment kept warm: 2,628,000 GB-s x $0.000004 = $10.512 fixed, the 100,000 GB-s at
    $0.000008 = $0.80."""
    quote = Quote(full_book, REGION)
    use = LambdaUse("fn", memory_mb=1024, architecture="arm64", invocations=1e6, duration_ms=100)
    requests, duration = lambda_lines(quote, use)
    assert (requests.usage, duration.usage) == (pytest.approx(0.2), pytest.approx(1.0))
    warm_use = LambdaUse(
        "fn", 1024, "arm64", invocations=1e6, duration_ms=100, provisioned_concurrency=1
    )
    _, warm, served = lambda_lines(quote, warm_use)
    assert warm.fixed == pytest.approx(SECONDS_PER_MONTH * 0.000004)
    assert served.usage == pytest.approx(0.8)
    scheduled = LambdaUse("fn", 1024, "arm64", invocations=730, duration_ms=1000, fixed=True)
    assert [i.usage for i in lambda_lines(quote, scheduled)] == [0.0, 0.0]


def test_tiers_add_up_and_stop_where_the_data_stops(rates: dict[str, Any]) -> None:
    rest = rates["rest"]  # 333 M at $3.50, up to 1,000 M at $2.80, nothing recorded beyond
    assert rest.cost(400) == pytest.approx(333 * 3.5 + 67 * 2.8)
    with pytest.raises(UnpricedError, match="beyond the tiers"):
        rest.cost(1001)


def test_a_rate_is_never_applied_to_another_unit(full_book: PriceBook) -> None:
    with pytest.raises(ValueError, match="per instance-hour, not per GB"):
        full_book.price("sagemaker.hosting.ml.m5.large", REGION, "GB")


def test_every_hosting_kind_has_a_pricer() -> None:
    assert set(VARIANT_CLASSES.values()) <= set(PRICERS)


def test_a_new_hosting_kind_is_one_registered_pricer(
    full_book: PriceBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NewVariant(HostingVariant):
        described = "a new"

    context = HostingContext(settings(), Quote(full_book, REGION), Assumptions())
    (missing,) = price_hosting(NewVariant(), context).lines
    assert missing.unpriced == "no pricer registered for NewVariant"
    monkeypatch.setattr("deploy_tools.cost.hosting.PRICERS", dict(PRICERS))
    from deploy_tools.cost import hosting

    @pricer(NewVariant)
    def price_new(variant: HostingVariant, ctx: HostingContext) -> hosting.Hosting:
        item = LineItem("new hosting", fixed=5.0)
        return hosting.Hosting(lines=(item,), front_door=hosting.FrontDoor(1.0, None))

    (priced,) = price_hosting(NewVariant(), context).lines
    assert priced.fixed == 5.0


def test_the_totals_and_per_million(full_book: PriceBook) -> None:
    cost = price_environment(settings(), Assumptions(requests_per_month=2_000_000), full_book)
    assert cost.total == pytest.approx(cost.fixed + cost.usage)
    assert cost.per_million == pytest.approx(cost.total / 2)
    assert cost.usage_per_million == pytest.approx(cost.usage / 2)
    assert line(cost, "KMS key").fixed == 1.0  # the "*" price applies in any region
