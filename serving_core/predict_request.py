"""Checks a POST /predict request before anything reaches the model.

Every rejection is a :class:`RequestError` with the HTTP status (400, 405, 413 or 415), a
stable error code, the field it concerns (``body``, ``instances[3][7]``...) and a message
that says what to change. Only the standard library is used: this runs on every request.

Shared by the functions that answer ``POST /predict`` (the inference API in front of a
SageMaker endpoint, and the Lambda-hosted model), so both accept and refuse the same requests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Protocol

#: Largest magnitude a float32 model input can hold; larger values overflow to inf.
FLOAT32_MAX = 3.4028234663852886e38
_ALLOWED_FIELDS = ("instances",)


class RequestLimits(Protocol):
    """What a request is checked against (each function's config has these attributes)."""

    @property
    def feature_count(self) -> int: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    def max_rows(self) -> int: ...

    @property
    def max_payload_bytes(self) -> int: ...


class RequestError(Exception):
    """A request the function refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ParsedRequest:
    """A valid request: the body to send to the model (``{"instances": [[...]]}``, rows by
    name put in the model's order) and how many rows it holds."""

    payload: bytes
    rows: int
    #: The rows as checked (what ``payload`` holds), for a function that scores them itself.
    instances: list[list[float | int]] = _field(default_factory=list, compare=False, repr=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed: every feature value must be a finite number")


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def _body_text(event: Mapping[str, Any], config: RequestLimits) -> str:
    body = event.get("body")
    if body is None or (isinstance(body, str) and not body.strip()):
        raise RequestError(
            400, "empty_body", "body", 'the request body is empty; send {"instances": [[...]]}'
        )
    if not isinstance(body, str):
        raise RequestError(400, "invalid_body", "body", "the request body must be text")
    if event.get("isBase64Encoded") is True:
        import base64
        import binascii

        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(
                400, "invalid_encoding", "body", "the body is flagged base64 but is not base64"
            ) from None
    else:
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(
                400, "invalid_encoding", "body", "the body is not valid UTF-8 text"
            ) from None
    if len(raw) > config.max_payload_bytes:
        raise RequestError(
            413,
            "payload_too_large",
            "body",
            f"the body is {len(raw)} bytes; the limit is {config.max_payload_bytes} bytes "
            "(the real-time payload limit); split the rows into smaller requests",
        )
    if event.get("isBase64Encoded") is True:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(
                400, "invalid_encoding", "body", "the body is not valid UTF-8 text"
            ) from None
    return body


def _number(value: Any, field: str) -> float | int:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            # NaN/Infinity literals are refused by the parser; 1e999 parses to inf.
            raise RequestError(400, "invalid_value", field, f"{value!r} is not a finite number")
        if abs(value) > FLOAT32_MAX:
            raise RequestError(400, "invalid_value", field, "is out of the float32 range")
        return value  # type: ignore[no-any-return]
    if kind is int:
        if abs(value) > FLOAT32_MAX:
            raise RequestError(400, "invalid_value", field, "is out of the float32 range")
        return value  # type: ignore[no-any-return]
    raise RequestError(400, "invalid_value", field, f"must be a number, got {_type_name(value)}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _row(item: Any, index: int, config: RequestLimits) -> list[float | int]:
    field = f"instances[{index}]"
    n = config.feature_count
    if type(item) is list:
        if len(item) != n:
            raise RequestError(
                400,
                "wrong_feature_count",
                field,
                f"has {len(item)} values; the model expects {n} features per row",
            )
        return [_number(v, f"{field}[{j}]") for j, v in enumerate(item)]
    if type(item) is dict:
        names = config.feature_names
        if not names:
            raise RequestError(
                400,
                "named_features_unsupported",
                field,
                f"rows must be arrays of {n} numbers (named features are not configured)",
            )
        missing = [name for name in names if name not in item]
        unknown = [str(k) for k in item if k not in names]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}")
            if unknown:
                parts.append(f"unknown {', '.join(unknown[:5])}{'...' if len(unknown) > 5 else ''}")
            raise RequestError(400, "wrong_feature_names", field, "; ".join(parts))
        return [_number(item[name], f"{field}[{name!r}]") for name in names]
    raise RequestError(
        400,
        "invalid_row",
        field,
        f"must be an array of {n} numbers, got {_type_name(item)}",
    )


def parse_request(event: Mapping[str, Any], config: RequestLimits) -> ParsedRequest:
    """Validate an API Gateway proxy event; return the model's body or raise RequestError."""
    method = event.get("httpMethod")
    if method is not None and method != "POST":
        raise RequestError(
            405, "method_not_allowed", "method", f"{method} is not allowed; use POST"
        )
    content_type = _header(event.get("headers"), "content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise RequestError(
            415,
            "unsupported_media_type",
            "Content-Type",
            f"Content-Type {content_type!r} is not supported; send application/json",
        )
    text = _body_text(event, config)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError(400, "invalid_json", "body", "the JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        raise RequestError(
            400, "invalid_json", "body", f"the body is not valid JSON: {error}"
        ) from None
    if type(document) is not dict:
        raise RequestError(
            400,
            "invalid_body",
            "body",
            f'the body must be a JSON object like {{"instances": [[...]]}}, '
            f"got {_type_name(document)}",
        )
    unknown = sorted(str(k) for k in document if k not in _ALLOWED_FIELDS)
    if unknown:
        raise RequestError(
            400,
            "unknown_field",
            unknown[0] or '""',
            f"unknown field(s) {', '.join(repr(k) for k in unknown)}; "
            "the only field is 'instances'",
        )
    if "instances" not in document:
        raise RequestError(400, "missing_field", "instances", "is required")
    instances = document["instances"]
    if type(instances) is not list:
        raise RequestError(
            400,
            "invalid_field",
            "instances",
            f"must be an array of rows, got {_type_name(instances)}",
        )
    if not instances:
        raise RequestError(400, "invalid_field", "instances", "must hold at least one row")
    if len(instances) > config.max_rows:
        raise RequestError(
            413,
            "too_many_rows",
            "instances",
            f"has {len(instances)} rows; the limit is {config.max_rows} per request; "
            "split the rows into smaller requests",
        )
    rows = [_row(item, i, config) for i, item in enumerate(instances)]
    payload = json.dumps({"instances": rows}, separators=(",", ":"), allow_nan=False).encode()
    if len(payload) > config.max_payload_bytes:
        raise RequestError(
            413,
            "payload_too_large",
            "instances",
            f"the rows serialize to {len(payload)} bytes; the limit is "
            f"{config.max_payload_bytes} bytes; split them into smaller requests",
        )
    return ParsedRequest(payload=payload, rows=len(rows), instances=rows)
