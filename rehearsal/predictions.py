"""What the rehearsal sends through the deployed path and what it reads back: predictions through
the inference function (Lambda invoke and the REST API), their metrics against training's, data
capture, function logs, and waiting for asynchronous outcomes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from rehearsal.artifacts import TrainedModel

METRIC_TOLERANCE = 1e-6


class RehearsalError(RuntimeError):
    """A step failed; the message says which check and what was seen."""


def deployed_function(stack: Any, function_name: str) -> str | None:
    """The deployed function of ``stack`` named ``function_name`` (None: the stack has none):
    found by its name, which the construct derives from the prefix, not by what its
    environment happens to hold."""
    for logical_id, resource in stack.template.get("Resources", {}).items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if resource.get("Properties", {}).get("FunctionName") == function_name:
            return str(stack.physical_ids.get(logical_id))
    return None


#: Inference functions that answered POST /predict with ``use_predict_async`` (async mode).
_ASYNC_FUNCTIONS: set[str] = set()


def _invoke(clients: Any, function_name: str, event: dict[str, Any]) -> tuple[int, Any]:
    response = clients.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError") or not isinstance(payload, dict):
        raise RehearsalError(f"the inference function failed: {str(payload)[:500]}")
    return int(payload.get("statusCode", 0)), json.loads(payload.get("body") or "{}")


def _proxy_event(resource: str, method: str, **extra: Any) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": resource,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "isBase64Encoded": False,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "rehearsal"},
        **extra,
    }


def predict_async_through_lambda(
    clients: Any, function_name: str, rows: list[list[float]], max_rows: int, timeout_s: float
) -> list[float]:
    """POST /predict-async for every batch (202 and an id each), then GET /predict-async/{id}
    until each is completed: the results SageMaker (here its stand-in) wrote to the bucket."""
    ids: list[str] = []
    for start in range(0, len(rows), max_rows):
        body = json.dumps({"instances": rows[start : start + max_rows]})
        status, answer = _invoke(
            clients, function_name, _proxy_event("/predict-async", "POST", body=body)
        )
        if status != 202 or not answer.get("id"):
            raise RehearsalError(f"POST /predict-async answered {status}: {str(answer)[:300]}")
        ids.append(str(answer["id"]))
    probabilities: list[float] = []
    for request_id in ids:

        def outcome(request_id: str = request_id) -> Any:
            status, answer = _invoke(
                clients,
                function_name,
                _proxy_event(
                    "/predict-async/{id}",
                    "GET",
                    body=None,
                    path=f"/predict-async/{request_id}",
                    pathParameters={"id": request_id},
                ),
            )
            if status == 202:
                return None
            if status != 200 or answer.get("status") != "completed":
                raise RehearsalError(f"GET /predict-async/{request_id}: {status} {answer}")
            return answer

        answer = wait_for(outcome, timeout_s, f"the asynchronous result of {request_id}")
        probabilities.extend(float(p["probability"]) for p in answer["predictions"])
    return probabilities


def async_summary(runtime: Any) -> str:
    """What the asynchronous stand-in wrote and published."""
    stand_in = runtime.asynchronous
    stand_in.wait_idle()
    if stand_in.errors:
        raise RehearsalError(f"asynchronous inference failed: {stand_in.errors[-1]}")
    completed = sum(1 for status in stand_in.notified if status[1] == "Completed")
    return (
        f"async: {len(stand_in.completed)} results written under async/output/ (SSE-KMS), "
        f"{completed} success notifications published"
    )


def predict_through_lambda(
    clients: Any, function_name: str, rows: list[list[float]], max_rows: int
) -> list[float]:
    """POST /predict through the deployed function (API Gateway proxy events), batch by batch;
    an async function's through POST /predict-async and GET /predict-async/{id}."""
    if function_name in _ASYNC_FUNCTIONS:
        return predict_async_through_lambda(clients, function_name, rows, max_rows, 60.0)
    probabilities: list[float] = []
    for start in range(0, len(rows), max_rows):
        event = {
            "resource": "/predict",
            "path": "/predict",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"instances": rows[start : start + max_rows]}),
            "isBase64Encoded": False,
            "requestContext": {"requestId": str(uuid.uuid4()), "stage": "rehearsal"},
        }
        response = clients.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read())
        if not probabilities and _answers_async_only(payload):
            _ASYNC_FUNCTIONS.add(function_name)
            return predict_async_through_lambda(clients, function_name, rows, max_rows, 60.0)
        if response.get("FunctionError") or payload.get("statusCode") != 200:
            raise RehearsalError(f"the inference function answered {str(payload)[:500]}")
        body = json.loads(payload["body"])
        probabilities.extend(float(p["probability"]) for p in body["predictions"])
    return probabilities


def _answers_async_only(payload: Any) -> bool:
    """The async function's answer to POST /predict: 404 ``use_predict_async``."""
    if not isinstance(payload, dict) or payload.get("statusCode") != 404:
        return False
    try:
        return bool(json.loads(payload["body"])["error"]["code"] == "use_predict_async")
    except (KeyError, TypeError, ValueError):
        return False


def capture_summary(clients: Any, runtime: Any) -> str:
    """Data capture as S3 holds it (SageMaker's capture layout)."""
    runtime.wait_idle()
    if runtime.errors:
        raise RehearsalError(f"data capture failed: {runtime.errors[-1]}")
    if not runtime.captured:
        return "data capture: off in this endpoint config"
    first = runtime.captured[0]
    bucket, _, key = first.removeprefix("s3://").partition("/")
    prefix = "/".join(key.split("/")[:3])
    listed = clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)
    return f"data capture: {listed} request/response records under s3://{bucket}/{prefix}/"


def api_url(stack: Any, execute_api: Any) -> str:
    """The local invoke URL of the stack's REST API and stage."""
    resources = stack.template["Resources"]
    api_id = next(
        stack.physical_ids[k]
        for k, r in resources.items()
        if r["Type"] == "AWS::ApiGateway::RestApi"
    )
    stage = next(
        r["Properties"]["StageName"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Stage"
    )
    return str(execute_api.invoke_url(api_id, stage))


def predict_through_api(
    api_url: str, rows: list[list[float]], max_rows: int, asynchronous: bool = False
) -> list[float]:
    """POST /predict over HTTP to the REST API (API Gateway -> Lambda -> endpoint); with
    ``asynchronous``, POST /predict-async and GET /predict-async/{id} until completed."""
    import urllib.request

    if asynchronous:
        return _predict_async_through_api(api_url, rows, max_rows)
    probabilities: list[float] = []
    for start in range(0, len(rows), max_rows):
        request = urllib.request.Request(  # noqa: S310 - a local http URL we started
            f"{api_url}/predict",
            data=json.dumps({"instances": rows[start : start + max_rows]}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = json.loads(response.read())
        probabilities.extend(float(p["probability"]) for p in body["predictions"])
    return probabilities


def _predict_async_through_api(api_url: str, rows: list[list[float]], max_rows: int) -> list[float]:
    import urllib.request

    def call(url: str, data: bytes | None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - a local http URL we started
            url,
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST" if data is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())

    probabilities: list[float] = []
    for start in range(0, len(rows), max_rows):
        body = json.dumps({"instances": rows[start : start + max_rows]}).encode()
        status, accepted = call(f"{api_url}/predict-async", body)
        if status != 202:
            raise RehearsalError(f"POST /predict-async over HTTP answered {status}")
        result_url = f"{api_url}/predict-async/{accepted['id']}"

        def completed(url: str = result_url) -> Any:
            status, answer = call(url, None)
            return answer if status == 200 and answer.get("status") == "completed" else None

        answer = wait_for(completed, 60.0, f"GET {result_url}")
        probabilities.extend(float(p["probability"]) for p in answer["predictions"])
    return probabilities


def measured(
    clients: Any,
    function: str,
    held_out: tuple[list[list[float]], list[int]],
    model: TrainedModel,
    max_rows: int,
) -> dict[str, float]:
    """Accuracy and AUC through the full path, checked against the training metrics."""
    from model_code.metrics import classification_metrics

    rows, labels = held_out
    probabilities = predict_through_lambda(clients, function, rows, max_rows)
    import numpy as np

    metrics = classification_metrics(np.array(labels), np.array(probabilities), model.threshold)
    for name, expected in (("accuracy", model.accuracy), ("roc_auc", model.auc)):
        if abs(metrics[name] - expected) > METRIC_TOLERANCE:
            raise RehearsalError(
                f"{name} through Lambda -> endpoint is {metrics[name]:.6f}, but training "
                f"measured {expected:.6f} for the {model.label} model"
            )
    return {"accuracy": metrics["accuracy"], "roc_auc": metrics["roc_auc"]}


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise RehearsalError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def log_lines(clients: Any, function_name: str) -> list[str]:
    try:
        events = clients.logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")
    except clients.logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events["events"]]
