"""Synth time of the full app against a one-bucket CDK app, side by side in one run.

Each synth is a fresh process (what `cdk synth` pays: Python start, jsii starting node,
constructing, validating, writing the assembly). Runs alternate so that machine noise hits
both equally; prints each median and the ratio (goal: <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}


def timed_synth(script: Path, context: dict[str, str]) -> float:
    """Seconds for one synth of ``script`` in a new process, as the CDK CLI runs it."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {
            **os.environ,
            **QUIET,
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps(context),
        }
        started = time.perf_counter()
        subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=True)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="synths of each app (default 5)")
    parser.add_argument("--env", default="dev", help="environment of the full app")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    apps = {
        "one-bucket app": (ROOT / "benchmarks" / "one_bucket_app.py", {}),
        f"full app (-c env={args.env})": (ROOT / "app.py", {"env": args.env}),
    }
    timings: dict[str, list[float]] = {name: [] for name in apps}
    timed_synth(*apps["one-bucket app"])  # warm the file cache; not counted
    for _ in range(args.runs):
        for name, (script, context) in apps.items():
            timings[name].append(timed_synth(script, context))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:28s} median {medians[name]:6.2f} s   runs: {runs}")
    baseline, full = medians.values()
    print(f"ratio full/baseline: {full / baseline:.2f} (goal <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
