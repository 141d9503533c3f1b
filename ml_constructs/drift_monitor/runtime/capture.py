"""SageMaker's data capture and ground-truth records, read defensively.

A capture file holds one JSON record per line: ``captureData.endpointInput`` and
``endpointOutput`` (``observedContentType``, ``mode``, ``data``, ``encoding`` JSON, CSV or
BASE64) and ``eventMetadata`` (``eventId``, ``inferenceId``, ``inferenceTime``). A request
body is ``{"instances": [[...], ...]}``, a bare list of rows, rows as objects keyed by
feature name, or CSV lines (an optional header). The response is ``{"predictions":
[{"probability": p, "label": l}, ...]}`` or CSV lines ``probability,label``.

Nothing here raises on bad input: each problem becomes a :class:`Rejection` with a reason
code, counted by the caller, so a bad line never stops the run nor hides the valid rows.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Reason codes, in the report's order.
REASONS = (
    "malformed-line",
    "unsupported-encoding",
    "bad-base64",
    "unsupported-content-type",
    "malformed-body",
    "wrong-width",
    "non-numeric",
    "no-time",
)


@dataclass(frozen=True)
class Rejection:
    """Why a record (or some of its rows) could not be used; ``rows`` it held, if known."""

    reason: str
    detail: str
    rows: int = 1


@dataclass(frozen=True)
class CapturedRequest:
    """One captured request: its rows (``None`` for a missing value), its probabilities."""

    time: dt.datetime
    inference_id: str | None
    rows: list[list[float | None]]
    probabilities: list[float] | None


def parse_record(line: str, features: Sequence[str]) -> CapturedRequest | Rejection:
    """One line of a capture file, checked against the model's ``features``."""
    try:
        record = json.loads(line)
        capture = record["captureData"]
        metadata = record.get("eventMetadata") or {}
        body = _body(capture["endpointInput"])
    except (ValueError, KeyError, TypeError) as error:
        return Rejection("malformed-line", f"not a data-capture record ({error})")
    if isinstance(body, Rejection):
        return body
    time = _time(metadata.get("inferenceTime"))
    if time is None:
        return Rejection("no-time", "eventMetadata.inferenceTime is missing or not ISO 8601")
    kind = str(capture["endpointInput"].get("observedContentType", "")).split(";")[0].strip()
    rows = _rows(body, kind, features)
    if isinstance(rows, Rejection):
        return rows
    output = capture.get("endpointOutput")
    probabilities = _probabilities(output) if isinstance(output, dict) else None
    inference_id = metadata.get("inferenceId")
    return CapturedRequest(time, str(inference_id) if inference_id else None, rows, probabilities)


def _body(payload: dict[str, Any]) -> str | Rejection:
    encoding = str(payload.get("encoding", "")).upper()
    data = payload.get("data")
    if not isinstance(data, str):
        return Rejection("malformed-line", "the captured data is not a string")
    if encoding in ("JSON", "CSV"):
        return data
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            return Rejection("bad-base64", f"the BASE64 body does not decode to UTF-8 ({error})")
    return Rejection("unsupported-encoding", f"encoding {encoding!r} is not JSON, CSV or BASE64")


def _time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _rows(body: str, kind: str, features: Sequence[str]) -> list[list[float | None]] | Rejection:
    if kind == "application/json" or (not kind and body.lstrip()[:1] in "[{"):
        return _json_rows(body, features)
    if kind == "text/csv":
        return _csv_rows(body, features)
    return Rejection("unsupported-content-type", f"{kind!r} is not application/json or text/csv")


def _json_rows(body: str, features: Sequence[str]) -> list[list[float | None]] | Rejection:
    try:
        payload = json.loads(body)
    except ValueError as error:
        return Rejection("malformed-body", f"the JSON body does not parse ({error})")
    rows = payload.get("instances") if isinstance(payload, dict) else payload
    if not isinstance(rows, list) or not rows:
        return Rejection("malformed-body", 'not {"instances": [...]} or a list of rows')
    parsed = []
    for row in rows:
        if isinstance(row, dict):
            row = [row.get(name) for name in features]
        if not isinstance(row, list):
            return Rejection("malformed-body", "a row is neither a list nor an object", len(rows))
        values = _values(row, features)
        if isinstance(values, Rejection):
            return Rejection(values.reason, values.detail, len(rows))
        parsed.append(values)
    return parsed


def _csv_rows(body: str, features: Sequence[str]) -> list[list[float | None]] | Rejection:
    lines = [row for row in csv.reader(io.StringIO(body)) if row]
    if lines and [c.strip() for c in lines[0]] == list(features):
        lines = lines[1:]
    if not lines:
        return Rejection("malformed-body", "the CSV body has no rows")
    parsed = []
    for row in lines:
        values = _values([c.strip() or None for c in row], features)
        if isinstance(values, Rejection):
            return Rejection(values.reason, values.detail, len(lines))
        parsed.append(values)
    return parsed


def _values(row: list[Any], features: Sequence[str]) -> list[float | None] | Rejection:
    if len(row) != len(features):
        return Rejection(
            "wrong-width", f"a row of {len(row)} values, the model has {len(features)}"
        )
    values: list[float | None] = []
    for name, value in zip(features, row, strict=True):
        if value is None:
            values.append(None)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return Rejection("non-numeric", f"{name}: {str(value)[:40]!r} is not a number")
        if isinstance(value, bool) or not math.isfinite(number):
            return Rejection("non-numeric", f"{name}: {value!r} is not a finite number")
        values.append(number)
    return values


def _probabilities(output: dict[str, Any]) -> list[float] | None:
    body = _body(output)
    if isinstance(body, Rejection):
        return None
    try:
        if str(output.get("observedContentType", "")).startswith("text/csv"):
            return [float(r[0]) for r in csv.reader(io.StringIO(body)) if r]
        predictions = json.loads(body)["predictions"]
        return [float(p["probability"] if isinstance(p, dict) else p[0]) for p in predictions]
    except (ValueError, KeyError, TypeError, IndexError):
        return None


@dataclass(frozen=True)
class Labels:
    """Ground truth by inference id (one label per row of the request, in its order)."""

    by_id: dict[str, list[int]]
    rejected: dict[str, int]


def parse_ground_truth(lines: Sequence[str]) -> Labels:
    """Model Monitor's ground-truth records: ``groundTruthData.data`` ``"0"``/``"1"`` (or
    ``"1,0,1"`` for a request of several rows) and ``eventMetadata.eventId`` (the inference
    id the request was sent with)."""
    by_id: dict[str, list[int]] = {}
    rejected: dict[str, int] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            data = str(record["groundTruthData"]["data"])
            labels = [int(v) for v in data.split(",")]
            event_id = str(record["eventMetadata"]["eventId"])
        except (ValueError, KeyError, TypeError):
            rejected["malformed-label"] = rejected.get("malformed-label", 0) + 1
            continue
        if any(v not in (0, 1) for v in labels):
            rejected["label-not-binary"] = rejected.get("label-not-binary", 0) + 1
            continue
        by_id[event_id] = labels
    return Labels(by_id, rejected)
