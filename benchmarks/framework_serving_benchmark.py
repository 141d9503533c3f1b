"""Single-row serving latency per framework, side by side: in-process and over HTTP.

Trains each framework's example model on the bundled data (default hyperparameters, one run
each: ``model_code.train`` for TensorFlow, ``model_code.train_<framework>`` for the others),
serves the four ``model.tar.gz`` from one ``model_code.local_server`` (one endpoint each, each
through its artifact's own ``code/inference.py``), then measures for each, in one process:

1. the model call alone on one parsed row (TensorFlow: the ``serving_default`` signature; the
   others: ``predict_fn``);
2. in-process, the whole handler path of one request (JSON body in, JSON body out: TensorFlow's
   ``input_handler`` -> signature -> ``output_handler``; the others' ``input_fn`` ->
   ``predict_fn`` -> ``output_fn``), what the server does per request;
3. sequential HTTP ``POST /endpoints/<framework>/invocations`` (the runtime API route) over one
   keep-alive loopback connection.

    .venv/bin/python benchmarks/framework_serving_benchmark.py [--iterations 1000]
        [--frameworks tensorflow,pytorch,xgboost,sklearn] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model_serving_benchmark import summary, timings  # noqa: E402

FRAMEWORKS = ("tensorflow", "pytorch", "xgboost", "sklearn")


def model_call(served: Any, row: list[list[float]]) -> Callable[[], Any]:
    """The model alone on one parsed row, as the serving path calls it."""
    if hasattr(served, "signature"):  # TensorFlow
        import tensorflow as tf

        tensor = tf.constant(row, dtype=tf.float32)
        return lambda: served.signature(**{served.input_name: tensor})
    return lambda: served.predict(row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=1000, help="calls per measurement")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    chosen = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")

    from model_code import prepare_data
    from model_code.local_server import start_server
    from model_code.train import run_framework
    from model_code.training_common import local_flags

    work = Path(tempfile.mkdtemp(prefix="framework-bench-"))
    prepare_data.prepare(work / "data")
    results: dict[str, Any] = {}
    train_seconds: dict[str, float] = {}
    for framework in chosen:
        started = time.perf_counter()
        flags = local_flags(work / "data", work / framework, "--save-plots=false", "--quiet=true")
        results[framework] = run_framework(framework, flags)
        train_seconds[framework] = time.perf_counter() - started

    server = start_server(None, endpoints={f: r.package_path for f, r in results.items()})
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    table: list[dict[str, Any]] = []
    try:
        for framework, result in results.items():
            served = server.endpoints[framework]
            row = result.test_features[:1].tolist()
            body = json.dumps({"instances": row}).encode()

            def handlers(served: Any = served, body: bytes = body) -> None:
                assert served.invoke(body, "application/json", "application/json").status == 200

            connection = http.client.HTTPConnection(server.host, server.port)
            route = f"/endpoints/{framework}/invocations"

            def http_call(
                connection: Any = connection, route: str = route, body: bytes = body
            ) -> None:
                connection.request("POST", route, body, headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200

            measured = {
                "model": summary("model call", timings(model_call(served, row), args.iterations)),
                "in_process": summary("handlers", timings(handlers, args.iterations)),
                "http": summary("HTTP", timings(http_call, args.iterations)),
            }
            connection.close()
            table.append(
                {
                    "framework": framework,
                    "format": result.metrics.get("framework", {}).get("model_format"),
                    "roc_auc": result.metrics["test"]["roc_auc"],
                    "accuracy": result.metrics["test"]["accuracy"],
                    "train_s": train_seconds[framework],
                    "artifact_bytes": Path(result.package_path).stat().st_size,
                    **{
                        f"{k}_{q}": v[f"{q}_ms"]
                        for k, v in measured.items()
                        for q in ("p50", "p99")
                    },
                }
            )
    finally:
        server.shutdown()

    print(
        f"{len(chosen)} frameworks, {args.iterations} single-row calls each; {os.cpu_count()} "
        "CPUs; milliseconds"
    )
    head = (
        f"{'framework':11s} {'format':13s} {'AUC':>6s} {'train s':>7s} {'tar.gz':>7s} "
        f"{'model p50':>9s} {'p99':>6s} {'in-proc p50':>11s} {'p99':>6s} "
        f"{'HTTP p50':>8s} {'p99':>6s}"
    )
    print(head)
    for r in table:
        print(
            f"{r['framework']:11s} {r['format']!s:13s} {r['roc_auc']:6.4f} "
            f"{r['train_s']:7.1f} {r['artifact_bytes']:7d} {r['model_p50']:9.3f} "
            f"{r['model_p99']:6.3f} {r['in_process_p50']:11.3f} {r['in_process_p99']:6.3f} "
            f"{r['http_p50']:8.3f} {r['http_p99']:6.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
