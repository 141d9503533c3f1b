"""CloudWatch: moto 5.2.5's CloudFormation skips alarms (it stores alarms, never evaluates them;
:mod:`rehearsal.moto_gaps.alarms` does)."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


def _metric_stat(stat: dict[str, Any] | None) -> MetricStat | None:
    if not stat:
        return None
    m = stat["Metric"]
    return MetricStat(
        metric=Metric(
            metric_name=m["MetricName"],
            namespace=m.get("Namespace"),  # type: ignore[arg-type]
            dimensions=[Dimension(d["Name"], d["Value"]) for d in m.get("Dimensions", [])],
        ),
        period=stat.get("Period"),  # type: ignore[arg-type]
        stat=stat.get("Stat"),  # type: ignore[arg-type]
        unit=stat.get("Unit"),  # type: ignore[arg-type]
    )


def _queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    """A metric-math alarm's ``Metrics`` as moto's query objects."""
    if not metrics:
        return None
    return [
        MetricDataQuery(
            query_id=metric.get("Id"),  # type: ignore[arg-type]
            label=metric.get("Label"),  # type: ignore[arg-type]
            period=metric.get("Period"),  # type: ignore[arg-type]
            return_data=metric.get("ReturnData"),  # type: ignore[arg-type]
            expression=metric.get("Expression"),
            metric_stat=_metric_stat(metric.get("MetricStat")),
        )
        for metric in metrics
    ]


@register("AWS::CloudWatch::Alarm")
class Alarm(Shim):
    """-> PutMetricAlarm; deleted with its stack."""

    @classmethod
    def create(cls, call: CfnCall) -> Alarm:
        p = call.properties
        name = p.get("AlarmName") or call.resource_name
        backend = cloudwatch_backends[call.account_id][call.region_name]
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),  # type: ignore[arg-type]
            metric_name=p.get("MetricName"),  # type: ignore[arg-type]
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=p.get("Period"),  # type: ignore[arg-type]
            threshold=float(p["Threshold"]) if "Threshold" in p else None,  # type: ignore[arg-type]
            statistic=p.get("Statistic"),  # type: ignore[arg-type]
            description=p.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=_queries(p.get("Metrics")),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )
        return cls(name, p, {"Arn": alarm.alarm_arn})

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self._physical_id])
