"""Step 5: the SageMaker runtime for the deployed endpoint, following what moto says it serves.

moto's endpoint runs nothing. :class:`EndpointMirror` follows it the way SageMaker would:
endpoint -> endpoint config -> model -> ``ModelDataUrl`` -> the object in moto's S3, and loads
that artifact into the model code's local server (``model_code.local_server``) under the
endpoint's name. When a promotion updates the endpoint, the next poll loads the new artifact
(fully, before swapping it in), so requests never see a half-loaded model.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Answer headers the runtime sets itself rather than copying the model server's.
HOP_HEADERS = ("content-length", "transfer-encoding", "connection", "date")


@dataclass(frozen=True)
class ServedArtifact:
    """What the endpoint serves, as moto describes it."""

    endpoint_config: str
    model_name: str
    model_data_url: str
    variant_name: str = "AllTraffic"
    data_capture: str = ""  # the config's DataCaptureConfig as JSON ("" when none)
    async_inference: str = ""  # the config's AsyncInferenceConfig as JSON ("" when none)


class EndpointMirror:
    """Keeps ``server`` serving the artifact that moto's endpoint names (polls in a thread)."""

    def __init__(
        self,
        clients: Any,
        server: Any,
        endpoint_name: str,
        workdir: Path,
        poll_interval_s: float = 0.2,
    ) -> None:
        self._clients = clients
        self._server = server
        self.endpoint_name = endpoint_name
        self._workdir = workdir
        self._interval = poll_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.served: ServedArtifact | None = None
        self.history: list[tuple[float, ServedArtifact]] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()

    def describe(self) -> ServedArtifact:
        """endpoint -> config -> (first variant's) model -> ModelDataUrl, through the API."""
        sagemaker = self._clients.sagemaker
        endpoint = sagemaker.describe_endpoint(EndpointName=self.endpoint_name)
        config_name = endpoint["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model_name = config["ProductionVariants"][0]["ModelName"]
        model = sagemaker.describe_model(ModelName=model_name)
        capture = config.get("DataCaptureConfig")
        asynchronous = config.get("AsyncInferenceConfig")
        return ServedArtifact(
            config_name,
            model_name,
            model["PrimaryContainer"]["ModelDataUrl"],
            config["ProductionVariants"][0]["VariantName"],
            json.dumps(capture, sort_keys=True) if capture else "",
            json.dumps(asynchronous, sort_keys=True) if asynchronous else "",
        )

    def current(self) -> str:
        """The endpoint config the endpoint serves now (what a promotion moves)."""
        described = self._clients.sagemaker.describe_endpoint(EndpointName=self.endpoint_name)
        return str(described["EndpointConfigName"])

    def sync(self) -> bool:
        """Load the endpoint's current artifact if it changed; True when it did."""
        current = self.describe()
        if current == self.served:
            return False
        bucket, _, key = current.model_data_url.removeprefix("s3://").partition("/")
        target = self._workdir / "served" / f"{len(self.history)}-{current.model_name}.tar.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        self._clients.s3.download_file(bucket, key, str(target))
        self._server.load_model(target, endpoint_name=self.endpoint_name)
        with self._changed:
            self.served = current
            self.history.append((time.monotonic(), current))
            self._changed.notify_all()
        return True

    def wait_for(self, endpoint_config: str, timeout_s: float) -> bool:
        """Block until the server serves ``endpoint_config`` (or time out)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.served is None or self.served.endpoint_config != endpoint_config:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def start(self) -> EndpointMirror:
        self._thread = threading.Thread(target=self._loop, name="endpoint-mirror", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception as error:  # recorded and shown; the mirror keeps following
                message = f"{type(error).__name__}: {error}"
                if not self.errors or self.errors[-1] != message:
                    self.errors.append(message)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class DataCapturingRuntime:
    """The SageMaker runtime as the deployed function sees it: forwards
    ``POST /endpoints/{name}/invocations`` to the model server and, as SageMaker does for an
    endpoint config with ``DataCaptureConfig``, writes each sampled request and response as a
    JSON line under ``{DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/`` (SSE-KMS with
    the config's key). SageMaker buffers lines into files; here every request is one file.
    ``POST /endpoints/{name}/async-invocations`` goes to the asynchronous-inference stand-in
    (``rehearsal.moto_gaps.async_inference``) when the endpoint config has
    ``AsyncInferenceConfig``."""

    def __init__(self, model_server_url: str) -> None:
        from rehearsal.moto_gaps.async_inference import AsyncInvocations

        self._target = model_server_url
        self._mirror: EndpointMirror | None = None
        self._s3: Any = None
        self._cloudwatch: Any = None
        self._sns: Any = None
        self.asynchronous = AsyncInvocations(model_server_url)
        self.captured: list[str] = []
        self.errors: list[str] = []
        self._pending = 0
        self._idle = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                owner._forward(self)

            def do_POST(self) -> None:
                owner._forward(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def follow(self, mirror: EndpointMirror, s3: Any, cloudwatch: Any, sns: Any = None) -> None:
        """Capture per the config of the endpoint ``mirror`` follows (written with ``s3``),
        record the endpoint's invocation metrics (with ``cloudwatch``) and publish async
        notifications (with ``sns``)."""
        self._mirror, self._s3, self._cloudwatch, self._sns = mirror, s3, cloudwatch, sns

    def start(self) -> DataCapturingRuntime:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        if request.command == "POST" and request.path.endswith("/async-invocations"):
            served = self._mirror.served if self._mirror is not None else None
            config = (
                json.loads(served.async_inference) if served and served.async_inference else None
            )
            self.asynchronous.handle(request, config, self._s3, self._sns, self._async_metrics)
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        forwarded = urllib.request.Request(  # noqa: S310 - the local model server
            self._target + request.path,
            data=body if request.command == "POST" else None,
            headers=headers,
            method=request.command,
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as response:  # noqa: S310
                status, answer, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, answer, answer_headers = error.code, error.read(), error.headers
        latency_us = (time.perf_counter() - started) * 1_000_000
        capturing = request.path.endswith("/invocations")
        if capturing:  # pending before the answer leaves: whoever has it, wait_idle waits for it
            with self._idle:
                self._pending += 1
        try:
            request.send_response(status)
            for name, value in answer_headers.items():
                if name.lower() not in HOP_HEADERS:
                    request.send_header(name, value)
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
            if not capturing:
                return
            try:
                self._metrics(request.path.split("/")[2], status, latency_us)
                if status == 200:
                    self._capture(request, body, answer, answer_headers.get("Content-Type", ""))
            except Exception as error:  # capture and metrics never fail a request
                self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            if capturing:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _async_metrics(self, endpoint: str, status: int, latency_us: float) -> None:
        try:
            self._metrics(endpoint, status, latency_us)
        except Exception as error:  # metrics never fail a request
            self.errors.append(f"{type(error).__name__}: {error}")

    def wait_idle(self, timeout_s: float = 5.0) -> None:
        """Wait until the capture of every answered request is written (it runs after the
        answer, as SageMaker's does)."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def _metrics(self, endpoint: str, status: int, latency_us: float) -> None:
        """AWS/SageMaker invocation metrics, as the endpoint publishes them."""
        served = self._mirror.served if self._mirror is not None else None
        if self._cloudwatch is None or served is None:
            return
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": served.variant_name},
        ]
        data = [
            ("Invocations", 1.0, "None"),
            ("Invocation4XXErrors", float(400 <= status < 500), "None"),
            ("Invocation5XXErrors", float(status >= 500), "None"),
            ("ModelLatency", latency_us, "Microseconds"),
        ]
        self._cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dimensions}
                for n, v, u in data
            ],
        )

    def _capture(
        self, request: BaseHTTPRequestHandler, body: bytes, answer: bytes, answer_type: str
    ) -> None:
        served = self._mirror.served if self._mirror is not None else None
        if served is None or not served.data_capture:
            return
        config = json.loads(served.data_capture)
        if not config.get("EnableCapture", True):
            return
        if random.uniform(0, 100) >= float(config.get("InitialSamplingPercentage", 0)):
            return
        modes = {o["CaptureMode"] for o in config.get("CaptureOptions", [])}
        types = config.get("CaptureContentTypeHeader", {})

        def payload(data: bytes, content_type: str, mode: str) -> dict[str, str]:
            kind = content_type.split(";")[0].strip()
            if kind in types.get("JsonContentTypes", []):
                encoding, text = "JSON", data.decode("utf-8", errors="replace")
            elif kind in types.get("CsvContentTypes", []):
                encoding, text = "CSV", data.decode("utf-8", errors="replace")
            else:
                encoding, text = "BASE64", base64.b64encode(data).decode()
            return {"observedContentType": kind, "mode": mode, "data": text, "encoding": encoding}

        now = datetime.datetime.now(datetime.UTC)
        capture: dict[str, Any] = {}
        if "Input" in modes:
            capture["endpointInput"] = payload(
                body, request.headers.get("Content-Type", ""), "INPUT"
            )
        if "Output" in modes:
            capture["endpointOutput"] = payload(answer, answer_type, "OUTPUT")
        metadata = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        inference_id = request.headers.get("X-Amzn-SageMaker-Inference-Id")
        if inference_id:  # InvokeEndpoint's InferenceId is kept with the captured data
            metadata["inferenceId"] = inference_id
        record = {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"}
        bucket, _, prefix = config["DestinationS3Uri"].removeprefix("s3://").partition("/")
        endpoint = request.path.split("/")[2]
        key = (
            f"{prefix.rstrip('/')}/{endpoint}/{served.variant_name}/"
            f"{now:%Y/%m/%d/%H}/{now:%M-%S-%f}-{uuid.uuid4()}.jsonl"
        ).lstrip("/")
        extra: dict[str, str] = {}
        if config.get("KmsKeyId"):
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config["KmsKeyId"]}
        self._s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record) + "\n", **extra)
        self.captured.append(f"s3://{bucket}/{key}")
