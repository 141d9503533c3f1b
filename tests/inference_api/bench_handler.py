"""Benchmark of the inference function, side by side in one run:

- the handler's own overhead per request with the endpoint stubbed (1 row and 100 rows), with a
  plain fake client (handler only) and with botocore's Stubber (handler + botocore's request
  serialization and validation, no network);
- the cold import time of the handler module against a bare ``import boto3`` (fresh processes,
  interleaved, medians), with Powertools and with the stdlib fallback;
- the deployment package size (zip of ``runtime/``, no layers).

Run: ``.venv/bin/python -m tests.inference_api.bench_handler`` (not part of pytest: timings on
a shared machine are reported, not asserted).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "ml_constructs" / "inference_api" / "runtime"
FEATURES = 30
ENV = {
    "ENDPOINT_NAME": "bench-endpoint",
    "FEATURE_COUNT": str(FEATURES),
    "MAX_ROWS": "100",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


def package_size() -> tuple[int, int]:
    """(zip bytes, uncompressed bytes) of the function's code asset."""
    buffer = io.BytesIO()
    raw = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(RUNTIME.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(RUNTIME))
                raw += path.stat().st_size
    return len(buffer.getvalue()), raw


_IMPORT = (
    "import sys, time; sys.path.insert(0, {runtime!r}); t = time.perf_counter(); import {module}; "
    "print((time.perf_counter() - t) * 1000)"
)


def cold_imports(runs: int = 15) -> dict[str, float]:
    """Median ms of importing each module in a fresh interpreter (interleaved runs)."""
    cases = {
        "import boto3": ("boto3", {}),
        "import handler (Powertools)": ("handler", {}),
        "import handler (stdlib fallback)": ("handler", {"INFERENCE_POWERTOOLS": "off"}),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (module, extra) in cases.items():
            env = {**os.environ, **ENV, **extra}
            code = _IMPORT.format(runtime=str(RUNTIME), module=module)
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(values) for name, values in samples.items()}


def client_creation_ms(runs: int = 7) -> float:
    """Median ms of the first boto3.client('sagemaker-runtime') in a fresh process."""
    code = (
        "import boto3, time; t = time.perf_counter(); boto3.client('sagemaker-runtime'); "
        "print((time.perf_counter() - t) * 1000)"
    )
    values = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **ENV},
            capture_output=True,
            text=True,
            check=True,
        )
        values.append(float(out.stdout.strip()))
    return statistics.median(values)


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99) - 1]


def overhead(rows: int, mode: str, iterations: int) -> tuple[float, float]:
    """(p50, p99) ms per handler call with the endpoint stubbed."""
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    from ml_constructs.inference_api.runtime import handler

    handler.reset()
    answer = json.dumps(
        {"predictions": [{"probability": 0.5, "label": 1} for _ in range(rows)]}
    ).encode()
    body = json.dumps({"instances": [[0.1 * j for j in range(FEATURES)]] * rows})
    event = {
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "body": body,
        "requestContext": {"requestId": "bench"},
    }
    stub: Any = None
    if mode == "fake":

        class Fake:
            def invoke_endpoint(self, **_: Any) -> dict[str, Any]:
                return {"Body": io.BytesIO(answer), "InvokedProductionVariant": "AllTraffic"}

        handler._client = Fake()
    else:
        from botocore.response import StreamingBody
        from botocore.stub import Stubber

        stub = Stubber(handler.get_client(handler.get_config()))
        stub.activate()
    times = []
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for i in range(iterations + 100):
            if stub is not None:
                stub.add_response(
                    "invoke_endpoint",
                    {
                        "Body": StreamingBody(io.BytesIO(answer), len(answer)),
                        "InvokedProductionVariant": "AllTraffic",
                    },
                )
            started = time.perf_counter()
            result = handler.lambda_handler(event, None)
            elapsed = (time.perf_counter() - started) * 1000
            assert result["statusCode"] == 200, result
            if i >= 100:  # warm-up excluded
                times.append(elapsed)
    if stub is not None:
        stub.deactivate()
    handler.reset()
    return _percentiles(times)


def main() -> None:
    zipped, raw = package_size()
    print(f"deployment package: {zipped} bytes zipped ({raw} bytes of source), goal < 100 KB")
    print("\nhandler overhead per request, endpoint stubbed (ms):")
    print(f"  {'case':<38}{'p50':>8}{'p99':>8}")
    for rows, iterations in ((1, 3000), (100, 500)):
        for mode, label in (("fake", "fake client"), ("stubber", "botocore Stubber")):
            p50, p99 = overhead(rows, mode, iterations)
            print(f"  {f'{rows} row(s), {label}':<38}{p50:>8.3f}{p99:>8.3f}")
    print("\ncold import, fresh interpreters, median of 15 (ms):")
    imports = cold_imports()
    base = imports["import boto3"]
    for name, value in imports.items():
        print(f"  {name:<38}{value:>8.1f}   ratio {value / base:.2f}")
    print(
        f"  first boto3.client('sagemaker-runtime'), made on the first request: "
        f"{client_creation_ms():.1f} ms"
    )


if __name__ == "__main__":
    main()
