"""Small AWS facts the moto_gaps modules share."""

from __future__ import annotations


def partition(region: str) -> str:
    """The partition of ``region`` (moto keys S3 backends by partition, not region)."""
    return "aws-cn" if region.startswith("cn-") else "aws"
