"""The rehearsal's SageMaker runtime front writes each answered request's data capture after the
answer, as SageMaker does; a caller that has the answer and asks ``wait_idle`` finds that
capture written (it counts as pending before the answer leaves, not after)."""

from __future__ import annotations

import json
import socketserver
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from rehearsal.serving import DataCapturingRuntime, ServedArtifact
from tests.local_servers import model_server as local_model_server
from tests.local_servers import moto_client

REGION = "us-east-1"
BUCKET = "capture-bucket"


@pytest.fixture
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def model_server() -> Iterator[str]:
    def answer(rows: list[Any]) -> tuple[int, bytes]:
        return 200, json.dumps({"predictions": [{"probability": 0.5} for _ in rows]}).encode()

    with local_model_server(answer) as url:
        yield url


def _client(name: str, url: str) -> Any:
    return moto_client(name, url, REGION)


def test_a_capture_is_pending_from_before_its_answer_leaves(
    moto_url: str, model_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each server write returns late: the caller already has the answer while the runtime's
    # thread is still in it (what a busy machine does to that thread).
    write = socketserver._SocketWriter.write  # type: ignore[attr-defined]

    def slow_write(self: Any, data: Any) -> int:
        sent = int(write(self, data))
        time.sleep(0.3)
        return sent

    monkeypatch.setattr(socketserver._SocketWriter, "write", slow_write)  # type: ignore[attr-defined]
    s3 = _client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/data-capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    served = ServedArtifact("cfg", "model", "s3://b/m.tar.gz", data_capture=json.dumps(capture))
    runtime = DataCapturingRuntime(model_server).start()
    try:
        runtime.follow(SimpleNamespace(served=served), s3, _client("cloudwatch", moto_url))
        answer = _client("sagemaker-runtime", runtime.url).invoke_endpoint(
            EndpointName="e",
            ContentType="application/json",
            Body=json.dumps({"instances": [[1.0, 2.0]]}),
        )
        assert json.loads(answer["Body"].read())["predictions"]
        runtime.wait_idle()
        captured = list(runtime.captured)
    finally:
        runtime.stop()
    assert runtime.errors == []
    assert len(captured) == 1 and captured[0].startswith(f"s3://{BUCKET}/data-capture/e/")
