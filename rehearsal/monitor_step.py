"""Step 10 with the in-account monitor (``model_monitor.engine: own``): the deployed monitor
function's real analyzer, run by the rehearsal's Lambda runner, on the traffic the endpoint
captured.

The held-out rows go through the inference function one row per request (each answer carries
its inference id); their labels go up with ``deploy_tools.ground_truth``; the analyzer, invoked
on exactly that window, finds no drift and scores the labelled traffic as training did. A copy
with three watched features shifted by six standard deviations then makes it find drift on
exactly those three: their alarms go to ALARM, the topic hears it, retraining starts once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from rehearsal.context import Rehearsal
from rehearsal.drift_step import (
    SHIFT_STD,
    SHIFTED,
    evaluated_alarms,
    exactly_these_drift_alarms,
    retraining_started,
    s3_text,
)
from rehearsal.predictions import RehearsalError, predict_through_lambda

#: Training measured these on the held-out rows; the analyzer's must agree this closely.
METRIC_TOLERANCE = 1e-6


def watch_with_the_own_monitor(r: Rehearsal) -> str:
    function = f"{r.settings.prefix}-drift-monitor"
    served = r.promoted_model  # the model the endpoint serves: the last promotion's
    reference = _check_reference_is_the_served_models(r)
    rows, labels = r.held_out
    window, ids = _one_row_requests(r, rows)
    _upload_labels(r, ids, labels)
    calm = _analyze(r, function, window)
    if calm["drifted_features"]:
        raise RehearsalError(f"the held-out rows drift: {calm['drifted_features']}")
    quality = calm["model_quality"] or {}
    for name, expected in (("auc", served.auc), ("accuracy", served.accuracy)):
        if abs(quality.get(name, -1.0) - expected) > METRIC_TOLERANCE:
            raise RehearsalError(
                f"model quality from the uploaded labels: {name} {quality.get(name)}, training "
                f"measured {expected} for the {served.label} model"
            )
    states = evaluated_alarms(r, "drift-")
    if any(state == "ALARM" for state, _ in states.values()):
        raise RehearsalError(f"drift alarms in ALARM for the held-out rows: {states}")
    watched = list(r.settings.model_monitor.drift_features[:SHIFTED])
    shifted_window = _shifted_traffic(r, rows, watched, reference)
    drifted = _analyze(r, function, shifted_window)
    skipped = (drifted["model_quality"] or {}) == {} and "no labels for the shifted rows"
    if sorted(drifted["drifted_features"]) != sorted(watched):
        raise RehearsalError(f"drift on {drifted['drifted_features']}, expected {watched}")
    in_alarm, notified = exactly_these_drift_alarms(r, watched)
    retraining = retraining_started(r)
    scheduled = _as_the_schedule_invokes_it(r, function)
    return (
        f"the in-account monitor's real analyzer ({function}, Evidently, run by the Lambda "
        f"runner; no image) against the served model's training rows ({reference['rows']} rows): "
        f"{calm['rows_analyzed']} held-out rows, one request each: no drift; model quality "
        f"from {len(ids)} uploaded labels: AUC {quality['auc']:.4f}, accuracy "
        f"{quality['accuracy']:.4f} (= training's for the {served.label} model). "
        f"{drifted['rows_analyzed']} rows with {', '.join(watched)} shifted by {SHIFT_STD:g} "
        f"standard deviations: drift on exactly those ({_methods(r, drifted)}); alarms "
        f"{', '.join(in_alarm)} in ALARM -> notified {', '.join(notified)}; report "
        f"{drifted['reports'].get('report_html')}; model quality of that window: "
        f"{skipped or 'scored'}. {retraining}. {scheduled}"
    )


def _as_the_schedule_invokes_it(r: Rehearsal, function: str) -> str:
    """The deployed schedule targets the function with its own role and the scheduled time;
    its input, with the time Scheduler would put in at the next firing, runs the analyzer on
    the hour so far (moto never fires the schedule)."""
    name = f"{r.settings.prefix}-drift-monitor"
    schedule = r.clients.scheduler.get_schedule(Name=name)
    target = schedule["Target"]
    arn = r.clients.lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    role = f"role/{r.settings.prefix}-drift-schedule"
    template = json.loads(target.get("Input", "{}"))
    problems = []
    if target["Arn"] != arn:
        problems.append(f"targets {target['Arn']}, not {arn}")
    if not target["RoleArn"].endswith(role):
        problems.append(f"assumes {target['RoleArn']}, not {role}")
    if template != {"scheduled_time": "<aws.scheduler.scheduled-time>"}:
        problems.append(f"sends {template}, not the scheduled time")
    if problems:
        raise RehearsalError(f"schedule {name}: {'; '.join(problems)}")
    firing = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    firing += dt.timedelta(hours=1)
    event = target["Input"].replace(
        "<aws.scheduler.scheduled-time>", firing.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    response = r.clients.lambda_.invoke(FunctionName=function, Payload=event.encode())
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RehearsalError(f"the analyzer refused the schedule's input: {str(payload)[:800]}")
    window = payload["window"]
    return (
        f"Schedule {name} ({schedule['ScheduleExpression']}, {role}) fires it with "
        f"{target['Input']}: at {firing:%H:%M} it analyzes {window['start']}..{window['end']}, "
        "every request of the hour so far, the capacity test's repeated rows and the shifted "
        f"copy among them ({payload['status']}, {payload.get('rows_analyzed', 0)} rows, drift on "
        f"{', '.join(payload['drifted_features']) or 'nothing'})"
    )


def _check_reference_is_the_served_models(r: Rehearsal) -> dict[str, Any]:
    """The promotion made the served model's training rows the monitor's reference."""
    release_dir = r.promoted_uri.rsplit("/", 1)[0]
    kept = s3_text(r, f"{release_dir}/monitoring/reference/features.csv")
    active = s3_text(r, f"s3://{r.bucket}/monitoring/baseline/reference/features.csv")
    if kept != active:
        raise RehearsalError(f"the monitor's reference rows are not those of {r.promoted_uri}")
    lines = active.splitlines()
    columns = [list(map(float, line.split(","))) for line in lines[1:]]
    names = lines[0].split(",")
    means = [sum(c) / len(c) for c in zip(*columns, strict=True)]
    stds = [
        (sum((v - m) ** 2 for v in c) / len(c)) ** 0.5
        for c, m in zip(zip(*columns, strict=True), means, strict=True)
    ]
    return {"rows": len(columns), "std": dict(zip(names, stds, strict=True)), "names": names}


def _window_start() -> dt.datetime:
    """A window starts on a whole second after anything captured before it (the capture's
    inferenceTime has whole seconds)."""
    time.sleep(1.05 - time.time() % 1)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _window_end(r: Rehearsal) -> dt.datetime:
    r.aws.runtime.wait_idle()
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep(max(0.0, (end - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    return end


def _one_row_requests(
    r: Rehearsal, rows: list[list[float]]
) -> tuple[tuple[dt.datetime, dt.datetime], list[str]]:
    """Each held-out row as one request (a label joins one request); the inference ids."""
    assert r.inference_fn is not None
    start = _window_start()
    ids: list[str] = []
    for row in rows:
        event = {
            "resource": "/predict",
            "path": "/predict",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"instances": [row]}),
            "isBase64Encoded": False,
            "requestContext": {"requestId": f"held-out-{len(ids)}-{start:%H%M%S}", "stage": "r"},
        }
        response = r.clients.lambda_.invoke(FunctionName=r.inference_fn, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read())
        if payload.get("statusCode") != 200:
            raise RehearsalError(f"the inference function answered {str(payload)[:300]}")
        ids.append(str(json.loads(payload["body"])["inference_id"]))
    return (start, _window_end(r)), ids


def _upload_labels(r: Rehearsal, ids: list[str], labels: list[int]) -> None:
    from deploy_tools.ground_truth import Label, upload_labels

    upload_labels(
        r.clients.s3,
        r.bucket,
        r.key_arn,
        [Label(i, int(label)) for i, label in zip(ids, labels, strict=True)],
    )


def _shifted_traffic(
    r: Rehearsal, rows: list[list[float]], watched: list[str], reference: dict[str, Any]
) -> tuple[dt.datetime, dt.datetime]:
    names = reference["names"]
    shift = {names.index(n): SHIFT_STD * reference["std"][n] for n in watched}
    shifted = [[v + shift.get(i, 0.0) for i, v in enumerate(row)] for row in rows]
    assert r.inference_fn is not None
    start = _window_start()
    predict_through_lambda(r.clients, r.inference_fn, shifted, r.settings.api.max_rows)
    return start, _window_end(r)


def _analyze(
    r: Rehearsal, function: str, window: tuple[dt.datetime, dt.datetime]
) -> dict[str, Any]:
    """Invoke the deployed analyzer on ``window``, its labels scored as they arrived (the
    rehearsal does not wait ``label_delay_hours``)."""
    start, end = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in window)
    event = {
        "window_start": start,
        "window_end": end,
        "quality_window_start": start,
        "quality_window_end": end,
    }
    response = r.clients.lambda_.invoke(FunctionName=function, Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RehearsalError(f"the monitor's analyzer failed: {str(payload)[:800]}")
    if payload["status"] != "analyzed":
        raise RehearsalError(f"the analyzer did not analyze the window: {payload}")
    result: dict[str, Any] = payload
    return result


def _methods(r: Rehearsal, result: dict[str, Any]) -> str:
    """The test Evidently chose for each drifted feature, from the run's JSON report."""
    report = json.loads(s3_text(r, result["reports"]["json"]))
    columns = report["drift"]["columns"]
    return ", ".join(
        f"{n} {columns[n]['method']} {columns[n]['score']:.2g} vs {columns[n]['threshold']}"
        for n in sorted(result["drifted_features"])
    )
