"""The Lambda-hosted model (onnxruntime) against today's path, side by side in one run:

1. cold start, process start to first answer, in fresh processes (as Lambda's init + first
   invoke): the onnxruntime function's package (import, model load from model.tar.gz, first
   request); today's path (TensorFlow import, the SavedModel through ``model_code.local_server``
   and ``inference.py``, first request through the inference API handler); plain
   ``model.predict`` (TensorFlow import, ``model.keras`` load, first predict);
2. warm single-row latency (p50/p99) in this process: the onnxruntime handler end to end, the
   inference API handler + local server (loopback HTTP, TensorFlow signature), the TensorFlow
   handlers + signature alone, the onnxruntime session alone, ``model.predict``;
3. package size: the function (runtime + serving_core + onnxruntime + numpy + model.tar.gz),
   unzipped and zipped, against TensorFlow's installed footprint (tensorflow-cpu, keras and
   their dependencies, unzipped), from this machine's installed wheels.

Trains the example model once (or reuses ``--work DIR`` from an earlier run).

    .venv/bin/python benchmarks/lambda_model_benchmark.py [--iterations 2000] [--cold-runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("INFERENCE_POWERTOOLS", "off")  # the same stdlib log/EMF lines for both

ENDPOINT = "bench-endpoint"
FEATURES = 30

ONNX_COLD = """
import json, sys, time
started = float(sys.argv[1])
t0 = time.perf_counter()
from lambda_model import handler
imported = time.perf_counter()
result = handler.lambda_handler(json.loads(sys.argv[2]), None)
assert result["statusCode"] == 200, result
answered = time.time() - started
t = time.perf_counter()
handler.get_s3_client()  # what an s3:// MODEL_DATA_URL adds before the GetObject itself
sys.stderr.write(json.dumps({"answered": answered, "import_and_load_ms": (imported - t0) * 1000,
                             "boto3_ms": (time.perf_counter() - t) * 1000}) + "\\n")
"""
TF_COLD = """
import json, sys, time
started = float(sys.argv[1])
from model_code.local_server import runtime_endpoint_client, start_server
server = start_server(sys.argv[3])
from ml_constructs.inference_api.runtime import handler
handler._client = runtime_endpoint_client(server.url)
result = handler.lambda_handler(json.loads(sys.argv[2]), None)
assert result["statusCode"] == 200, result
sys.stderr.write(json.dumps({"answered": time.time() - started}) + "\\n")
server.shutdown()
"""
PREDICT_COLD = """
import json, sys, time
started = float(sys.argv[1])
import keras, numpy as np
model = keras.models.load_model(sys.argv[3])
model.predict(np.asarray(json.loads(sys.argv[2]), dtype=np.float32), verbose=0)
sys.stderr.write(json.dumps({"answered": time.time() - started}) + "\\n")
"""


def timings(fn: Callable[[], Any], iterations: int, warmup: int = 20) -> NDArray[np.float64]:
    for _ in range(warmup):
        fn()
    samples = np.empty(iterations)
    for i in range(iterations):
        started = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - started
    return samples * 1000.0


def percentiles(ms: NDArray[np.float64]) -> tuple[float, float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.mean())


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers' log and EMF lines go nowhere while timed (they are still written)."""
    saved = sys.stdout
    sys.stdout = io.StringIO()
    try:
        yield
    finally:
        sys.stdout = saved


def prepare(work: Path) -> dict[str, Any]:
    """A trained model (model.tar.gz with model.onnx, model.keras) and one held-out row."""
    package, keras_file = work / "model.tar.gz", work / "output" / "model.keras"
    if not (package.exists() and keras_file.exists()):
        from model_code import prepare_data
        from model_code.train import TrainConfig, run

        prepare_data.prepare(work / "data")
        run(
            TrainConfig(
                train=str(work / "data" / "train.csv"),
                test=str(work / "data" / "test.csv"),
                model_dir=str(work / "model"),
                output_data_dir=str(work / "output"),
                package_output=str(package),
                prepare_default_data=False,
                save_plots=False,
                quiet=True,
            )
        )
    metrics = json.loads((work / "model" / "metrics.json").read_text())
    lines = (work / "data" / "test.csv").read_text().splitlines()
    header = lines[0].split(",")
    label = header.index("label")
    row = [float(v) for i, v in enumerate(lines[1].split(",")) if i != label]
    return {"package": package, "keras": keras_file, "row": row, "metrics": metrics}


def request_event(row: list[float]) -> dict[str, Any]:
    return {
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"instances": [row]}),
        "requestContext": {"requestId": "bench"},
    }


def function_env(package: Path) -> dict[str, str]:
    return {
        "ENDPOINT_NAME": ENDPOINT,
        "MODEL_DATA_URL": str(package),
        "FEATURE_COUNT": str(FEATURES),
        "MAX_ROWS": "100",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }


def cold_start(script: str, args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Seconds from process start to first answer (and the child's own figures)."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", script, str(started), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    (line,) = [x for x in done.stderr.splitlines() if x.startswith('{"answered"')]
    return {k: float(v) for k, v in json.loads(line).items()}


def cold_starts(runs: int, setup: dict[str, Any], bundle_dir: Path) -> dict[str, list[float]]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "INFERENCE_POWERTOOLS": "off",
        **function_env(setup["package"]),
    }
    event = json.dumps(request_event(setup["row"]))
    rows = json.dumps([setup["row"]])
    found: dict[str, list[float]] = {
        "onnx": [],
        "onnx_import_load": [],
        "boto3": [],
        "tf": [],
        "predict": [],
    }
    for _ in range(runs):  # interleaved, so machine noise spreads over all three
        onnx = cold_start(
            ONNX_COLD, [event], bundle_dir, {**base, "AWS_LAMBDA_FUNCTION_NAME": "bench"}
        )
        found["onnx"].append(onnx["answered"] * 1000)
        found["onnx_import_load"].append(onnx["import_and_load_ms"])
        found["boto3"].append(onnx["boto3_ms"])
        tf = cold_start(TF_COLD, [event, str(setup["package"])], ROOT, base)
        found["tf"].append(tf["answered"] * 1000)
        predict = cold_start(PREDICT_COLD, [rows, str(setup["keras"])], ROOT, base)
        found["predict"].append(predict["answered"] * 1000)
    return found


def distribution_files(name: str, seen: set[str] | None = None) -> dict[Path, int]:
    """Installed files (path -> bytes) of a distribution and, recursively, its dependencies."""
    from packaging.requirements import Requirement

    seen = set() if seen is None else seen
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return {}
    seen.add(key)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return {}
    files = {}
    for entry in dist.files or []:
        path = Path(str(dist.locate_file(entry)))
        if path.is_file() and "__pycache__" not in path.parts:
            files[path] = path.stat().st_size
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            files |= distribution_files(requirement.name, seen)
    return files


def zipped_size(files: dict[Path, int]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.write(path, path.as_posix().lstrip("/"))
    return len(buffer.getvalue())


def package_sizes(setup: dict[str, Any], bundle_dir: Path) -> dict[str, tuple[int, int]]:
    """(unzipped, zipped) bytes of the function's package and of TensorFlow's footprint."""
    own = {p: p.stat().st_size for p in bundle_dir.rglob("*") if p.is_file()}
    onnx = metadata.distribution("onnxruntime")
    runtime = {
        Path(str(onnx.locate_file(f))): 0
        for f in onnx.files or []
        if not str(f).startswith("onnxruntime-")  # its .dist-info is not shipped
    }
    numpy_dist = metadata.distribution("numpy")
    runtime |= {Path(str(numpy_dist.locate_file(f))): 0 for f in numpy_dist.files or []}
    runtime = {p: p.stat().st_size for p in runtime if p.is_file() and "__pycache__" not in p.parts}
    function = own | runtime | {setup["package"]: setup["package"].stat().st_size}
    tensorflow = distribution_files("tensorflow-cpu") | distribution_files("keras")
    return {  # TensorFlow is not zipped: far over the limit unzipped already
        "function": (sum(function.values()), zipped_size(function)),
        "tensorflow": (sum(tensorflow.values()), 0),
        "onnxruntime+numpy": (sum(runtime.values()), 0),
    }


def warm_latencies(setup: dict[str, Any], iterations: int) -> dict[str, NDArray[np.float64]]:
    import keras
    import tensorflow as tf

    from ml_constructs.inference_api.runtime import handler as front_door
    from ml_constructs.lambda_model.runtime import handler as lambda_model
    from model_code.local_server import ServedModel, runtime_endpoint_client, start_server

    for key, value in function_env(setup["package"]).items():
        os.environ[key] = value
    event = request_event(setup["row"])
    lambda_model.reset()
    front_door.reset()
    server = start_server(setup["package"])
    served = server.default_model
    assert isinstance(served, ServedModel)  # the TensorFlow model
    front_door._client = runtime_endpoint_client(server.url)
    model, _ = lambda_model.get_model(lambda_model.get_config())
    keras_model = keras.models.load_model(setup["keras"])
    row = np.asarray([setup["row"]], dtype=np.float32)
    body = json.dumps({"instances": [setup["row"]]}).encode()
    tensor = tf.constant(row)

    def onnx_handler() -> None:
        assert lambda_model.lambda_handler(event, None)["statusCode"] == 200

    def front_door_handler() -> None:
        assert front_door.lambda_handler(event, None)["statusCode"] == 200

    def tf_handlers() -> None:
        assert served.invoke(body, "application/json", "application/json").status == 200

    def tf_signature() -> None:
        served.signature(**{served.input_name: tensor})

    def onnx_session() -> None:
        model.session.run(["probability"], {"features": row})

    def predict() -> None:
        keras_model.predict(row, verbose=0)

    with quiet_stdout():
        measured = {
            "onnxruntime function: handler end to end": timings(onnx_handler, iterations),
            "inference API handler + local TF server": timings(front_door_handler, iterations),
            "TF inference.py handlers + signature": timings(tf_handlers, iterations),
            "onnxruntime session.run alone": timings(onnx_session, iterations),
            "TF signature alone": timings(tf_signature, iterations),
            "keras model.predict": timings(predict, max(iterations // 10, 50), warmup=5),
        }
    server.shutdown()
    return measured


def mb(size: int) -> str:
    return f"{size / 1e6:8.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", help="reuse (or write) the trained model here")
    parser.add_argument("--iterations", type=int, default=2000, help="warm calls per path")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes per path")
    args = parser.parse_args()

    from ml_constructs.bundling import bundle

    work = Path(args.work or tempfile.mkdtemp(prefix="lambda-model-bench-"))
    setup = prepare(work)
    runtime_dir = ROOT / "ml_constructs" / "lambda_model" / "runtime"
    bundle_dir = bundle(runtime_dir, "lambda_model", core=True)

    cold = cold_starts(args.cold_runs, setup, bundle_dir)
    warm = warm_latencies(setup, args.iterations)
    sizes = package_sizes(setup, bundle_dir)

    import onnxruntime
    import tensorflow as tf

    onnx_check = setup["metrics"].get("onnx", {})
    print(
        f"model: {work / 'model.tar.gz'} ({setup['package'].stat().st_size} bytes); model.onnx "
        f"{onnx_check.get('size_bytes')} bytes, max abs diff vs SavedModel on "
        f"{onnx_check.get('checked_rows')} held-out rows {onnx_check.get('max_abs_diff'):.3g}; "
        f"onnxruntime {onnxruntime.__version__}, TensorFlow {tf.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"\n1. cold start, process start to first answer (ms, {args.cold_runs} fresh processes)")
    print(f"{'path':58s} {'median':>9s} {'min':>9s} {'max':>9s}")
    for name, key in (
        ("onnxruntime function (import + load model.tar.gz + call)", "onnx"),
        ("  of which: import handler + load model (init phase)", "onnx_import_load"),
        ("  + from S3: boto3 import and client (GetObject not incl.)", "boto3"),
        ("today: TF import + SavedModel + inference API handler", "tf"),
        ("plain model.predict (TF import + model.keras + predict)", "predict"),
    ):
        values = cold[key]
        print(f"{name:58s} {statistics.median(values):9.1f} {min(values):9.1f} {max(values):9.1f}")
    print(f"\n2. warm single-row latency (ms, {args.iterations} calls; model.predict fewer)")
    print(f"{'path':58s} {'p50':>9s} {'p99':>9s} {'mean':>9s}")
    for name, samples in warm.items():
        p50, p99, mean = percentiles(samples)
        print(f"{name:58s} {p50:9.3f} {p99:9.3f} {mean:9.3f}")
    print("\n3. package size (installed files of this machine's wheels)")
    print(f"{'what':58s} {'unzipped':>11s} {'zipped':>11s}")
    function, tensorflow = sizes["function"], sizes["tensorflow"]
    print(
        f"{'onnxruntime function: code + onnxruntime + numpy + model':58s} "
        f"{mb(function[0])} {mb(function[1])}"
    )
    print(f"{'  of which onnxruntime + numpy':58s} {mb(sizes['onnxruntime+numpy'][0])}")
    print(f"{'TensorFlow path: tensorflow-cpu + keras + dependencies':58s} {mb(tensorflow[0])}")
    print(
        "Lambda: 250 MB unzipped for a zip package (layers included), 10 GB for a container "
        f"image; the function {'fits' if function[0] < 250e6 else 'does NOT fit'} a zip, "
        f"TensorFlow {'fits' if tensorflow[0] < 250e6 else 'does not'}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
