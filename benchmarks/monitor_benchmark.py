"""The in-account monitor's analyzer on this machine: how many captured rows a second it parses
and samples, how long Evidently takes on reservoirs of several sizes, and what that means for
an hour of a busy fleet.

    .venv/bin/python benchmarks/monitor_benchmark.py [--rows N] [--sample-sizes 2000,10000,50000]

It generates data-capture lines in SageMaker's format (JSON requests of one row of 30 features,
the bundled data set's width), times parsing them into the reservoir (what the function does
with every line of the window, object by object), then times the Evidently
analysis of reservoirs of several sizes (after one small warm-up: Evidently's imports) against
455 training rows (the bundled model's reference), and prints the figures side by side with
the projection for prod's ceiling: ``scaling.max_capacity`` instances at
``target_invocations_per_instance`` a minute, ``endpoint.data_capture_percent`` captured.
"prod hour s" is one cold run at prod's ceiling (parsing, warm-up, analysis, HTML); "rows/h in
900 s" is how many captured rows an hour would still fit the function's limit. S3 reads are not
timed here (the function streams objects of many lines each; in the VPC through the gateway
endpoint): the MB of capture an hour is printed so that S3's throughput can be set beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml_constructs.drift_monitor.runtime.analysis import analyze  # noqa: E402
from ml_constructs.drift_monitor.runtime.capture import CapturedRequest, parse_record  # noqa: E402
from ml_constructs.drift_monitor.runtime.handler import html_report  # noqa: E402
from ml_constructs.drift_monitor.runtime.sampling import Reservoir  # noqa: E402
from serving_config import load_settings  # noqa: E402

FEATURES = [f"f{i}" for i in range(30)]
LAMBDA_TIMEOUT_S = 900


def capture_lines(count: int, seed: int = 0) -> Iterator[str]:
    """Lines made one at a time, so that memory holds what the function would (a reservoir)."""
    rng = random.Random(seed)
    for i in range(count):
        row = [round(rng.gauss(10, 3), 4) for _ in FEATURES]
        record = {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "application/json",
                    "mode": "INPUT",
                    "data": json.dumps({"instances": [row]}),
                    "encoding": "JSON",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": json.dumps({"predictions": [{"probability": 0.7, "label": 1}]}),
                    "encoding": "JSON",
                },
            },
            "eventMetadata": {
                "eventId": f"e{i}",
                "inferenceId": f"id-{i}",
                "inferenceTime": "2026-12-04T10:30:00Z",
            },
            "eventVersion": "0",
        }
        yield json.dumps(record)


def parse_rate(rows: int, capacity: int) -> tuple[float, Reservoir[list[float | None]]]:
    """Captured rows a second into the reservoir (the lines' making is timed apart and removed)."""
    started = time.perf_counter()
    for _ in capture_lines(rows):
        pass
    making_s = time.perf_counter() - started
    reservoir: Reservoir[list[float | None]] = Reservoir(capacity, seed=1)
    started = time.perf_counter()
    for line in capture_lines(rows):
        parsed = parse_record(line, FEATURES)
        if isinstance(parsed, CapturedRequest):
            reservoir.extend(parsed.rows)
    return rows / (time.perf_counter() - started - making_s), reservoir


def analysis_times(
    reservoir: Reservoir[list[float | None]], sizes: list[int]
) -> list[tuple[int, float, float, float, float]]:
    """Per sample size: Evidently's seconds, the HTML report's seconds and MB, peak memory."""
    import pandas as pd

    rng = random.Random(2)
    reference = pd.DataFrame(
        [[rng.gauss(10, 3) for _ in FEATURES] for _ in range(455)], columns=FEATURES
    )
    started = time.perf_counter()
    analyze(
        pd.DataFrame(reservoir.items[:100], columns=FEATURES, dtype=float),
        reference,
        drift_share=0.5,
    )
    figures = [(0, time.perf_counter() - started, 0.0, 0.0, 0.0)]
    for size in sorted(sizes):
        current = pd.DataFrame(reservoir.items[:size], columns=FEATURES, dtype=float)
        started = time.perf_counter()
        analysis = analyze(current, reference, drift_share=0.5)
        analyze_s = time.perf_counter() - started
        started = time.perf_counter()
        html = html_report(analysis.snapshot)
        html_s = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures.append((size, analyze_s, html_s, len(html) / 1e6, peak_mb))
    return figures


def prod_hour() -> tuple[float, str]:
    """Captured one-row requests in an hour at prod's ceiling, and how that is reached."""
    prod = load_settings("prod")
    assert prod.scaling is not None
    scaling, percent = prod.scaling, prod.endpoint.data_capture_percent
    per_hour = scaling.max_capacity * scaling.target_invocations_per_instance * 60 * percent / 100
    how = f"{scaling.max_capacity} x {scaling.target_invocations_per_instance}/min x {percent}%"
    return per_hour, how


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sample-sizes", default="2000,10000,50000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sample_sizes.split(",")]
    rate, reservoir = parse_rate(args.rows, max(sizes))
    figures = analysis_times(reservoir, sizes)
    per_hour, how = prod_hour()
    configured = load_settings("prod").model_monitor.own.sample_size

    print(f"captured rows parsed and sampled: {rate:,.0f} a second ({args.rows:,} rows)")
    line_bytes = sum(len(line) for line in capture_lines(1000)) / 1000
    print(
        f"prod's ceiling: {per_hour:,.0f} captured rows an hour ({how}), "
        f"{per_hour * line_bytes / 1e6:,.0f} MB of capture at {line_bytes:,.0f} bytes a line"
    )
    header = (
        "sample size",
        "Evidently s",
        "HTML s",
        "HTML MB",
        "peak MB",
        "prod hour s",
        "rows/h in 900 s",
    )
    first_s = figures.pop(0)[1]
    print(f"first analysis of 100 rows (Evidently's imports, once per cold start): {first_s:.1f} s")
    print()
    print(" | ".join(f"{h:>15}" for h in header))
    for size, analyze_s, html_s, html_mb, peak_mb in figures:
        fixed = first_s + analyze_s + html_s
        fits = (LAMBDA_TIMEOUT_S - fixed) * rate
        marker = " <- prod" if size == configured else ""
        cells = (
            f"{size:,}",
            f"{analyze_s:.1f}",
            f"{html_s:.1f}",
            f"{html_mb:.1f}",
            f"{peak_mb:,.0f}",
            f"{per_hour / rate + fixed:,.0f}",
            f"{fits:,.0f}",
        )
        print(" | ".join(f"{c:>15}" for c in cells) + marker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
