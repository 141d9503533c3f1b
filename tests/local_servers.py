"""What the tests' local HTTP stand-ins share."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

#: ``serve_forever``'s poll interval: ``shutdown()`` returns at the next poll, so the default
#: (0.5 s) cost half a second in every test that stops a stand-in.
POLL_S = 0.05

#: A stand-in model's answer to the rows of one request: (HTTP status, JSON body).
Answer = Callable[[list[Any]], tuple[int, bytes]]


@contextmanager
def model_server(answer: Answer) -> Iterator[str]:
    """A local model server: POST ``{"instances": rows}`` -> ``answer(rows)``; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
            status, body = answer(rows)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def moto_client(name: str, url: str, region: str) -> Any:
    """A boto3 client of a local moto server."""
    return boto3.client(
        name,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
