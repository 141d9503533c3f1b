"""Logs and metrics live in ``serving_core.observability`` (the Lambda-hosted model writes the
same lines and metrics); these names stay importable from here."""

from serving_core.observability import POWERTOOLS, logger, record_outcome

__all__ = ["POWERTOOLS", "logger", "record_outcome"]
