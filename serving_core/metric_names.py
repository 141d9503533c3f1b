"""Metric names a function publishes and its construct alarms on: declared once, here."""

from __future__ import annotations

#: The promotion function's embedded-format metrics (its alarms and dashboard read them).
METRIC_STARTED = "PromotionStarted"
METRIC_COMPLETED = "PromotionCompleted"
METRIC_REJECTED = "PromotionRejected"
METRIC_FAILED = "PromotionFailed"
METRIC_RETRIED = "PromotionRetried"
METRIC_ERRORS = "PromotionErrors"
METRIC_CLEANED = "PromotionResourcesDeleted"
PROMOTION_METRICS = (
    METRIC_STARTED,
    METRIC_COMPLETED,
    METRIC_REJECTED,
    METRIC_FAILED,
    METRIC_RETRIED,
    METRIC_ERRORS,
    METRIC_CLEANED,
)
