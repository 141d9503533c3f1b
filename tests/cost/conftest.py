"""A price book with round test rates, so each test's arithmetic can be done by hand."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from deploy_tools.cost.price_book import Price as Rate
from deploy_tools.cost.price_book import PriceBook, Tier

REGION = "ap-southeast-2"


def rate(key: str, unit: str, *tiers: tuple[float | None, float], region: str = REGION) -> Rate:
    return Rate(
        key=key,
        region=region,
        unit=unit,
        tiers=tuple(Tier(up_to=up, usd=usd) for up, usd in tiers),
        publisher="AWS",
        source="https://example.test/prices",
        read=datetime.date(2026, 12, 4),
        quote="test rate",
    )


def book(*rates: Rate) -> PriceBook:
    return PriceBook(prices=rates)


@pytest.fixture
def rates() -> dict[str, Any]:
    """Every rate the pricers use, at round values."""
    return {
        "hosting": rate("sagemaker.hosting.ml.m5.large", "instance-hour", (None, 1.0)),
        "hosting_c5": rate("sagemaker.hosting.ml.c5.xlarge", "instance-hour", (None, 2.0)),
        "data": rate("sagemaker.data_processed_gb", "GB", (None, 0.5)),
        "serverless": rate("sagemaker.serverless.gb_second", "GB-second", (None, 0.00002)),
        "serverless_pc": rate(
            "sagemaker.serverless.provisioned_concurrency", "GB-second", (None, 0.000004)
        ),
        "serverless_pc_inference": rate(
            "sagemaker.serverless.provisioned_inference", "GB-second", (None, 0.000011)
        ),
        "lambda_requests": rate("lambda.requests", "1M requests", (None, 0.2)),
        "lambda_arm": rate("lambda.duration.arm64", "GB-second", (None, 0.00001)),
        "lambda_x86": rate("lambda.duration.x86_64", "GB-second", (None, 0.00002)),
        "lambda_pc": rate("lambda.provisioned_concurrency.arm64", "GB-second", (None, 0.000004)),
        "lambda_pc_duration": rate(
            "lambda.provisioned_duration.arm64", "GB-second", (None, 0.000008)
        ),
        "rest": rate("apigateway.rest.requests", "1M requests", (333, 3.5), (1000, 2.8)),
        "endpoint": rate("privatelink.interface_endpoint", "endpoint-AZ-hour", (None, 0.01)),
        "endpoint_data": rate("privatelink.data_processed", "GB", (None, 0.01)),
        "key": rate("kms.key", "key-month", (None, 1.0), region="*"),
        "kms_requests": rate("kms.requests", "10k requests", (None, 0.03)),
        "logs": rate("logs.ingestion", "GB", (None, 0.5)),
        "log_storage": rate("logs.storage", "GB-month", (None, 0.03)),
    }


@pytest.fixture
def full_book(rates: dict[str, Any]) -> PriceBook:
    return book(*rates.values())
