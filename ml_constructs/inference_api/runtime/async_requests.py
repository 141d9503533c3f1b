"""POST /predict-async and GET /predict-async/{id}: the S3 side of asynchronous inference.

Imported by the handler only in async mode (``INVOCATION_MODE=async``), so a real-time
function's cold start never loads it. A request is stored as ``async/input/<id>.json``
(SSE-KMS with the project key) and handed to ``InvokeEndpointAsync`` with that
``InputLocation`` and ``InferenceId=<id>``. SageMaker names its result objects itself (the
response's ``OutputLocation`` and ``FailureLocation``), so the function records them in
``async/requests/<id>.json``; GET reads that record and then the result or the failure.

Existence is checked with ``ListObjectsV2`` on the exact key: without ``s3:ListBucket`` S3
answers a missing object with 403, not 404, and the function's ListBucket is limited to the
async prefixes by an ``s3:prefix`` condition.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .api_config import (
    ASYNC_FAILURES_PREFIX,
    ASYNC_INPUT_PREFIX,
    ASYNC_OUTPUT_PREFIX,
    ASYNC_REQUESTS_PREFIX,
    ApiConfig,
)

#: The ids this API hands out: a random UUID4 as 32 lowercase hex digits. Nothing else is
#: ever turned into a key (no path traversal, no other prefixes).
REQUEST_ID = re.compile(r"\A[0-9a-f]{32}\Z")
_MAX_FAILURE_TEXT = 1000


class UnknownRequestError(Exception):
    """The id is malformed, or no request of this API has it."""


class ResultError(Exception):
    """The record or the result object is not what this API or the model writes."""


@dataclass(frozen=True)
class Submitted:
    """An accepted request: its id and where SageMaker will write the outcome."""

    request_id: str
    output_location: str
    failure_location: str


@dataclass(frozen=True)
class Outcome:
    """``pending``, ``completed`` (``document`` is the model's answer) or ``failed``
    (``failure`` is SageMaker's or the model's message)."""

    status: str
    rows: int
    document: Any = None
    failure: str = ""


def new_request_id() -> str:
    return uuid.uuid4().hex


def _encryption(config: ApiConfig) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config.async_kms_key_arn}


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def submit(
    config: ApiConfig, s3: Any, runtime: Any, payload: bytes, rows: int, request_id: str
) -> Submitted:
    """Store the body, enqueue it with SageMaker, record where its outcome will be."""
    bucket = config.async_bucket
    input_key = f"{ASYNC_INPUT_PREFIX}{request_id}.json"
    s3.put_object(
        Bucket=bucket,
        Key=input_key,
        Body=payload,
        ContentType="application/json",
        **_encryption(config),
    )
    response = runtime.invoke_endpoint_async(
        EndpointName=config.endpoint_name,
        ContentType="application/json",
        Accept="application/json",
        InputLocation=f"s3://{bucket}/{input_key}",
        InferenceId=request_id,
    )
    submitted = Submitted(
        request_id=request_id,
        output_location=str(response.get("OutputLocation", "")),
        failure_location=str(response.get("FailureLocation", "")),
    )
    record = {
        "id": request_id,
        "rows": rows,
        "output_location": submitted.output_location,
        "failure_location": submitted.failure_location,
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"{ASYNC_REQUESTS_PREFIX}{request_id}.json",
        Body=json.dumps(record).encode(),
        ContentType="application/json",
        **_encryption(config),
    )
    return submitted


def _exists(s3: Any, bucket: str, key: str) -> bool:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item.get("Key") == key for item in listed.get("Contents", []))


def _read(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def _location(config: ApiConfig, uri: str, prefix: str) -> str | None:
    """The key of ``uri`` when it is in this API's bucket under ``prefix``, else None."""
    if not uri:
        return None
    bucket, key = _split(uri)
    if bucket != config.async_bucket or not key.startswith(prefix) or ".." in key:
        raise ResultError(f"the record names {uri}, outside s3://{config.async_bucket}/{prefix}")
    return key


def outcome(config: ApiConfig, s3: Any, request_id: str) -> Outcome:
    """What became of request ``request_id``; UnknownRequestError for ids never handed out."""
    if REQUEST_ID.match(request_id) is None:
        raise UnknownRequestError(request_id)
    bucket = config.async_bucket
    record_key = f"{ASYNC_REQUESTS_PREFIX}{request_id}.json"
    if not _exists(s3, bucket, record_key):
        raise UnknownRequestError(request_id)
    try:
        record = json.loads(_read(s3, bucket, record_key))
        rows = int(record["rows"])
        output_uri, failure_uri = str(record["output_location"]), str(record["failure_location"])
    except (ValueError, KeyError, TypeError) as error:
        raise ResultError(f"the request record is unreadable: {error}") from None
    output_key = _location(config, output_uri, ASYNC_OUTPUT_PREFIX)
    failure_key = _location(config, failure_uri, ASYNC_FAILURES_PREFIX)
    if output_key is not None and _exists(s3, bucket, output_key):
        try:
            document = json.loads(_read(s3, bucket, output_key))
        except ValueError:
            raise ResultError("the model's result is not JSON") from None
        return Outcome("completed", rows, document=document)
    if failure_key is not None and _exists(s3, bucket, failure_key):
        text = _read(s3, bucket, failure_key).decode("utf-8", errors="replace")
        return Outcome("failed", rows, failure=text[:_MAX_FAILURE_TEXT])
    return Outcome("pending", rows)
