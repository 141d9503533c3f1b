"""The promotion's rejection: a stable code for machines, a reason for people."""

from __future__ import annotations


class ArtifactRejectedError(Exception):
    """The artifact must not be promoted; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
