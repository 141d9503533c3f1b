"""Step 9: watching the model. The deployed data-quality schedule's job definition names the
baseline, the record preprocessor and the report location; the rehearsal stands in for its
analyzer (``rehearsal.drift``): the held-out rows show no violation, a copy with a few features
shifted by several standard deviations shows violations on exactly those features, whose drift
metrics put their alarms in ALARM and notify the topic."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from rehearsal.context import Rehearsal
from rehearsal.drift import Analysis, analyze
from rehearsal.predictions import RehearsalError, predict_through_lambda, wait_for

DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
SHIFTED = 3  # features moved in the drifted copy
SHIFT_STD = 6.0


@dataclass
class Monitor:
    """What the deployed schedule and its job definition say."""

    schedule: str
    definition: str
    statistics: dict[str, Any]
    constraints: dict[str, Any]
    preprocess: Any
    reports_uri: str
    key_id: str | None
    baseline_uri: str


def watch_the_model(r: Rehearsal) -> str:
    if r.inference_fn is None:
        return "NOT SHOWN: no inference function"
    if not r.settings.model_monitor.enabled:
        return f"NOT SHOWN: {r.settings.name} does not monitor the model (model_monitor.enabled)"
    if r.settings.model_monitor.engine == "own":
        from rehearsal.monitor_step import watch_with_the_own_monitor

        return watch_with_the_own_monitor(r)
    monitor = _deployed_monitor(r)
    served_from = _check_baseline_is_the_served_models(r, monitor)
    rows, _ = r.held_out
    held_out = _execution(r, monitor, rows, "held-out")
    if held_out.violations:
        raise RehearsalError(f"the held-out rows show violations: {held_out.report()}")
    calm = evaluated_alarms(r, "drift-")
    if any(state == "ALARM" for state, _ in calm.values()):
        raise RehearsalError(f"drift alarms in ALARM for the held-out rows: {calm}")
    names = [f["name"] for f in monitor.statistics["features"]]
    watched = [n for n in r.settings.model_monitor.drift_features if n in names][:SHIFTED]
    drifted_rows = _shifted(rows, names, watched, monitor.statistics)
    drifted = _execution(r, monitor, drifted_rows, "drifted")
    flagged = sorted({v.feature_name for v in drifted.violations})
    kinds = sorted({v.constraint_check_type for v in drifted.violations})
    if flagged != sorted(watched) or kinds != ["baseline_drift_check"]:
        raise RehearsalError(
            f"violations on {flagged} ({kinds}), expected baseline drift on {sorted(watched)}"
        )
    in_alarm, notified = exactly_these_drift_alarms(r, watched)
    distances = ", ".join(f"{n} {drifted.distances[n]:.2f}" for n in sorted(watched))
    retraining = retraining_started(r)
    return (
        f"STAND-IN for Model Monitor's analyzer (no container here), run as schedule "
        f"{monitor.schedule}'s job definition {monitor.definition} says: baseline "
        f"{monitor.baseline_uri} = {served_from}. {held_out.item_count} held-out rows: "
        f"{len(held_out.violations)} violations (largest drift "
        f"{max(held_out.distances.values()):.2f}); {drifted.item_count} rows with "
        f"{', '.join(watched)} shifted by {SHIFT_STD:g} standard deviations: "
        f"baseline_drift_check violations on exactly those ({distances}); alarms "
        f"{', '.join(in_alarm)} in ALARM -> notified {', '.join(notified)}; reports under "
        f"{monitor.reports_uri}. {retraining}"
    )


def retraining_started(r: Rehearsal) -> str:
    """Where retraining is on, the alarms' transition (EventBridge) made the retraining
    function start one training job (moto records it; nothing trains here)."""
    if not r.settings.model_monitor.retraining.enabled:
        return "Retraining is off in this environment."
    prefix = f"{r.settings.prefix}-retrain-"

    def started() -> list[dict[str, Any]] | None:
        jobs = r.clients.sagemaker.list_training_jobs(NameContains=prefix)
        return jobs["TrainingJobSummaries"] or None

    jobs = wait_for(started, r.args.timeout, "the retraining function to start a training job")
    if len(jobs) != 1:
        raise RehearsalError(f"{len(jobs)} retraining jobs started, expected one: {jobs}")
    name = jobs[0]["TrainingJobName"]
    job = r.clients.sagemaker.describe_training_job(TrainingJobName=name)
    code = job["HyperParameters"]["sagemaker_submit_directory"]
    return (
        f"Retraining: the alarms' state change (EventBridge) started {name} (one job for "
        f"{len(in_alarm_names(r))} alarms) on {job['AlgorithmSpecification']['TrainingImage']} "
        f"({_training_command(r, job['HyperParameters'])}), code {code}, output "
        f"{job['OutputDataConfig']['S3OutputPath']} (moto records the job; "
        "nothing trains here)"
    )


def _training_command(r: Rehearsal, hyperparameters: dict[str, str]) -> str:
    """What the job runs: ``train.py``, with ``--framework <name>`` (the hyperparameter
    SageMaker passes as a flag) for another framework than TensorFlow."""
    expected = r.settings.model.facts.training_hyperparameters
    given = {k: v for k, v in hyperparameters.items() if k in ("framework", *expected)}
    if given != expected:
        raise RehearsalError(
            f"the retraining job's framework hyperparameters are {given}, not {expected}: "
            "train.py would not run the environment's trainer"
        )
    flags = "".join(f" --{k} {v}" for k, v in expected.items())
    return f"{hyperparameters['sagemaker_program']}{flags}"


def in_alarm_names(r: Rehearsal) -> list[str]:
    alarms = r.clients.cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    return [a["AlarmName"] for a in alarms if "-drift-" in a["AlarmName"]]


def _deployed_monitor(r: Rehearsal) -> Monitor:
    sagemaker = r.clients.sagemaker
    summaries = sagemaker.list_monitoring_schedules(EndpointName=r.endpoint_name)[
        "MonitoringScheduleSummaries"
    ]
    (summary,) = [s for s in summaries if s.get("MonitoringType") == "DataQuality"]
    schedule = sagemaker.describe_monitoring_schedule(
        MonitoringScheduleName=summary["MonitoringScheduleName"]
    )
    name = schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    definition = sagemaker.describe_data_quality_job_definition(JobDefinitionName=name)
    baseline = definition["DataQualityBaselineConfig"]
    output = definition["DataQualityJobOutputConfig"]
    preprocessor = s3_text(
        r, definition["DataQualityAppSpecification"]["RecordPreprocessorSourceUri"]
    )
    namespace: dict[str, Any] = {"__name__": "record_preprocessor"}
    # The deployed record preprocessor (the model's own script, from the stack's bucket), run
    # as the analyzer runs it: the point is to exercise exactly what the monitor would.
    exec(compile(preprocessor, "preprocessor.py", "exec"), namespace)  # noqa: S102
    statistics_uri = baseline["StatisticsResource"]["S3Uri"]
    return Monitor(
        schedule=schedule["MonitoringScheduleName"],
        definition=name,
        statistics=json.loads(s3_text(r, statistics_uri)),
        constraints=json.loads(s3_text(r, baseline["ConstraintsResource"]["S3Uri"])),
        preprocess=namespace["preprocess_handler"],
        reports_uri=output["MonitoringOutputs"][0]["S3Output"]["S3Uri"],
        key_id=output.get("KmsKeyId"),
        baseline_uri=statistics_uri.rsplit("/", 2)[0] + "/",
    )


def s3_text(r: Rehearsal, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return str(r.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))


def _check_baseline_is_the_served_models(r: Rehearsal, monitor: Monitor) -> str:
    """The promotion copied the served model's baseline: it equals the one kept beside the
    release the endpoint serves."""
    release_dir = r.promoted_uri.rsplit("/", 1)[0]
    kept = json.loads(s3_text(r, f"{release_dir}/monitoring/data-quality/statistics.json"))
    if kept != monitor.statistics:
        raise RehearsalError(f"the monitors' baseline is not the one of {r.promoted_uri}")
    return f"the served model's ({release_dir}/monitoring/)"


def _shifted(
    rows: list[list[float]], names: list[str], shifted: list[str], statistics: dict[str, Any]
) -> list[list[float]]:
    std = {f["name"]: f["numerical_statistics"]["std_dev"] for f in statistics["features"]}
    columns = {names.index(n): SHIFT_STD * std[n] for n in shifted}
    return [[v + columns.get(i, 0.0) for i, v in enumerate(row)] for row in rows]


def _execution(r: Rehearsal, monitor: Monitor, rows: list[list[float]], label: str) -> Analysis:
    """Send ``rows`` through the deployed function, analyze what was captured of them, write
    the report and publish the drift metrics as the analyzer does."""
    runtime = r.aws.runtime
    mark = len(runtime.captured)
    assert r.inference_fn is not None
    predict_through_lambda(r.clients, r.inference_fn, rows, r.settings.api.max_rows)
    runtime.wait_idle()
    records: list[dict[str, Any]] = []
    for uri in runtime.captured[mark:]:
        for line in s3_text(r, uri).splitlines():
            captured = json.loads(line)["captureData"]["endpointInput"]
            record = SimpleNamespace(endpoint_input=SimpleNamespace(**captured))
            records.extend(monitor.preprocess(record))
    if len(records) != len(rows):
        raise RehearsalError(f"{len(records)} records captured of {len(rows)} {label} rows")
    analysis = analyze(records, monitor.statistics, monitor.constraints)
    _write_report(r, monitor, analysis, label)
    r.clients.cloudwatch.put_metric_data(
        Namespace=DATA_METRICS,
        MetricData=[
            {
                "MetricName": f"feature_baseline_drift_{name}",
                "Value": distance,
                "Dimensions": [
                    {"Name": "Endpoint", "Value": r.endpoint_name},
                    {"Name": "MonitoringSchedule", "Value": monitor.schedule},
                ],
            }
            for name, distance in analysis.distances.items()
        ],
    )
    return analysis


def _write_report(r: Rehearsal, monitor: Monitor, analysis: Analysis, label: str) -> None:
    bucket, _, prefix = monitor.reports_uri.removeprefix("s3://").partition("/")
    key = f"{prefix.rstrip('/')}/{r.endpoint_name}/{time.strftime('%Y/%m/%d/%H')}/{label}/"
    extra = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": monitor.key_id} if monitor.key_id else {}
    )
    r.clients.s3.put_object(
        Bucket=bucket,
        Key=f"{key}constraint_violations.json",
        Body=json.dumps(analysis.report(), indent=1).encode(),
        **extra,
    )


def exactly_these_drift_alarms(r: Rehearsal, watched: list[str]) -> tuple[list[str], list[str]]:
    """The drift alarms in ALARM are the ``watched`` features' and notified the topic: their
    names and the topics notified."""
    alarms = evaluated_alarms(r, "drift-")
    in_alarm = sorted(name for name, (state, _) in alarms.items() if state == "ALARM")
    expected = sorted(f"{r.settings.prefix}-drift-{n}" for n in watched)
    if in_alarm != expected:
        raise RehearsalError(f"drift alarms in ALARM: {in_alarm}, expected {expected}")
    notified = sorted({t.rsplit(":", 1)[-1] for n in in_alarm for t in alarms[n][1]})
    if not notified:
        raise RehearsalError(f"{in_alarm} went to ALARM without notifying the topic")
    return in_alarm, notified


def evaluated_alarms(r: Rehearsal, infix: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Evaluate every alarm from this run's metrics; the ``infix`` ones: (state, notified)."""
    from rehearsal.moto_gaps import alarms

    return {
        e.name: (e.state, e.notified)
        for e in alarms.evaluate(r.account, r.region, names_containing=f"-{infix}")
    }
