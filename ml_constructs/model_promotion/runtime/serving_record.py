"""The SSM parameter naming the served artifact (what ``cdk deploy`` resolves), written once a
deployment of a promoted model has finished, with the monitoring baseline activated first."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from serving_core import baseline
from serving_core.metric_names import METRIC_COMPLETED

from .config import PromotionConfig
from .errors import is_not_found
from .reporting import Reporter, log


class ServingRecord:
    """Reads and writes the artifact parameter; shared by every kind of target."""

    def __init__(self, config: PromotionConfig, s3: Any, ssm: Any, reporter: Reporter) -> None:
        self.config = config
        self.s3 = s3
        self.ssm = ssm
        self.reporter = reporter

    def recorded_artifact(self) -> str | None:
        try:
            value = self.ssm.get_parameter(Name=self.config.artifact_parameter)
        except ClientError as error:
            if is_not_found(error):
                return None
            raise
        return str(value["Parameter"]["Value"])

    def record(
        self,
        uri: str,
        previous: str | None,
        serving: dict[str, Any],
        subject: str,
        description: str,
    ) -> None:
        """Activate ``uri``'s baseline, write the parameter, count, log and notify;
        ``serving`` names what now serves it (in the log and the notification)."""
        monitored = self.activate_baseline(uri)
        self.ssm.put_parameter(
            Name=self.config.artifact_parameter,
            Value=uri,
            Type="String",
            Overwrite=True,
            Description=description,
        )
        self.reporter.emit_metric(METRIC_COMPLETED)
        details: dict[str, Any] = {"artifact": uri, "previous": previous, **serving}
        if monitored is not None:
            details["monitoring_baseline"] = monitored
        log("promotion_recorded", **details)
        self.reporter.notify("completed", subject, details)

    def activate_baseline(self, uri: str) -> str | None:
        """The served model's baseline becomes the monitors' (before the parameter is written:
        a failure here is retried with the whole record). None when nothing is monitored."""
        prefix = self.config.monitoring_baseline_prefix
        if prefix is None:
            return None
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        release_dir = key.rsplit("/", 1)[0] + "/"
        if baseline.activate(self.s3, bucket, release_dir, prefix):
            return f"s3://{bucket}/{prefix}"
        log("baseline_missing", level="WARNING", artifact=uri, kept=f"s3://{bucket}/{prefix}")
        return "unchanged: the model carries no baseline"
