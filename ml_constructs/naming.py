"""Physical names derived from one prefix, so policies can be scoped to ``<prefix>-*``."""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def validate_prefix(prefix: str) -> str:
    """Reject prefixes that would make invalid IAM, SageMaker or S3 names."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"prefix {prefix!r} must be lowercase letters, digits and hyphens")
    return prefix


def role_name(prefix: str, purpose: str) -> str:
    """IAM role name; the key policy trusts ``role/<prefix>-*``."""
    name = f"{prefix}-{purpose}"
    if len(name) > 64:
        raise ValueError(f"role name {name!r} is longer than IAM's 64 characters")
    return name


def endpoint_name(prefix: str) -> str:
    """The SageMaker endpoint name (at most 63 characters)."""
    name = f"{prefix}-endpoint"
    if len(name) > 63:
        raise ValueError(f"endpoint name {name!r} is longer than SageMaker's 63 characters")
    return name
