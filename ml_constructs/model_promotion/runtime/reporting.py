"""How a promotion reports: JSON log lines, SNS notifications, embedded-format metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from serving_core.metric_names import PROMOTION_METRICS
from serving_core.tags import ascii_text

from .config import PromotionConfig

#: SNS subjects: ASCII, no line breaks or control characters, under 100 characters.
_SUBJECT_LIMIT = 99


class Reporter:
    """The alarm topic and the metrics of one promotion function."""

    def __init__(self, config: PromotionConfig, sns: Any) -> None:
        self.config = config
        self.sns = sns

    def notify(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        """Publish to the alarm topic; a notification problem never fails the promotion."""
        if self.sns is None or not self.config.topic_arn:
            return
        body = {"event": f"promotion_{kind}", "endpoint": self.config.endpoint_name, **details}
        try:
            self.sns.publish(
                TopicArn=self.config.topic_arn,
                Subject=sns_subject(f"[{self.config.name_prefix}] {subject}"),
                Message=json.dumps(body, indent=2, default=str),
            )
        except ClientError as error:
            log("notification_failed", level="ERROR", error=str(error))

    def emit_metric(self, name: str, value: int = 1) -> None:
        """CloudWatch embedded metric format on stdout: no PutMetricData permission needed."""
        if name not in PROMOTION_METRICS:
            raise ValueError(f"{name!r} is not one of the declared metrics {PROMOTION_METRICS}")
        print(
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": int(time.time() * 1000),
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.config.metrics_namespace,
                                "Dimensions": [["EndpointName"]],
                                "Metrics": [{"Name": name, "Unit": "Count"}],
                            }
                        ],
                    },
                    "EndpointName": self.config.endpoint_name,
                    name: value,
                }
            ),
            flush=True,
        )


def sns_subject(text: str) -> str:
    """SNS refuses subjects with line breaks, control or non-ASCII characters, or 100+
    characters; an object key may hold any of them."""
    return ascii_text(text, _SUBJECT_LIMIT) or "promotion"


def log(event: str, level: str = "INFO", **fields: Any) -> None:
    """One JSON line per event, so Logs Insights can filter on ``event`` and ``code``."""
    print(json.dumps({"level": level, "event": event, **fields}, default=str), flush=True)
