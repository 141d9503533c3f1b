"""scripts/as_role.sh, the pipeline steps' way into a target account: botocore assumes the role
with the build container's own credentials (CodeBuild serves them like ECS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.local_servers import POLL_S

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "as_role.sh"
ROLE = "arn:aws:iam::111111111111:role/mlserving-staging-deployer"
WHO_AM_I = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"


@pytest.fixture(scope="module")
def container() -> Iterator[dict[str, str]]:
    """An environment like CodeBuild's: no key variables, container credentials served on
    loopback, every AWS call sent to a local moto server."""
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()

    class Credentials(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "AccessKeyId": "AKIACODEBUILDROLE",
                    "SecretAccessKey": "secret",
                    "Token": "token",
                    "Expiration": "2099-01-01T00:00:00Z",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Credentials)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    ).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_REGION="eu-west-1",
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{server.server_address[1]}/",
    )
    yield env
    server.shutdown()
    server.server_close()
    moto.stop()


def as_role(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *command], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_command_runs_as_the_assumed_role(container: dict[str, str]) -> None:
    result = as_role(container, ROLE, sys.executable, "-c", WHO_AM_I)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "arn:aws:sts::111111111111:assumed-role/mlserving-staging-deployer/pipeline-step"
    )


def test_refuses_what_is_not_a_role_arn(container: dict[str, str]) -> None:
    result = as_role(container, "arn:aws:iam::111111111111:user/ci", "true")
    assert result.returncode == 2 and "is not an IAM role ARN" in result.stderr


def test_needs_the_target_region(container: dict[str, str]) -> None:
    env = {k: v for k, v in container.items() if k != "AWS_REGION"}
    result = as_role(env, ROLE, "true")
    assert result.returncode != 0 and "AWS_REGION must name the target region" in result.stderr
