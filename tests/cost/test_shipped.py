"""Every shipped environment priced from the repository's price data, the data's provenance,
the command's table, and the synth report's cost lines."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import yaml

from deploy_tools.cost import load_price_book, price_environment
from deploy_tools.cost.cli import main
from deploy_tools.cost.environment import INTERFACE_ENDPOINTS
from deploy_tools.cost.price_book import PRICES_FILE, parse_price_book
from serving_config import available_environments, available_pipelines, load_pipeline, load_settings

ENVIRONMENTS = available_environments()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_shipped_environment_is_priced(env: str) -> None:
    cost = price_environment(load_settings(env))
    assert cost.fixed > 0 and cost.usage > 0 and cost.per_million > 0
    assert cost.region == "us-east-1"  # named, or the stated default
    hosting = [
        line
        for line in cost.lines
        if line.item.startswith(("SageMaker hosting", "model function: Lambda requests"))
    ]
    serverless = [line for line in cost.lines if line.item.startswith("SageMaker Serverless")]
    assert [line.unpriced for line in hosting + serverless] == [None]
    for line in cost.lines:
        assert line.unpriced or line.prices, line.item  # priced from the data, or says why not
        assert line.fixed >= 0 and line.usage >= 0


def test_unpriced_items_are_listed_with_their_reason() -> None:
    prod = price_environment(load_settings("prod"))
    assert [(line.item, bool(line.unpriced)) for line in prod.unpriced] == [("VPC flow logs", True)]
    for name in available_pipelines():
        for stage in load_pipeline(name).stages:
            cost = price_environment(stage.settings)  # eu-west-1: mostly no prices
            assert cost.region == "eu-west-1"
            assert any("no eu-west-1 price" in (line.unpriced or "") for line in cost.lines)


def test_every_price_names_its_page_the_date_read_and_the_region() -> None:
    raw: dict[str, Any] = yaml.safe_load(PRICES_FILE.read_text(encoding="utf-8"))
    assert raw["prices"]
    for entry in raw["prices"]:
        where = f"{entry.get('key')} ({entry.get('region')})"
        assert re.match(r"^https://\S+$", entry["source"]), where
        assert isinstance(entry["read"], datetime.date), where
        assert entry["read"] <= datetime.date(2026, 12, 4), where
        assert entry["region"], where
        assert entry["quote"].strip(), where
        assert entry["publisher"] in ("AWS", "third-party"), where
    book = load_price_book()
    assert len(book.prices) == len(raw["prices"])
    assert {n.key for n in book.not_found} >= {"sagemaker.serverless.provisioned_concurrency"}


def test_a_price_without_its_source_is_refused() -> None:
    entry = {
        "key": "k",
        "region": "us-east-1",
        "unit": "GB",
        "usd": 1.0,
        "publisher": "AWS",
        "read": datetime.date(2026, 12, 4),
        "quote": "q",
    }
    with pytest.raises(ValueError, match="source"):
        parse_price_book({"prices": [entry]})
    with pytest.raises(ValueError, match="not an https URL"):
        parse_price_book({"prices": [{**entry, "source": "aws pricing page"}]})
    with pytest.raises(ValueError, match="recorded twice"):
        source = {**entry, "source": "https://example.test"}
        parse_price_book({"prices": [source, source]})


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    header, _rule, *rows = out.splitlines()[: 2 + len(ENVIRONMENTS)]
    assert header.startswith("| environment | kind | region | fixed/month |")
    assert "total/month at 1,000,000" in header
    assert [row.split("|")[1].strip() for row in rows] == ENVIRONMENTS
    assert "Assumptions: 1,000,000 predictions/month" in out
    assert "Prices used (deploy_tools/cost/prices.yaml):" in out
    assert "Unpriced:\n- VPC flow logs: not estimated" in out
    assert "https://aws.amazon.com/lambda/pricing/" in out


def test_the_command_takes_the_traffic_and_one_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--env", "batch", "--env", "prod", "--format", "text", "--verbose"]
    assert main([*args, "--requests-per-month", "10000", "--model-latency-ms", "50"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["environment", "kind", "region"]
    assert [line.split()[0] for line in lines[1:3]] == ["batch", "prod"]
    assert "10,000 predictions/month" in out and "model latency 50 ms" in out
    assert "VPC interface endpoints" in out  # itemized
    assert main(["--env", "nope"]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err


def test_scale_to_zero_costs_less_at_low_traffic() -> None:
    from deploy_tools.cost import Assumptions

    batch = load_settings("batch")
    quiet = price_environment(batch, Assumptions(requests_per_month=1_000))
    busy = price_environment(batch, Assumptions(requests_per_month=1_000_000))
    assert quiet.total < busy.total / 3


def test_the_network_prices_the_endpoints_the_construct_creates() -> None:
    from ml_constructs.private_network.construct import INTERFACE_ENDPOINTS as CREATED

    assert tuple(CREATED) == INTERFACE_ENDPOINTS


def test_the_synth_report_prints_each_environments_cost() -> None:
    from deploy_tools.synth_report import cost_lines

    (prod,) = cost_lines("prod")
    assert prod.startswith("   cost (us-east-1, default, 1,000,000 predictions/month): $")
    assert "per 1M" in prod and "unpriced (1): VPC flow logs" in prod
    stages = cost_lines("pipeline")
    assert [line.split(":")[0].strip() for line in stages] == ["staging", "prod"]


def test_the_readme_shows_the_table_as_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """README, "What it costs": the command's output, current with the data and the code."""
    from pathlib import Path

    assert main([]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "python -m deploy_tools.cost" in readme
    assert printed in readme
