"""SageMaker's asynchronous inference, for the rehearsal only: moto 5.2.5's InvokeEndpointAsync
runs nothing (it answers canned locations and never writes a result).

:class:`AsyncInvocations` stands in for the queue behind an endpoint config with
``AsyncInferenceConfig`` as the SageMaker runtime stand-in (``rehearsal.serving``) receives
``POST /endpoints/{name}/async-invocations``: it answers 202 with ``InferenceId`` and the
``X-Amzn-SageMaker-OutputLocation``/``FailureLocation`` headers at once, then, in the
background, reads the input object (``X-Amzn-SageMaker-InputLocation``) from S3, calls the
local model server with it, writes the answer to ``{S3OutputPath}/<uuid>.out`` (or the
error to ``{S3FailurePath}/<uuid>-error.out``) with SSE-KMS under the config's ``KmsKeyId``,
and publishes SageMaker's success or error notification to the config's topics.

What it does not emulate: the queue's limits (``MaxConcurrentInvocationsPerInstance``, request
TTL, invocation timeout), instances (there is no fleet to scale: ``ApproximateBacklogSize*`` and
``HasBacklogWithoutCapacity`` are not published, so nothing wakes from zero), and the
execution role (objects are read and written with the rehearsal operator's credentials).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class AsyncInvocations:
    """Accepts async invocations and completes them in background threads."""

    def __init__(self, model_server_url: str) -> None:
        self._target = model_server_url
        self._pending = 0
        self._idle = threading.Condition()
        self.completed: list[str] = []  # output or failure locations written
        self.notified: list[tuple[str, str]] = []  # (topic ARN, invocationStatus)
        self.errors: list[str] = []

    def handle(
        self,
        request: BaseHTTPRequestHandler,
        config: dict[str, Any] | None,
        s3: Any,
        sns: Any,
        metrics: Callable[[str, int, float], None],
    ) -> None:
        """Answer ``request`` as InvokeEndpointAsync does and enqueue its processing."""
        endpoint = request.path.split("/")[2]
        if not config or s3 is None:
            _answer(
                request,
                400,
                {"message": f"Endpoint {endpoint} is not configured for asynchronous inference"},
                {"x-amzn-ErrorType": "ValidationError"},
            )
            return
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        output = config.get("OutputConfig", {})
        name = uuid.uuid4()
        output_location = f"{output['S3OutputPath'].rstrip('/')}/{name}.out"
        failure_path = output.get("S3FailurePath", "")
        failure_location = f"{failure_path.rstrip('/')}/{name}-error.out" if failure_path else ""
        inference_id = request.headers.get("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
        headers = {"X-Amzn-SageMaker-OutputLocation": output_location}
        if failure_location:
            headers["X-Amzn-SageMaker-FailureLocation"] = failure_location
        _answer(request, 202, {"InferenceId": inference_id}, headers)
        job = {
            "endpoint": endpoint,
            "input_location": request.headers.get("X-Amzn-SageMaker-InputLocation", ""),
            "content_type": request.headers.get("X-Amzn-SageMaker-Content-Type")
            or "application/octet-stream",
            "accept": request.headers.get("X-Amzn-SageMaker-Accept") or "",
            "inference_id": inference_id,
            "output_location": output_location,
            "failure_location": failure_location,
            "received": datetime.datetime.now(datetime.UTC),
        }
        with self._idle:
            self._pending += 1
        threading.Thread(
            target=self._process, args=(job, output, s3, sns, metrics), daemon=True
        ).start()

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def _process(
        self,
        job: dict[str, Any],
        output: dict[str, Any],
        s3: Any,
        sns: Any,
        metrics: Callable[[str, int, float], None],
    ) -> None:
        try:
            bucket, key = _split(job["input_location"])
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            headers = {"Content-Type": job["content_type"]}
            if job["accept"]:
                headers["Accept"] = job["accept"]
            forwarded = urllib.request.Request(  # noqa: S310 - the local model server
                f"{self._target}/endpoints/{job['endpoint']}/invocations",
                data=body,
                headers=headers,
                method="POST",
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(forwarded, timeout=60) as response:  # noqa: S310
                    status, answer = response.status, response.read()
                    answer_type = response.headers.get("Content-Type", "application/json")
            except urllib.error.HTTPError as error:
                status, answer, answer_type = error.code, error.read(), "text/plain"
            metrics(job["endpoint"], status, (time.perf_counter() - started) * 1_000_000)
            encryption: dict[str, str] = {}
            if output.get("KmsKeyId"):
                encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": output["KmsKeyId"]}
            succeeded = status == 200
            location = job["output_location"] if succeeded else job["failure_location"]
            if location:
                bucket, key = _split(location)
                s3.put_object(
                    Bucket=bucket, Key=key, Body=answer, ContentType=answer_type, **encryption
                )
                self.completed.append(location)
            self._notify(job, output, sns, succeeded, answer, answer_type)
        except Exception as error:  # recorded and shown; the rehearsal's check fails on it
            self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _notify(
        self,
        job: dict[str, Any],
        output: dict[str, Any],
        sns: Any,
        succeeded: bool,
        answer: bytes,
        answer_type: str,
    ) -> None:
        """SageMaker's notification ("Check prediction results"): one JSON message."""
        topics = output.get("NotificationConfig", {})
        topic = topics.get("SuccessTopic" if succeeded else "ErrorTopic")
        if not topic or sns is None:
            return
        now = datetime.datetime.now(datetime.UTC)
        message: dict[str, Any] = {
            "awsRegion": topic.split(":")[3],
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "receivedTime": job["received"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "invocationStatus": "Completed" if succeeded else "Failed",
            "requestParameters": {
                "contentType": job["content_type"],
                "endpointName": job["endpoint"],
                "inputLocation": job["input_location"],
            },
            "responseParameters": {"contentType": answer_type},
            "inferenceId": job["inference_id"],
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        if succeeded:
            message["responseParameters"]["outputLocation"] = job["output_location"]
        else:
            message["failureReason"] = answer.decode("utf-8", errors="replace")[:1000]
            message["responseParameters"]["failureLocation"] = job["failure_location"]
        sns.publish(TopicArn=topic, Message=json.dumps(message))
        self.notified.append((topic, message["invocationStatus"]))


def _answer(
    request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
