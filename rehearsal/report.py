"""Step 8: what was deployed, as moto describes it, and how long each step took."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rehearsal.deployment import DeployedStack
from rehearsal.moto_gaps import open_gaps
from rehearsal.moto_gaps.journal import Journal
from rehearsal.moto_gaps.shims import SHIMS, not_emulated_reason


@dataclass(frozen=True)
class ResourceRow:
    """One template resource and its state in the local deployment."""

    stack: str
    logical_id: str
    resource_type: str
    state: str
    emulated: bool


def resource_rows(stacks: Iterable[DeployedStack], journal: Journal) -> list[ResourceRow]:
    """Every resource the templates declared: created, or recorded and not emulated (why);
    a bucket with the settings the install's ``journal`` says were applied to it."""
    rows = []
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            kind = resource["Type"]
            reason = not_emulated_reason(kind)
            if logical_id not in stack.physical_ids:
                state, emulated = "MISSING: not in moto's stack resources", False
            elif reason is not None:
                state, emulated = f"not emulated: {reason}", False
            else:
                via = " (rehearsal shim)" if kind in SHIMS else ""
                state = f"{stack.resource_status.get(logical_id, 'CREATE_COMPLETE')}{via}"
                emulated = True
                settings = journal.bucket_settings.get(stack.physical_ids[logical_id])
                if kind == "AWS::S3::Bucket" and settings:
                    failed = [f"{k} {v}" for k, v in settings.items() if v != "applied"]
                    applied = [k for k, v in settings.items() if v == "applied"]
                    state += f" + {', '.join(applied)}" if applied else ""
                    state += f"; {'; '.join(failed)}" if failed else ""
            rows.append(ResourceRow(stack.name, logical_id, kind, state, emulated))
    return rows


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], max_width: int = 70) -> str:
    """A plain-text table (cells cut to ``max_width``)."""
    cells = [
        [str(c) if len(str(c)) <= max_width else str(c)[: max_width - 1] + "…" for c in r]
        for r in rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body])


def alarms_table(cloudwatch: Any, evaluations: Sequence[Any] = ()) -> str:
    """The alarms as moto describes them, with the rehearsal's evaluation of each."""
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    if not alarms:
        return "(no alarms declared)"
    evaluated = {e.name: e for e in evaluations}
    rows = []
    for alarm in alarms:
        metric = alarm.get("MetricName") or "+".join(
            m.get("MetricStat", {}).get("Metric", {}).get("MetricName", m.get("Expression", "?"))
            for m in alarm.get("Metrics", [])
        )
        evaluation = evaluated.get(alarm["AlarmName"])
        why = evaluation.reason if evaluation else ""
        if evaluation and evaluation.notified:
            why += f"; notified {', '.join(a.split(':')[-1] for a in evaluation.notified)}"
        rows.append(
            (
                alarm["AlarmName"],
                metric,
                f"{alarm.get('ComparisonOperator', '')} {alarm.get('Threshold', '')}",
                alarm.get("StateValue", ""),
                why,
            )
        )
    return table(("alarm", "metric", "condition", "state", "why"), rows, max_width=60)


def scaling_table(autoscaling: Any) -> str:
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")
    rows = [
        (
            "target",
            t["ResourceId"],
            f"{t['ScalableDimension']} {t['MinCapacity']}-{t['MaxCapacity']}",
        )
        for t in targets["ScalableTargets"]
    ]
    for policy in policies["ScalingPolicies"]:
        config = policy.get("TargetTrackingScalingPolicyConfiguration", {})
        metric = config.get("PredefinedMetricSpecification", {}).get(
            "PredefinedMetricType"
        ) or config.get("CustomizedMetricSpecification", {}).get("MetricName", "?")
        setting = f"{policy['PolicyType']}: {metric} -> {config.get('TargetValue')}"
        step = policy.get("StepScalingPolicyConfiguration")
        if step:
            adjustments = ", ".join(
                f"{int(a.get('ScalingAdjustment', 0)):+d} at >= {a.get('MetricIntervalLowerBound')}"
                for a in step.get("StepAdjustments", [])
            )
            setting = f"{policy['PolicyType']}: {step.get('AdjustmentType')} {adjustments}"
        rows.append((f"policy {policy['PolicyName']}", policy["ResourceId"], setting))
    if not rows:
        return "(no scaling declared)"
    return table(("kind", "resource", "setting"), rows, max_width=80)


def metrics_table(cloudwatch: Any) -> str:
    """Every metric the run produced (Lambda service metrics and the functions' EMF lines)
    with its sum over the run, as moto's CloudWatch answers."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    rows = []
    seen: set[str] = set()
    for metric in cloudwatch.list_metrics()["Metrics"]:
        identity = repr(
            (
                metric["Namespace"],
                metric["MetricName"],
                sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])),
            )
        )
        if identity in seen:  # moto lists a metric once per datum
            continue
        seen.add(identity)
        statistics = cloudwatch.get_metric_statistics(
            Namespace=metric["Namespace"],
            MetricName=metric["MetricName"],
            Dimensions=metric.get("Dimensions", []),
            StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5),
            Period=3600 * 2,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        total = sum(p["Sum"] for p in statistics)
        samples = int(sum(p["SampleCount"] for p in statistics))
        dimensions = ",".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions", []))
        if samples:  # moto lists S3 storage metrics that were never put
            rows.append(
                (metric["Namespace"], metric["MetricName"], dimensions, f"{total:g}", str(samples))
            )
    if not rows:
        return "(no metrics)"
    rows.sort()
    return table(("namespace", "metric", "dimensions", "sum", "samples"), rows, max_width=50)


def requests_table(counts: Mapping[str, int], problems: Sequence[str]) -> str:
    """Requests per operation checked against botocore's service models, and any refusal."""
    if not counts:
        return "(no requests)"
    rows = [(operation, str(count)) for operation, count in sorted(counts.items())]
    text = table(("operation", "requests"), rows)
    refused = "\n".join(f"REFUSED: {problem}" for problem in problems)
    return f"{text}\n{refused}" if refused else f"{text}\nnone refused"


def gaps_text(not_emulated: int) -> str:
    """The open gaps; the generic "no moto model" one only when this run met such a type."""
    return "\n".join(
        f"  - {gap.name}: {gap.detail}"
        for gap in open_gaps()
        if not (gap.name.startswith("Resource types with no moto model") and not_emulated == 0)
    )
