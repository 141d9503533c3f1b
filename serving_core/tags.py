"""Tags and metadata that SageMaker and S3 accept, whatever the uploaded object's key holds.

SageMaker tag keys and values allow only letters, digits, spaces and ``_.:/=+-@`` (pattern
``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``; values at most 256 characters), so a tag value like
``s3://bucket/key?version=...`` makes CreateModel fail. S3 user metadata travels as HTTP
headers: US-ASCII only. An S3 key may contain any character, so both are sanitized here.
"""

from __future__ import annotations

import unicodedata
from typing import Any

SOURCE_TAG = "promotion:source"
SOURCE_VERSION_TAG = "promotion:source-version"
TAG_VALUE_LIMIT = 256
#: UpdateModelPackage's ApprovalDescription: at most 1,024 characters of ``.*``.
APPROVAL_DESCRIPTION_LIMIT = 1024
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
_TAG_CATEGORIES = ("L", "Z", "N")  # letters, separators (spaces), numbers


def _allowed_in_tag(char: str) -> bool:
    return char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in _TAG_CATEGORIES


def tag_value(text: str, limit: int = TAG_VALUE_LIMIT) -> str:
    """``text`` with every character SageMaker refuses in a tag replaced by ``_``, cut to
    ``limit`` characters."""
    return "".join(c if _allowed_in_tag(c) else "_" for c in text)[:limit]


def ascii_text(text: str, limit: int) -> str:
    """Printable US-ASCII (S3 metadata values, SNS subjects), others replaced by ``?``."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:limit]


def source_tags(upload: Any) -> list[dict[str, str]]:
    """Where a promoted model came from: the object's URI and its version, as two tags."""
    return [
        {"Key": SOURCE_TAG, "Value": tag_value(f"s3://{upload.bucket}/{upload.key}")},
        {
            "Key": SOURCE_VERSION_TAG,
            "Value": tag_value(upload.version_id or upload.etag or ""),
        },
    ]


def package_tags(package: Any) -> list[dict[str, str]]:
    """Where a promoted model came from: the approved package's ARN (its version is in it)."""
    return [{"Key": SOURCE_TAG, "Value": tag_value(package.arn)}]


def approval_description(text: str) -> str:
    """A package's approval description: one line (``.*`` does not cross line breaks), at
    most 1,024 characters."""
    return " ".join(text.split())[:APPROVAL_DESCRIPTION_LIMIT]
