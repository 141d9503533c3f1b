"""The SigV4 command-line client against a local stand-in of the API."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from client import predict_client
from tests.local_servers import POLL_S


@pytest.fixture
def api() -> Iterator[dict[str, Any]]:
    """An HTTP server that records requests and answers from ``state['replies']``."""
    state: dict[str, Any] = {"requests": [], "replies": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["requests"].append({"headers": dict(self.headers), "body": json.loads(body)})
            if state["replies"]:
                status, headers, reply = state["replies"].pop(0)
            else:
                rows = json.loads(body)["instances"]
                status, headers = 200, {}
                reply = {
                    "predictions": [{"probability": 0.75, "label": 1} for _ in rows],
                    "model": {"endpoint": "e", "variant": "AllTraffic"},
                    "request_id": "r",
                }
            data = json.dumps(reply).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    ).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/v1/predict"
    yield state
    server.shutdown()
    server.server_close()


def _csv(tmp_path: Path, rows: int, header: bool = True) -> Path:
    path = tmp_path / "rows.csv"
    lines = ["a,b,c"] if header else []
    lines += [f"{i},{i + 0.5},{-i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return predict_client.main(list(argv), stdout=out), out.getvalue()


def test_rows_are_sent_signed_in_batches_and_printed_in_order(
    api: dict[str, Any], tmp_path: Path
) -> None:
    status, out = _run(
        str(_csv(tmp_path, 5)), "--url", api["url"], "--region", "eu-west-1", "--batch-size", "2"
    )
    assert status == 0
    assert [len(r["body"]["instances"]) for r in api["requests"]] == [2, 2, 1]
    assert api["requests"][0]["body"]["instances"][1] == [1.0, 1.5, -1.0]
    auth = api["requests"][0]["headers"]["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/execute-api/aws4_request" in auth
    assert api["requests"][0]["headers"]["X-Amz-Security-Token"] == "testing"
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["row"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[0] == {"row": 0, "probability": 0.75, "label": 1, "variant": "AllTraffic"}


def test_json_input_and_csv_output(api: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "rows.json"
    source.write_text(json.dumps({"instances": [[1, 2], [3, 4]]}))
    target = tmp_path / "out.csv"
    status, _ = _run(str(source), "--url", api["url"], "--region", "us-east-1", "-o", str(target))
    assert status == 0
    assert target.read_text().splitlines() == [
        "row,probability,label,variant",
        "0,0.75,1,AllTraffic",
        "1,0.75,1,AllTraffic",
    ]


def test_an_api_error_names_the_input_row(
    api: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {
        "error": {"code": "invalid_value", "field": "instances[1][2]", "message": "bad"},
        "request_id": "req-9",
    }
    api["replies"] += [
        (200, {}, {"predictions": [{"probability": 0.1, "label": 0}] * 2, "model": {}}),
        (400, {}, error),
    ]
    status, _ = _run(
        str(_csv(tmp_path, 4)), "--url", api["url"], "--region", "us-east-1", "--batch-size", "2"
    )
    assert status == 1
    message = capsys.readouterr().err
    assert "HTTP 400 invalid_value at row 3[2]: bad" in message and "req-9" in message


def test_throttled_batches_are_retried_after_retry_after(
    api: dict[str, Any], tmp_path: Path
) -> None:
    throttled = {"error": {"code": "throttled", "message": "busy"}, "request_id": "x"}
    api["replies"] += [(503, {"Retry-After": "0"}, throttled)]
    status, out = _run(str(_csv(tmp_path, 1)), "--url", api["url"], "--region", "us-east-1")
    assert status == 0 and len(api["requests"]) == 2 and out


def test_a_5xx_after_retries_fails(
    api: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failure = {"error": {"code": "model_error", "message": "boom"}, "request_id": "x"}
    api["replies"] += [(502, {}, failure)]
    status, _ = _run(str(_csv(tmp_path, 1)), "--url", api["url"], "--region", "us-east-1")
    assert status == 1
    assert "HTTP 502 model_error: boom" in capsys.readouterr().err


def test_forbidden_explains_the_permission(
    api: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = {
        "error": {"code": "ACCESS_DENIED", "message": "User is not authorized"},
        "request_id": "x",
    }
    api["replies"] += [(403, {}, denied)]
    assert _run(str(_csv(tmp_path, 1)), "--url", api["url"], "--region", "us-east-1")[0] == 1
    assert "execute-api:Invoke" in capsys.readouterr().err


def test_missing_url_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INFERENCE_API_URL", raising=False)
    assert _run(str(_csv(tmp_path, 1)))[0] == 2
    assert "missing API URL" in capsys.readouterr().err


def test_missing_credentials_is_a_usage_error(
    api: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert _run(str(_csv(tmp_path, 1)), "--url", api["url"], "--region", "us-east-1")[0] == 2
    assert "no AWS credentials" in capsys.readouterr().err
    assert api["requests"] == []


def test_bad_input_cell_is_reported_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,2,3\n4,x,6\n")
    assert _run(str(path), "--url", "https://h/v1/predict", "--region", "us-east-1")[0] == 2
    assert "line 2, column 2: 'x' is not a number" in capsys.readouterr().err


def test_region_comes_from_the_execute_api_host() -> None:
    url = "https://abc123.execute-api.ap-southeast-2.amazonaws.com/v1/predict"
    assert predict_client.region_from_url(url) == "ap-southeast-2"
    assert predict_client.region_from_url("http://127.0.0.1:8080/v1/predict") is None


@pytest.fixture
def async_api() -> Iterator[dict[str, Any]]:
    """POST /predict-async accepts (202 + id); GET answers 202 once, then the result."""
    state: dict[str, Any] = {"posts": [], "gets": [], "pending": {}, "fail": set()}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, document: Any) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            request_id = f"{len(state['posts']):032x}"
            state["posts"].append({"headers": dict(self.headers), "body": body})
            state["pending"][request_id] = [len(body["instances"]), 1]
            self._reply(202, {"id": request_id, "status": "pending"})

        def do_GET(self) -> None:
            state["gets"].append({"path": self.path, "headers": dict(self.headers)})
            request_id = self.path.rsplit("/", 1)[-1]
            rows, polls_left = state["pending"][request_id]
            if polls_left:
                state["pending"][request_id][1] -= 1
                self._reply(202, {"id": request_id, "status": "pending"})
            elif request_id in state["fail"]:
                message = {"code": "model_error", "message": "bad row"}
                self._reply(200, {"id": request_id, "status": "failed", "error": message})
            else:
                predictions = [{"probability": 0.25, "label": 0} for _ in range(rows)]
                self._reply(
                    200, {"id": request_id, "status": "completed", "predictions": predictions}
                )

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    ).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/v1/predict-async"
    yield state
    server.shutdown()
    server.server_close()


def test_async_url_submits_then_polls_signed_results(
    async_api: dict[str, Any], tmp_path: Path
) -> None:
    status, out = _run(
        str(_csv(tmp_path, 3)),
        "--url",
        async_api["url"],
        "--region",
        "eu-west-1",
        "--batch-size",
        "2",
        "--poll",
        "0.01",
    )
    assert status == 0
    assert [len(p["body"]["instances"]) for p in async_api["posts"]] == [2, 1]
    paths = [g["path"] for g in async_api["gets"]]
    assert paths == [f"/v1/predict-async/{0:032x}"] * 2 + [f"/v1/predict-async/{1:032x}"] * 2
    assert all(
        g["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256") for g in async_api["gets"]
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["row"] for line in lines] == [0, 1, 2]
    assert lines[0]["probability"] == 0.25


def test_an_async_failure_is_reported(async_api: dict[str, Any], tmp_path: Path) -> None:
    async_api["fail"].add(f"{0:032x}")
    status, _ = _run(
        str(_csv(tmp_path, 1)), "--url", async_api["url"], "--region", "eu-west-1", "--poll", "0.01"
    )
    assert status == 1


def test_async_flag_needs_the_async_url(api: dict[str, Any], tmp_path: Path) -> None:
    status, _ = _run(str(_csv(tmp_path, 1)), "--url", api["url"], "--region", "x-y-1", "--async")
    assert status == 2
