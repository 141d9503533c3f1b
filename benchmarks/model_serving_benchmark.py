"""Single-row serving latency: handler + signature path vs ``model.predict``, and HTTP p99.

Trains the example model in-process (bundled data, default hyperparameters) unless
``--artifacts`` points at an earlier run's directory holding ``model/`` and
``output/model.keras``, then measures, in one process and one run:

1. ``inference.py`` handlers + ``serving_default`` signature (what the local server does per
   request), single row, in-process;
2. the signature call alone;
3. ``model.predict`` on the same single row (what the server must never do per request);
4. sequential HTTP ``POST /invocations`` over one keep-alive loopback connection to
   ``model_code.local_server`` (TCP_NODELAY on both sides);
5. the same through boto3 ``sagemaker-runtime`` ``invoke_endpoint`` (informative).

Goals: (3) / (1) >= 50x at the median, HTTP p99 < 5 ms. ``--check`` exits 1 if one is missed.

    .venv/bin/python benchmarks/model_serving_benchmark.py [--iterations 2000] [--check]
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

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timings(fn: Callable[[], Any], iterations: int, warmup: int = 20) -> NDArray[np.float64]:
    for _ in range(warmup):
        fn()
    samples = np.empty(iterations)
    for i in range(iterations):
        started = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - started
    return samples * 1000.0  # ms


def summary(name: str, ms: NDArray[np.float64]) -> dict[str, Any]:
    return {
        "name": name,
        "n": int(ms.size),
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def _model_and_row(artifacts_dir: str | None) -> tuple[Path, Any, Any, str]:
    """The SavedModel folder, the Keras model, one test row and how they were obtained: the
    given artifacts, or a fresh training run."""
    import keras

    if artifacts_dir:
        artifacts = Path(artifacts_dir)
        model_dir = artifacts / "model"
        keras_model = keras.models.load_model(artifacts / "output" / "model.keras")
        import pandas as pd

        config = json.loads((model_dir / "code" / "serving_config.json").read_text())
        data = pd.read_csv(ROOT / "build" / "data" / "test.csv")
        row = data[config["feature_names"]].to_numpy(np.float32)[:1]
        return model_dir, keras_model, row, f"artifacts from {artifacts}"
    from model_code import prepare_data
    from model_code.train import TrainConfig, run

    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    prepare_data.prepare(work / "data")
    result = run(
        TrainConfig(
            train=str(work / "data" / "train.csv"),
            test=str(work / "data" / "test.csv"),
            model_dir=str(work / "model"),
            output_data_dir=str(work / "output"),
            package_output=str(work / "model.tar.gz"),
            prepare_default_data=False,
            save_plots=False,
            quiet=True,
        )
    )
    m = result.metrics
    note = (
        f"trained in {result.train_seconds:.1f} s fit / {result.total_seconds:.1f} s run "
        f"(after TF import); test ROC AUC {m['test']['roc_auc']:.4f}, accuracy "
        f"{m['test']['accuracy']:.4f} vs baseline {m['baseline']['accuracy']:.4f}; "
        f"model.tar.gz {Path(str(result.package_path)).stat().st_size} bytes"
    )
    return Path(result.model_dir), result.model, result.test_features[:1], note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--artifacts", help="dir with model/ and output/model.keras")
    parser.add_argument("--iterations", type=int, default=2000, help="handler and HTTP calls")
    parser.add_argument("--predict-iterations", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()

    import tensorflow as tf

    from model_code.local_server import ServedModel, runtime_endpoint_client, start_server

    started = time.perf_counter()
    model_dir, keras_model, row, train_note = _model_and_row(args.artifacts)
    setup_seconds = time.perf_counter() - started

    server = start_server(model_dir)
    served = server.default_model
    assert isinstance(served, ServedModel)  # the TensorFlow model
    body = json.dumps({"instances": row.tolist()}).encode()
    tensor = tf.constant(row)

    def handler_path() -> None:
        result = served.invoke(body, "application/json", "application/json")
        assert result.status == 200

    def signature_only() -> None:
        served.signature(**{served.input_name: tensor})

    def predict() -> None:
        keras_model.predict(row, verbose=0)

    connection = http.client.HTTPConnection(server.host, server.port)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def http_call() -> None:
        connection.request("POST", "/invocations", body, headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200

    client = runtime_endpoint_client(server.url)

    def boto3_call() -> None:
        client.invoke_endpoint(EndpointName="bench", Body=body, ContentType="application/json")[
            "Body"
        ].read()

    rows = [
        summary("handlers + signature (in-process)", timings(handler_path, args.iterations)),
        summary("signature call alone", timings(signature_only, args.iterations)),
        summary("keras model.predict", timings(predict, args.predict_iterations, warmup=5)),
        summary("HTTP POST /invocations (keep-alive)", timings(http_call, args.iterations)),
        summary("boto3 invoke_endpoint (runtime route)", timings(boto3_call, args.iterations // 4)),
    ]
    connection.close()
    server.shutdown()

    speedup = rows[2]["p50_ms"] / rows[0]["p50_ms"]
    http_p99 = rows[3]["p99_ms"]
    print(
        f"setup: {train_note}; setup {setup_seconds:.1f} s; TF {tf.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'path':40s} {'n':>6s} {'mean':>8s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s}")
    for r in rows:
        print(
            f"{r['name']:40s} {r['n']:6d} {r['mean_ms']:8.3f} {r['p50_ms']:8.3f} "
            f"{r['p90_ms']:8.3f} {r['p99_ms']:8.3f} {r['max_ms']:8.3f}"
        )
    print("(milliseconds, single row)")
    speed_ok, http_ok = speedup >= 50, http_p99 < 5.0
    print(
        f"speed-up of handlers + signature over model.predict (p50): {speedup:.0f}x "
        f"(goal >= 50x: {'met' if speed_ok else 'MISSED'})"
    )
    print(
        f"HTTP p99 sequential on loopback: {http_p99:.3f} ms "
        f"(goal < 5 ms: {'met' if http_ok else 'MISSED'})"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "speedup_p50": speedup, "http_p99_ms": http_p99}, indent=2)
        )
    return 0 if (speed_ok and http_ok) or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
