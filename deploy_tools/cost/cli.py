"""``python -m deploy_tools.cost``: price every environment (or ``--env``) per million
predictions at a stated traffic, from its configuration and the price data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from deploy_tools.cost.environment import price_environment
from deploy_tools.cost.lines import Assumptions
from deploy_tools.cost.table import report
from serving_config import ConfigError, available_environments, load_settings

_DEFAULTS = Assumptions()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy_tools.cost", description=__doc__.splitlines()[0].strip("`: ")
    )
    parser.add_argument("--env", action="append", help="environment (repeatable); default: all")
    parser.add_argument("--format", choices=("markdown", "text"), default="markdown")
    parser.add_argument("--verbose", "-v", action="store_true", help="itemized lines")
    options = {
        "requests_per_month": ("--requests-per-month", float, "predictions a month"),
        "model_latency_ms": ("--model-latency-ms", float, "mean model latency"),
        "function_overhead_ms": (
            "--function-overhead-ms",
            float,
            "inference function's time per call beyond the model",
        ),
        "request_bytes": ("--request-bytes", int, "payload bytes per prediction"),
        "response_bytes": ("--response-bytes", int, "response bytes per prediction"),
        "log_bytes_per_prediction": ("--log-bytes", int, "CloudWatch Logs bytes per prediction"),
        "async_polls": ("--async-polls", int, "result polls per asynchronous prediction"),
        "monitor_run_s": ("--monitor-run-s", float, "seconds per drift-monitor run"),
        "kms_requests_per_prediction": (
            "--kms-requests-per-prediction",
            float,
            "KMS requests per prediction",
        ),
    }
    for field, (flag, kind, what) in options.items():
        default = getattr(_DEFAULTS, field)
        parser.add_argument(
            flag, dest=field, type=kind, default=default, help=f"{what} (default {default:,})"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    values = {k: v for k, v in vars(args).items() if k in Assumptions.__dataclass_fields__}
    try:
        assumptions = Assumptions(**values)
        costs = [
            price_environment(load_settings(env), assumptions)
            for env in args.env or available_environments()
        ]
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report(costs, args.format, args.verbose))
    return 0
