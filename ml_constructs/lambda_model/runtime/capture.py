"""Data capture as SageMaker writes it, so the monitors read a Lambda-hosted model's traffic
unchanged (the drift monitor's ``capture.parse_record``, Model Monitor's jobs).

One JSON line per sampled request: ``captureData.endpointInput`` / ``endpointOutput``
(``observedContentType``, ``mode`` INPUT/OUTPUT, ``data``, ``encoding`` JSON) and
``eventMetadata`` (``eventId``, ``inferenceId``, ``inferenceTime``), ``eventVersion`` "0". The
input is the body the model scored (``{"instances": [[...]]}``, rows by name in the model's
order), the output the model's own answer (``{"predictions": [{"probability", "label"}]}``),
as an endpoint's capture holds them. Objects go to
``<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` (SageMaker's layout,
filed by the hour of the records), SSE-KMS with the project key.

Cost: a sampled request is buffered in the container and at most one PutObject is made per
invocation. With ``max_records`` 1 (the default) every sampled request is written before its
answer (one PutObject of latency on sampled requests only, nothing lost); more batches records
(fewer PUTs: S3 bills per request) until the batch is full, ``max_age_s`` old or the hour
turns, but a batch still buffered when Lambda reclaims an idle container is lost (functions
get no shutdown hook without an extension). A failed write drops its records, never the request.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPE = "application/json"


def record(
    request_body: str, response_body: str, inference_id: str, when: dt.datetime
) -> dict[str, Any]:
    """One capture record, as SageMaker writes it for a JSON request and answer."""
    return {
        "captureData": {
            "endpointInput": _payload(request_body, "INPUT"),
            "endpointOutput": _payload(response_body, "OUTPUT"),
        },
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceId": inference_id,
            "inferenceTime": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def _payload(data: str, mode: str) -> dict[str, str]:
    return {"observedContentType": CONTENT_TYPE, "mode": mode, "data": data, "encoding": "JSON"}


def sampled(percent: int) -> bool:
    """SageMaker's sampling: each request is captured with probability ``percent`` %."""
    return percent >= 100 or (percent > 0 and random.uniform(0, 100) < percent)


def object_key(folder: str, when: dt.datetime) -> str:
    """``<folder>yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` in UTC."""
    utc = when.astimezone(dt.UTC)
    millis = utc.microsecond // 1000
    return f"{folder}{utc:%Y/%m/%d/%H}/{utc:%M-%S}-{millis:03d}-{uuid.uuid4()}.jsonl"


@dataclass
class Batch:
    """Records of one hour, written as one object."""

    started: dt.datetime
    lines: list[str] = field(default_factory=list)

    def body(self) -> bytes:
        return "".join(line + "\n" for line in self.lines).encode("utf-8")


@dataclass
class CaptureBuffer:
    """The container's pending records; :meth:`add` and :meth:`due` hand back at most one
    batch to write per invocation."""

    max_records: int = 1
    max_age_s: int = 60
    batch: Batch | None = None

    def add(self, line: str, now: dt.datetime) -> Batch | None:
        """Buffer ``line``; the batch to write now, if any."""
        batch = self.batch
        if batch is not None and _hour(batch.started) != _hour(now):
            self.batch = Batch(now, [line])  # the previous hour's batch goes now, whole
            return batch
        if batch is None:
            batch = self.batch = Batch(now)
        batch.lines.append(line)
        return self.due(now)

    def due(self, now: dt.datetime) -> Batch | None:
        """The buffered batch when it is full or old enough (it leaves the buffer)."""
        batch = self.batch
        if batch is None:
            return None
        age = (now - batch.started).total_seconds()
        if len(batch.lines) >= self.max_records or age >= self.max_age_s:
            self.batch = None
            return batch
        return None


def _hour(when: dt.datetime) -> tuple[int, int, int, int]:
    utc = when.astimezone(dt.UTC)
    return utc.year, utc.month, utc.day, utc.hour


def write(s3: Any, bucket: str, folder: str, kms_key_arn: str, batch: Batch) -> str:
    """PutObject of one batch (SSE-KMS with the project key); its key."""
    key = object_key(folder, batch.started)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=batch.body(),
        ContentType="application/jsonlines",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=kms_key_arn,
    )
    return key


def dumps(document: dict[str, Any]) -> str:
    """One JSON line (compact, as SageMaker's)."""
    return json.dumps(document, separators=(",", ":"))
