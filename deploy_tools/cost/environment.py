"""An environment's cost from its configuration alone (no synth): the hosting variant's
pricer, then what every environment runs around it: the inference API (REST API and its
function), the private network's interface endpoints, the project key, the function's logs,
and the in-account drift monitor."""

from __future__ import annotations

from deploy_tools.cost.hosting import FrontDoor, HostingContext, price_hosting
from deploy_tools.cost.lambda_cost import LambdaUse, lambda_lines
from deploy_tools.cost.lines import (
    DEFAULT_REGION,
    GB,
    HOURS_PER_MONTH,
    Assumptions,
    EnvironmentCost,
    LineItem,
    Quote,
)
from deploy_tools.cost.price_book import PriceBook, load_price_book
from serving_config.settings import Settings

#: The interface endpoints a private network creates (ml_constructs/private_network: a test
#: keeps this copy equal to the construct's, which this module does not import: CDK is slow).
INTERFACE_ENDPOINTS = (
    "sagemaker.runtime",
    "sagemaker.api",
    "ssm",
    "sns",
    "xray",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "monitoring",
    "kms",
    "sts",
)
#: Billed by every environment but not estimated here (not driven by predictions, or their
#: volume cannot be read from the configuration).
NOT_MODELLED = (
    "S3 storage and requests (artifacts, data capture, async payloads)",
    "CloudWatch metrics, alarms and dashboard",
    "X-Ray traces of the inference function",
    "SNS, SQS and EventBridge messages",
    "ECR storage of the monitor's image",
    "SageMaker ML storage volumes",
    "data transfer out of AWS",
    "functions run per event (promotion, ground truth, custom resources)",
)


def price_environment(
    settings: Settings,
    assumptions: Assumptions | None = None,
    book: PriceBook | None = None,
) -> EnvironmentCost:
    """Every priced line of ``settings`` at the stated traffic, in its region (or the default
    region, said so, when the environment names none)."""
    a = assumptions or Assumptions()
    region = settings.region or DEFAULT_REGION
    quote = Quote(book or load_price_book(), region)
    hosting = price_hosting(settings.variant, HostingContext(settings, quote, a))
    lines = [
        *hosting.lines,
        *front_door(settings, quote, a, hosting.front_door),
        *network(settings, quote, a),
        *key(quote, a),
        *logs(settings, quote, a),
        *monitoring(settings, quote, a),
    ]
    return EnvironmentCost(
        name=settings.name,
        kind=settings.variant.kind,
        region=region,
        region_named=settings.region is not None,
        assumptions=a,
        lines=tuple(lines),
    )


def front_door(settings: Settings, quote: Quote, a: Assumptions, door: FrontDoor) -> list[LineItem]:
    """The REST API's requests and the inference function behind it."""
    calls = a.requests_per_month * door.api_calls_per_prediction

    def rest(q: Quote) -> tuple[float, float, str]:
        cost = q.cost("apigateway.rest.requests", "1M requests", calls / 1e6)
        return 0.0, cost, f"{calls:,.0f} REST API requests"

    lines = [quote.line("API Gateway REST API", rest)]
    if door.function_ms is not None:
        api = settings.api
        use = LambdaUse(
            name="inference function",
            memory_mb=api.function_memory_mb,
            architecture=api.architecture,
            invocations=calls,
            duration_ms=door.function_ms,
        )
        lines += lambda_lines(quote, use)
    return lines


def interface_endpoints(settings: Settings) -> tuple[int, int]:
    """(endpoints, zones) of the interface endpoints the private network creates."""
    network = settings.network
    if not network.private or not network.create_endpoints:
        return 0, 0
    count = len(INTERFACE_ENDPOINTS) + (settings.api.endpoint_type == "private")
    if network.mode == "create":
        return count, network.availability_zones
    return count, len({s.availability_zone for s in network.subnets})


def network(settings: Settings, quote: Quote, a: Assumptions) -> list[LineItem]:
    """Interface endpoints per zone per hour, the invocations' bytes through them, and the
    flow logs (not estimated)."""
    endpoints, zones = interface_endpoints(settings)
    if not endpoints:
        return []
    gb = a.requests_per_month * (a.request_bytes + a.response_bytes) / GB

    def hours(q: Quote) -> tuple[float, float, str]:
        endpoint_hours = endpoints * zones * HOURS_PER_MONTH
        cost = q.cost("privatelink.interface_endpoint", "endpoint-AZ-hour", endpoint_hours)
        return cost, 0.0, f"{endpoints} endpoints x {zones} zones x {HOURS_PER_MONTH:g} h"

    def processed(q: Quote) -> tuple[float, float, str]:
        cost = q.cost("privatelink.data_processed", "GB", gb)
        return 0.0, cost, f"{gb:,.2f} GB (invocations through sagemaker.runtime)"

    flow_logs = LineItem(
        item="VPC flow logs",
        unpriced="not estimated: their volume follows connections, not predictions",
    )
    return [
        quote.line("VPC interface endpoints", hours),
        quote.line("VPC interface endpoints: data processed", processed),
        flow_logs,
    ]


def key(quote: Quote, a: Assumptions) -> list[LineItem]:
    """The project's customer managed key, and the KMS requests predictions cause."""

    def storage(q: Quote) -> tuple[float, float, str]:
        return q.cost("kms.key", "key-month", 1), 0.0, "1 customer managed key (first year)"

    def requests(q: Quote) -> tuple[float, float, str]:
        count = a.requests_per_month * a.kms_requests_per_prediction
        cost = q.cost("kms.requests", "10k requests", count / 1e4)
        return 0.0, cost, f"{count:,.0f} requests"

    return [quote.line("KMS key", storage), quote.line("KMS requests", requests)]


def logs(settings: Settings, quote: Quote, a: Assumptions) -> list[LineItem]:
    """The logs predictions write: ingestion, and storage at steady state (a month's
    ingestion kept for the log group's retention)."""
    gb = a.requests_per_month * a.log_bytes_per_prediction / GB
    months = settings.api.log_retention_days / (365 / 12)

    def compute(q: Quote) -> tuple[float, float, str]:
        ingest = q.cost("logs.ingestion", "GB", gb)
        stored = q.cost("logs.storage", "GB-month", gb * months)
        detail = f"{gb:,.2f} GB/month, kept {settings.api.log_retention_days} days"
        return 0.0, ingest + stored, detail

    return [quote.line("CloudWatch Logs", compute)]


def monitoring(settings: Settings, quote: Quote, a: Assumptions) -> list[LineItem]:
    """The in-account drift monitor's scheduled runs; Model Monitor's jobs and retraining are
    reported unpriced."""
    monitor = settings.model_monitor
    lines: list[LineItem] = []
    if monitor.enabled and monitor.engine == "own":
        own = monitor.own
        use = LambdaUse(
            name="drift monitor",
            memory_mb=own.memory_mb,
            architecture=own.architecture,
            invocations=HOURS_PER_MONTH / monitor.interval_hours,
            duration_ms=a.monitor_run_s * 1000,
            fixed=True,
        )
        lines += lambda_lines(quote, use)
    elif monitor.enabled:
        lines.append(
            LineItem(
                item="Model Monitor jobs",
                unpriced="processing-instance rates are not in the price data",
            )
        )
    if monitor.retraining.enabled:
        lines.append(
            LineItem(
                item="retraining jobs",
                unpriced="started only by alarms (at most one per cooldown); training-instance "
                "rates are not in the price data",
            )
        )
    return lines
