"""The function as Lambda runs it: its deployment package (``promotion/`` beside the shared
``serving_core/``), in a separate Python process,
configured only by environment variables, talking to AWS through ``AWS_ENDPOINT_URL``
(a moto server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ml_constructs.bundling import bundle
from ml_constructs.model_promotion.construct import HANDLER, PACKAGE, RUNTIME_DIR
from tests.model_promotion import artifacts, moto_sagemaker
from tests.model_promotion.conftest import (
    BUCKET,
    ENDPOINT,
    IMAGE,
    INITIAL_URI,
    PARAMETER,
    REGION,
    ROLE_ARN,
    environment,
)

RUN_HANDLER = (
    f"HANDLER = {HANDLER!r}\n"
    + """
import json, sys
import importlib
module, function = HANDLER.rsplit(".", 1)
handler = getattr(importlib.import_module(module), function)
result = handler(json.load(sys.stdin), None)
cdk = sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "constructs", "jsii"))
print(json.dumps({"result": result, "cdk_modules": cdk}))
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    # The server runs in this process: the UpdateEndpoint patch applies to it.
    with moto_sagemaker.installed():
        moto.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            moto.stop()


def clients(url: str) -> dict[str, Any]:
    session = boto3.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return {n: session.client(n, endpoint_url=url) for n in ("s3", "ssm", "sagemaker", "sns")}


def test_bundle_promotes_through_aws_endpoint_url(server: str, tmp_path: Path) -> None:
    aws = clients(server)
    aws["s3"].create_bucket(Bucket=BUCKET)
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    aws["ssm"].put_parameter(Name=PARAMETER, Value=INITIAL_URI, Type="String")
    aws["sagemaker"].create_model(
        ModelName="Model-ABC123",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": INITIAL_URI},
    )
    aws["sagemaker"].create_endpoint_config(
        EndpointConfigName="EndpointConfig-ABC123",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "Model-ABC123",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    aws["sagemaker"].create_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName="EndpointConfig-ABC123"
    )
    topic = aws["sns"].create_topic(Name="mlserving-dev-alarms")["TopicArn"]
    key = "models/candidate/model.tar.gz"
    put = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=artifacts.build())
    event = {
        "Records": [
            {
                "messageId": "m0",
                "body": json.dumps(
                    {
                        "source": "aws.s3",
                        "detail-type": "Object Created",
                        "detail": {
                            "bucket": {"name": BUCKET},
                            "object": {"key": key, "version-id": put["VersionId"]},
                        },
                    }
                ),
            }
        ]
    }
    package = bundle(RUNTIME_DIR, PACKAGE, core=True)  # what the construct's asset zips
    assert sorted(p.name for p in package.iterdir()) == [PACKAGE, "serving_core"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        **environment(topic),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_HANDLER],
        cwd=package,
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"result": {"batchItemFailures": []}, "cdk_modules": []}
    serving = aws["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    assert serving.startswith("mlserving-dev-p-")
    recorded = aws["ssm"].get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    assert recorded.startswith(f"s3://{BUCKET}/models/releases/")
