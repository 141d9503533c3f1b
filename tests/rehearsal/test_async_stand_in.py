"""The rehearsal's asynchronous-inference stand-in (a moto gap): InvokeEndpointAsync through the
SageMaker runtime front answers 202 at once, then the input object is scored by the model
server, the result (or the error) is written with SSE-KMS and the notification published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from rehearsal.serving import DataCapturingRuntime, ServedArtifact
from tests.local_servers import model_server as local_model_server
from tests.local_servers import moto_client

REGION = "us-east-1"
BUCKET = "async-bucket"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def model_server() -> Iterator[str]:
    """Answers one prediction per row; a row of zeros is a model error (HTTP 400)."""

    def answer(rows: list[Any]) -> tuple[int, bytes]:
        if any(not any(r) for r in rows):
            return 400, b'{"error": "row 0 is all zeros"}'
        predictions = [{"probability": 0.5, "label": 1} for _ in rows]
        return 200, json.dumps({"predictions": predictions}).encode()

    with local_model_server(answer) as url:
        yield url


def _client(name: str, url: str) -> Any:
    return moto_client(name, url, REGION)


def test_async_invocations_are_scored_written_and_notified(
    moto_url: str, model_server: str
) -> None:
    s3, sns, kms = (_client(n, moto_url) for n in ("s3", "sns", "kms"))
    s3.create_bucket(Bucket=BUCKET)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    success = sns.create_topic(Name="async-success")["TopicArn"]
    error = sns.create_topic(Name="async-error")["TopicArn"]
    config = {
        "OutputConfig": {
            "S3OutputPath": f"s3://{BUCKET}/async/output/",
            "S3FailurePath": f"s3://{BUCKET}/async/failures/",
            "KmsKeyId": key,
            "NotificationConfig": {"SuccessTopic": success, "ErrorTopic": error},
        }
    }
    served = ServedArtifact("cfg", "model", "s3://b/m.tar.gz", "AllTraffic", "", json.dumps(config))
    runtime = DataCapturingRuntime(model_server).start()
    try:
        runtime.follow(SimpleNamespace(served=served), s3, _client("cloudwatch", moto_url), sns)
        client = _client("sagemaker-runtime", runtime.url)
        outcomes = {}
        for name, rows in (("good", [[1.0, 2.0], [3.0, 4.0]]), ("bad", [[0.0, 0.0]])):
            s3.put_object(
                Bucket=BUCKET, Key=f"async/input/{name}.json", Body=json.dumps({"instances": rows})
            )
            outcomes[name] = client.invoke_endpoint_async(
                EndpointName="e",
                ContentType="application/json",
                InputLocation=f"s3://{BUCKET}/async/input/{name}.json",
                InferenceId=name,
            )
        runtime.asynchronous.wait_idle()
    finally:
        runtime.stop()
    assert runtime.asynchronous.errors == []
    good, bad = outcomes["good"], outcomes["bad"]
    assert good["InferenceId"] == "good"
    assert good["OutputLocation"].startswith(f"s3://{BUCKET}/async/output/")
    assert bad["FailureLocation"].startswith(f"s3://{BUCKET}/async/failures/")
    written = s3.get_object(Bucket=BUCKET, Key=good["OutputLocation"].split(f"{BUCKET}/")[1])
    assert len(json.loads(written["Body"].read())["predictions"]) == 2
    assert written["ServerSideEncryption"] == "aws:kms" and written["SSEKMSKeyId"] == key
    failure = s3.get_object(Bucket=BUCKET, Key=bad["FailureLocation"].split(f"{BUCKET}/")[1])
    assert b"all zeros" in failure["Body"].read()
    # The good one has no failure object, the bad one no output object.
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert bad["OutputLocation"].split(f"{BUCKET}/")[1] not in listed
    assert good["FailureLocation"].split(f"{BUCKET}/")[1] not in listed
    assert sorted(runtime.asynchronous.notified) == [(error, "Failed"), (success, "Completed")]


def test_an_endpoint_without_async_config_refuses_async_invocations(
    moto_url: str, model_server: str
) -> None:
    from botocore.exceptions import ClientError

    served = ServedArtifact("cfg", "model", "s3://b/m.tar.gz")
    runtime = DataCapturingRuntime(model_server).start()
    try:
        s3 = _client("s3", moto_url)
        runtime.follow(SimpleNamespace(served=served), s3, _client("cloudwatch", moto_url))
        with pytest.raises(ClientError, match="not configured for asynchronous inference"):
            _client("sagemaker-runtime", runtime.url).invoke_endpoint_async(
                EndpointName="e", InputLocation=f"s3://{BUCKET}/x.json"
            )
    finally:
        runtime.stop()
