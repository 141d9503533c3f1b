"""Fixtures of the inference API tests: the function's environment, events, fake endpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ml_constructs.inference_api.runtime import handler
from tests.local_servers import POLL_S

FEATURES = 30
MAX_ROWS = 20
ENDPOINT = "mlserving-test-endpoint"


def base_env() -> dict[str, str]:
    return {
        "ENDPOINT_NAME": ENDPOINT,
        "FEATURE_COUNT": str(FEATURES),
        "MAX_ROWS": str(MAX_ROWS),
        "INVOKE_CONNECT_TIMEOUT_S": "1",
        "INVOKE_READ_TIMEOUT_S": "1",
        "INVOKE_MAX_ATTEMPTS": "3",
        "RETRY_AFTER_S": "7",
        "POWERTOOLS_METRICS_NAMESPACE": "Test/InferenceApi",
        "POWERTOOLS_SERVICE_NAME": "test-inference",
    }


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The variables the stack sets, and a fresh config/client cache around each test."""
    env = base_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FEATURE_NAMES", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    handler.reset()
    yield env
    handler.reset()


def row(value: float = 0.5, n: int = FEATURES) -> list[float]:
    return [value + i / 100 for i in range(n)]


def event(
    body: Any = None,
    *,
    instances: Any = None,
    content_type: str | None = "application/json",
    method: str = "POST",
    base64: bool = False,
    request_id: str = "req-1",
) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /predict."""
    if body is None and instances is not None:
        body = json.dumps({"instances": instances})
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return {
        "resource": "/predict",
        "path": "/predict",
        "httpMethod": method,
        "headers": headers,
        "body": body,
        "isBase64Encoded": base64,
        "requestContext": {"requestId": request_id, "stage": "v1"},
    }


class Context:
    aws_request_id = "lambda-req-1"
    function_name = "test-inference"


def call(evt: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Invoke the handler; return (status, parsed body, headers)."""
    result = handler.lambda_handler(evt, Context())
    return result["statusCode"], json.loads(result["body"]), result["headers"]


def predictions_body(n: int) -> bytes:
    return json.dumps(
        {"predictions": [{"probability": 0.25, "label": 0} for _ in range(n)]}
    ).encode()


class RecordingClient:
    """A stand-in sagemaker-runtime client that records calls (fuzzing: must stay empty)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        import io

        self.calls.append(kwargs)
        rows = len(json.loads(kwargs["Body"])["instances"])
        return {"Body": io.BytesIO(predictions_body(rows)), "InvokedProductionVariant": "v"}


# A scripted HTTP stand-in for sagemaker-runtime, so the real botocore client (timeouts,
# standard retries, error parsing) runs unmodified against it.
@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class FakeRuntime:
    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]]


@pytest.fixture
def fake_runtime(
    function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeRuntime]:
    replies: list[Reply] = []
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            seen.append({"path": self.path, "body": self.rfile.read(length)})
            reply = replies.pop(0) if replies else Reply(500, b'{"message":"no reply"}')
            if reply.delay_s:
                stop.wait(reply.delay_s)
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    handler.reset()
    try:
        yield FakeRuntime(url=url, replies=replies, requests=seen)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
