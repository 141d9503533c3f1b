"""The S3 prefix-list lookup (a custom resource run by CloudFormation at deploy time): it
answers CloudFormation's pre-signed URL with the region's prefix list id, or with FAILED and
the reason (an unanswered custom resource holds the stack for an hour)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_constructs.private_network.runtime import prefix_list
from tests.local_servers import POLL_S

REGION = "eu-west-1"


@pytest.fixture
def answers() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for CloudFormation's pre-signed response URL, recording each PUT."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()


def event(url: str, request_type: str = "Create", name: str = f"com.amazonaws.{REGION}.s3"):
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/data/1",
        "RequestId": "r-1",
        "LogicalResourceId": "NetworkS3PrefixList",
        "ResourceType": "Custom::S3PrefixList",
        "ResourceProperties": {"ServiceToken": "arn", "PrefixListName": name},
    }


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def test_create_answers_with_the_regions_s3_prefix_list(ec2: Any, answers: Any) -> None:
    url, received = answers
    expected = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    prefix_list.lambda_handler(event(url))
    (answer,) = received
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {"PrefixListId": expected}
    assert answer["PhysicalResourceId"] == expected
    assert answer["LogicalResourceId"] == "NetworkS3PrefixList"


def test_an_unknown_name_fails_the_resource_with_the_reason(ec2: Any, answers: Any) -> None:
    url, received = answers
    prefix_list.lambda_handler(event(url, name="com.amazonaws.nowhere-1.s3"))
    (answer,) = received
    assert answer["Status"] == "FAILED"
    assert "0 managed prefix lists are named com.amazonaws.nowhere-1.s3" in answer["Reason"]


def test_delete_succeeds_without_calling_ec2(answers: Any) -> None:
    url, received = answers
    prefix_list.lambda_handler({**event(url, "Delete"), "PhysicalResourceId": "pl-6da54004"})
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "pl-6da54004"
