"""A local stand-in for a SageMaker endpoint (no docker), for each framework's artifact.

It answers requests through the very ``code/inference.py`` shipped in the artifact, the way
the framework's serving image does; a small loader per framework (:data:`LOADERS`) loads it:

- ``tensorflow`` (TensorFlow Serving image): the SavedModel's ``serving_default`` signature is
  loaded once; ``input_handler`` builds the TensorFlow Serving REST request, the signature is
  called directly (never ``model.predict``), the result is wrapped as TensorFlow Serving's REST
  response and handed to ``output_handler``;
- ``pytorch``, ``xgboost``, ``sklearn`` (the script-mode inference images): ``model_fn(model_dir)``
  once, then per request ``input_fn(body, content_type)``, ``predict_fn(data, model)`` and
  ``output_fn(prediction, accept)``.

The framework is the one ``metrics.json`` declares (``framework.name``), else the one whose
model member is present (a SavedModel: TensorFlow).

Routes:

- ``GET /ping``, ``POST /invocations``: the SageMaker inference container contract. A handler
  error answers with its ``status_code`` (400/406/413/415) and ``{"error": "<message>"}``.
- ``POST /endpoints/{EndpointName}/invocations``: the SageMaker *runtime* API, so boto3's
  ``sagemaker-runtime`` client can be pointed here (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` or
  ``endpoint_url=server.url``). Success: 200, the body, ``Content-Type`` and
  ``x-Amzn-Invoked-Production-Variant``. A handler error answers like SageMaker: HTTP 424,
  ``x-amzn-ErrorType: ModelError`` and ``{"ErrorCode": "CLIENT_ERROR_FROM_MODEL",
  "OriginalStatusCode": 400, "OriginalMessage": "<message>", "Message": ...}``, which botocore
  raises as ``ModelError``. An endpoint name with no model (and no default model) answers 400
  ``ValidationError`` "Endpoint X of account 123456789012 not found.".

``container_errors=True`` (``--container-errors``) instead answers every handler error the way
the real TensorFlow Serving container does: HTTP 500 with ``{"error": "<message>"}``, so the
runtime route reports ``OriginalStatusCode`` 500 and that JSON as ``OriginalMessage``.

Models can be swapped while serving: ``server.load_model(path)`` replaces the default model,
``server.load_model(path, endpoint_name="x")`` serves ``x`` from its own model.

``python -m model_code.local_server --model-dir build/model --port 8080``
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import itertools
import json
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple
from urllib.parse import unquote

import numpy as np

DEFAULT_VARIANT = "AllTraffic"
DEFAULT_ACCOUNT = "123456789012"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time InvokeEndpoint payload limit
PACKAGED_INFERENCE = Path(__file__).with_name("inference.py")
_ENDPOINT_ROUTE = re.compile(r"^/endpoints/([^/]+)/invocations$")
_module_counter = itertools.count()


class ModelLoadError(ValueError):
    """The path given is not a SavedModel, a model directory or a model.tar.gz."""


def _error_result(exc: BaseException, container_errors: bool) -> InvocationResult:
    """A handler's exception as the container answers it: its status code (400/406/413/415)
    and message, or with ``container_errors`` HTTP 500 and ``{"error": message}``."""
    message = str(getattr(exc, "message", exc))
    error = json.dumps({"error": message}).encode()
    if container_errors:  # what the real containers do with any exception
        return InvocationResult(500, error, "application/json", error.decode())
    status = getattr(exc, "status_code", 500)
    return InvocationResult(int(status), error, "application/json", message)


class RequestContext(NamedTuple):
    """The fields of the TensorFlow Serving container's ``Context`` passed to the handlers."""

    model_name: str
    model_version: str
    method: str
    rest_uri: str
    grpc_port: str
    channel: Any
    custom_attributes: str | None
    request_content_type: str | None
    accept_header: str | None
    content_length: int


@dataclass(frozen=True)
class TFServingResponse:
    """What ``requests.post(context.rest_uri, ...)`` gives ``output_handler`` in the container."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class InvocationResult:
    status: int
    body: bytes
    content_type: str
    error_message: str | None = None


class _Invocable:
    """Runs one request through a served model's handlers; an exception in them is answered
    like the container answers it (:func:`_error_result`)."""

    container_errors: bool

    def handle(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> tuple[Any, str]:
        """``(body, content_type)`` from the handlers; raises what they raise."""
        raise NotImplementedError

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        custom_attributes: str | None = None,
    ) -> InvocationResult:
        try:
            out, out_type = self.handle(body, content_type, accept, custom_attributes)
        except Exception as exc:
            return _error_result(exc, self.container_errors)
        data = out.encode("utf-8") if isinstance(out, str) else bytes(out)
        return InvocationResult(200, data, str(out_type))


@dataclass
class ServedModel(_Invocable):
    """One loaded model: its signature and its own instance of the inference handlers."""

    root: Path
    saved_model_dir: Path
    handlers: ModuleType
    signature: Any
    input_name: str
    output_name: str
    n_features: int
    variant_name: str = DEFAULT_VARIANT
    loaded: Any = field(default=None, repr=False)
    scratch: Path | None = None
    container_errors: bool = False

    @property
    def config(self) -> Any:
        return self.handlers.get_config()

    def predict_rest(self, request: str | bytes) -> TFServingResponse:
        """Emulate TensorFlow Serving's REST ``:predict`` (row format) on the signature."""
        import tensorflow as tf

        try:
            payload = json.loads(request)
            instances = np.asarray(payload["instances"], dtype=np.float32)
            if instances.ndim != 2 or instances.shape[1] != self.n_features:
                raise ValueError(
                    f"instances must have shape [batch, {self.n_features}], got "
                    f"{list(instances.shape)}"
                )
        except (ValueError, KeyError, TypeError) as exc:
            return TFServingResponse(400, json.dumps({"error": str(exc)}).encode())
        outputs = self.signature(**{self.input_name: tf.constant(instances)})
        predictions = np.asarray(outputs[self.output_name]).tolist()
        return TFServingResponse(200, json.dumps({"predictions": predictions}).encode())

    def handle(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> tuple[Any, str]:
        """Run ``input_handler`` -> signature -> ``output_handler`` like the container does."""
        context = RequestContext(
            model_name="model",
            model_version=self.saved_model_dir.name,
            method="POST",
            rest_uri="local-signature://model:predict",
            grpc_port="",
            channel=None,
            custom_attributes=attributes,
            request_content_type=content_type,
            accept_header=accept,
            content_length=len(body),
        )
        request = self.handlers.input_handler(io.BytesIO(body), context)
        response = self.predict_rest(request)
        out, out_type = self.handlers.output_handler(response, context)
        return out, str(out_type)


@dataclass
class ScriptModeModel(_Invocable):
    """One model served the way SageMaker's PyTorch, XGBoost and scikit-learn images serve it:
    ``model_fn`` once, then ``input_fn`` -> ``predict_fn`` -> ``output_fn`` per request."""

    root: Path
    framework: str
    handlers: ModuleType
    model: Any = field(repr=False)
    n_features: int
    variant_name: str = DEFAULT_VARIANT
    scratch: Path | None = None
    container_errors: bool = False

    def predict(self, rows: Any) -> list[float]:
        """``predict_fn`` on already parsed rows (what the benchmark times in-process)."""
        return list(self.handlers.predict_fn(rows, self.model))

    def handle(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> tuple[Any, str]:
        data = self.handlers.input_fn(body, content_type)
        prediction = self.handlers.predict_fn(data, self.model)
        out = self.handlers.output_fn(prediction, accept)
        if isinstance(out, tuple):  # (body, content type), which the toolkits accept
            return out[0], str(out[1])
        return out, accept or "application/json"


def _load_handlers(root: Path, n_features: int) -> ModuleType:
    script = root / "code" / "inference.py"
    path = script if script.is_file() else PACKAGED_INFERENCE
    module = _import_script(path)
    if not script.is_file():  # a bare SavedModel: generic feature names, threshold 0.5
        module.configure({"feature_names": [f"f{i}" for i in range(n_features)]})
    config = module.get_config()
    if config.n_features != n_features:
        raise ModelLoadError(
            f"{path}: serving config has {config.n_features} features, the SavedModel "
            f"expects {n_features}"
        )
    return module


def _find_saved_model(path: Path) -> tuple[Path, Path]:
    """(artifact root, SavedModel version dir) for a root, a ``<model>/`` dir or a version dir."""
    if (path / "saved_model.pb").is_file():
        return path.parent, path
    versions = [
        p
        for p in path.iterdir()
        if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").is_file()
    ]
    if not versions:
        raise ModelLoadError(f"{path} holds no SavedModel (no saved_model.pb, no <version>/)")
    return path, max(versions, key=lambda p: int(p.name))


def _import_script(path: Path) -> ModuleType:
    """Import an artifact's handler script as its container does, not put in sys.modules."""
    name = f"_local_server_inference_{next(_module_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TensorFlowLoader:
    """The TensorFlow Serving image: a SavedModel and ``input_handler``/``output_handler``."""

    framework = "tensorflow"

    def load(
        self, source: Path, variant_name: str, container_errors: bool, scratch: Path | None
    ) -> ServedModel:
        import tensorflow as tf

        root, saved_model_dir = _find_saved_model(source)
        loaded = tf.saved_model.load(str(saved_model_dir))
        if "serving_default" not in loaded.signatures:
            raise ModelLoadError(f"{saved_model_dir} has no serving_default signature")
        signature = loaded.signatures["serving_default"]
        inputs = signature.structured_input_signature[1]
        outputs = signature.structured_outputs
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelLoadError("serving_default must have exactly one input and one output")
        input_name, spec = next(iter(inputs.items()))
        if spec.shape.rank != 2 or spec.shape[1] is None:
            raise ModelLoadError(f"serving_default input must be [None, n], got {spec.shape}")
        n_features = int(spec.shape[1])
        handlers = _load_handlers(root, n_features)
        served = ServedModel(
            root=root,
            saved_model_dir=saved_model_dir,
            handlers=handlers,
            signature=signature,
            input_name=input_name,
            output_name=next(iter(outputs)),
            n_features=n_features,
            variant_name=variant_name,
            loaded=loaded,
            scratch=scratch,
            container_errors=container_errors,
        )
        # Warm up: trace-free call so the first request is as fast as the others.
        served.predict_rest(json.dumps({"instances": [[0.0] * n_features]}))
        return served


class ScriptModeLoader:
    """A script-mode image (PyTorch, XGBoost, scikit-learn): ``code/inference.py``'s
    ``model_fn`` loads the model member from the artifact root."""

    def __init__(self, framework: str, model_member: str) -> None:
        self.framework = framework
        self.model_member = model_member

    def load(
        self, source: Path, variant_name: str, container_errors: bool, scratch: Path | None
    ) -> ScriptModeModel:
        script = source / "code" / "inference.py"
        if not (source / self.model_member).is_file() or not script.is_file():
            raise ModelLoadError(
                f"{source} is not a {self.framework} artifact ({self.model_member} and "
                "code/inference.py)"
            )
        handlers = _import_script(script)
        model = handlers.model_fn(str(source))
        config = json.loads((source / "code" / "serving_config.json").read_text("utf-8"))
        served = ScriptModeModel(
            root=source,
            framework=self.framework,
            handlers=handlers,
            model=model,
            n_features=int(config["n_features"]),
            variant_name=variant_name,
            scratch=scratch,
            container_errors=container_errors,
        )
        served.predict([[0.0] * served.n_features])  # warm up
        return served


#: One loader per framework (the key is metrics.json's ``framework.name``).
LOADERS: dict[str, TensorFlowLoader | ScriptModeLoader] = {
    "tensorflow": TensorFlowLoader(),
    "pytorch": ScriptModeLoader("pytorch", "model.pt"),
    "xgboost": ScriptModeLoader("xgboost", "model.json"),
    "sklearn": ScriptModeLoader("sklearn", "model.joblib"),
}


def framework_of(source: Path) -> str:
    """The framework of an unpacked artifact (or a bare SavedModel directory)."""
    from model_code.package import detect_framework

    if (source / "saved_model.pb").is_file():
        return "tensorflow"
    metrics = source / "metrics.json"
    names = [p.relative_to(source).as_posix() for p in source.iterdir()]
    return detect_framework(names, metrics.read_bytes() if metrics.is_file() else None)


def load_served_model(
    path: str | Path, variant_name: str = DEFAULT_VARIANT, container_errors: bool = False
) -> ServedModel | ScriptModeModel:
    """Load a model.tar.gz, an unpacked artifact root, or a SavedModel (version) directory.

    ``container_errors=True`` answers handler errors the way SageMaker's containers really do
    (HTTP 500, body ``{"error": "<message>"}``, which SageMaker passes on as
    ``OriginalStatusCode`` 500 and ``OriginalMessage``); by default the handler's own
    status code (400/406/413/415) and plain message are used.
    """
    source = Path(path)
    scratch = None
    if source.is_file():
        from model_code import package

        scratch = Path(tempfile.mkdtemp(prefix="local-model-"))
        source = package.extract(source, scratch)
    elif not source.is_dir():
        raise ModelLoadError(f"{source} does not exist")
    try:
        loader = LOADERS[framework_of(source)]
        return loader.load(source, variant_name, container_errors, scratch)
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise


def model_error_body(status: int, message: str, endpoint: str) -> dict[str, Any]:
    """SageMaker runtime's answer when the model container returned an error."""
    kind = "client" if 400 <= status < 500 else "server"
    log_group = f"/aws/sagemaker/Endpoints/{endpoint}"
    return {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "OriginalStatusCode": status,
        "OriginalMessage": message,
        "LogStreamArn": f"arn:aws:logs:us-east-1:{DEFAULT_ACCOUNT}:log-group:{log_group}",
        "Message": (
            f'Received {kind} error ({status}) from primary with message "{message}". See '
            f"https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            f"#logEventViewer:group={log_group} in account {DEFAULT_ACCOUNT} for more "
            "information."
        ),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    wbufsize = 1 << 16  # headers and body leave in one send (flushed per request)
    server: _HTTPServer
    server_version = "LocalSageMakerTFS/1.0"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, document: Mapping[str, Any], **headers: str) -> None:
        self._send(status, json.dumps(document).encode(), "application/json", **headers)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/ping":
            if self.server.owner.default_model is None:
                self._send_json(503, {"error": "no model loaded"})
            else:
                self._send(200, b"", "text/plain")
            return
        self._send_json(404, {"error": f"no route GET {path}"})

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            self._send_json(411, {"error": "Content-Length required"})
            self.close_connection = True
            return None
        size = int(length)
        if size > MAX_PAYLOAD_BYTES:
            self._send_json(413, {"error": f"payload of {size} bytes exceeds 6 MiB"})
            self.close_connection = True
            return None
        return self.rfile.read(size)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        endpoint_match = _ENDPOINT_ROUTE.match(path)
        if path != "/invocations" and endpoint_match is None:
            self._send_json(404, {"error": f"no route POST {path}"})
            return
        body = self._read_body()
        if body is None:
            return
        owner = self.server.owner
        content_type = self.headers.get("Content-Type")
        accept = self.headers.get("Accept")
        attributes = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if endpoint_match is None:
            model = owner.default_model
            if model is None:
                self._send_json(503, {"error": "no model loaded"})
                return
            result = model.invoke(body, content_type, accept, attributes)
            self._send(result.status, result.body, result.content_type)
            return
        endpoint = unquote(endpoint_match.group(1))
        model = owner.model_for(endpoint)
        if model is None:
            message = f"Endpoint {endpoint} of account {DEFAULT_ACCOUNT} not found."
            self._send_json(400, {"message": message}, x_amzn_ErrorType="ValidationError")
            return
        result = model.invoke(body, content_type, accept, attributes)
        if result.status == 200:
            self._send(
                200,
                result.body,
                result.content_type,
                x_Amzn_Invoked_Production_Variant=model.variant_name,
            )
            return
        document = model_error_body(result.status, result.error_message or "", endpoint)
        self._send_json(424, document, x_amzn_ErrorType="ModelError")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LocalModelServer


class LocalModelServer:
    """A threaded HTTP server on ``host:port`` serving one default model and named endpoints."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        variant_name: str = DEFAULT_VARIANT,
        endpoints: Mapping[str, str | Path] | None = None,
        verbose: bool = False,
        container_errors: bool = False,
    ) -> None:
        self.verbose = verbose
        self.container_errors = container_errors
        self._lock = threading.Lock()
        self.default_model: ServedModel | ScriptModeModel | None = None
        self.endpoints: dict[str, ServedModel | ScriptModeModel] = {}
        if model_dir is not None:
            self.load_model(model_dir, variant_name=variant_name)
        for name, directory in (endpoints or {}).items():
            self.load_model(directory, endpoint_name=name, variant_name=variant_name)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL; also the ``endpoint_url`` for boto3's ``sagemaker-runtime`` client."""
        return f"http://{self.host}:{self.port}"

    def model_for(self, endpoint_name: str) -> ServedModel | ScriptModeModel | None:
        return self.endpoints.get(endpoint_name, self.default_model)

    def load_model(
        self,
        model_dir: str | Path,
        endpoint_name: str | None = None,
        variant_name: str = DEFAULT_VARIANT,
    ) -> ServedModel | ScriptModeModel:
        """Load a model (fully, before swapping it in) as the default or for one endpoint."""
        served = load_served_model(model_dir, variant_name, self.container_errors)
        with self._lock:
            if endpoint_name is None:
                previous, self.default_model = self.default_model, served
            else:
                previous = self.endpoints.get(endpoint_name)
                self.endpoints[endpoint_name] = served
        if previous is not None and previous.scratch is not None:
            shutil.rmtree(previous.scratch, ignore_errors=True)
        return served

    def unload_model(self, endpoint_name: str) -> None:
        with self._lock:
            served = self.endpoints.pop(endpoint_name, None)
        if served is not None and served.scratch is not None:
            shutil.rmtree(served.scratch, ignore_errors=True)

    def start(self) -> LocalModelServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"local-model-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        for served in [self.default_model, *self.endpoints.values()]:
            if served is not None and served.scratch is not None:
                shutil.rmtree(served.scratch, ignore_errors=True)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def start_server(
    model_dir: str | Path | None,
    port: int = 0,
    host: str = "127.0.0.1",
    variant_name: str = DEFAULT_VARIANT,
    endpoints: Mapping[str, str | Path] | None = None,
    verbose: bool = False,
    container_errors: bool = False,
) -> LocalModelServer:
    """Load the model(s) and serve them from a background thread; ``port=0`` picks a free port."""
    server = LocalModelServer(
        model_dir, port, host, variant_name, endpoints, verbose, container_errors
    )
    return server.start()


def runtime_endpoint_client(url: str, region: str = "us-east-1") -> Any:
    """A boto3 ``sagemaker-runtime`` client aimed at ``url`` with dummy credentials."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-runtime",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - a local server checks no signature
        config=Config(retries={"max_attempts": 1}),
    )


def _endpoint_pair(text: str) -> tuple[str, str]:
    name, sep, directory = text.partition("=")
    if not sep or not name or not directory:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=MODEL_DIR")
    return name, directory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_code.local_server",
        description="Serve a model like its SageMaker endpoint would, locally.",
    )
    parser.add_argument(
        "--model-dir",
        default="build/model",
        help="model.tar.gz, unpacked artifact root or SavedModel dir (default: build/model)",
    )
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--variant-name", default=DEFAULT_VARIANT)
    parser.add_argument(
        "--endpoint",
        action="append",
        type=_endpoint_pair,
        default=[],
        metavar="NAME=MODEL_DIR",
        help="serve endpoint NAME from its own model (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--container-errors",
        action="store_true",
        help="answer handler errors with HTTP 500 like the real containers",
    )
    args = parser.parse_args(argv)
    server = LocalModelServer(
        args.model_dir,
        args.port,
        args.host,
        args.variant_name,
        dict(args.endpoint),
        args.verbose,
        args.container_errors,
    )
    print(
        f"serving {args.model_dir} at {server.url} (GET /ping, POST /invocations, "
        f"POST /endpoints/<name>/invocations)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
