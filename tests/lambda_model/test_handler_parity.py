"""The onnxruntime function answers as the inference API does with TensorFlow behind it: the
same status, headers and body for every request, good or bad (probabilities within the export's
bound), the same log line and metric, and the same error shapes for what fails inside."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml_constructs.inference_api.runtime import handler as front_door
from ml_constructs.lambda_model.runtime import handler as lambda_model
from ml_constructs.lambda_model.runtime import onnx_model
from tests.inference_api.conftest import FEATURES, MAX_ROWS, event, row
from tests.inference_api.test_handler import _BAD
from tests.lambda_model.conftest import call

BOUND = 1e-5


def _same_answer(evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Both handlers' answers to ``evt``, checked equal; (status, body)."""
    status, body, headers = call(front_door, evt)
    got_status, got_body, got_headers = call(lambda_model, evt)
    assert (got_status, got_headers) == (status, headers)
    if status != 200:
        assert got_body == body
        return status, body
    theirs, ours = body.pop("predictions"), got_body.pop("predictions")
    assert got_body == body  # model (endpoint, variant), request_id, inference_id
    assert [p["label"] for p in ours] == [p["label"] for p in theirs]
    assert set().union(*map(set, ours)) == {"probability", "label"}
    difference = np.abs(
        np.array([p["probability"] for p in ours]) - [p["probability"] for p in theirs]
    )
    assert difference.max() <= BOUND
    return status, {**body, "predictions": ours}


def test_the_held_out_rows_get_the_front_doors_answers(both: Any, trained: Any) -> None:
    rows = trained.test_features.astype(float).tolist()
    for start in range(0, len(rows), MAX_ROWS):
        chunk = rows[start : start + MAX_ROWS]
        status, body = _same_answer(event(instances=chunk, request_id=f"held-out-{start}"))
        assert status == 200 and len(body["predictions"]) == len(chunk)


def test_one_row_named_features_and_integers_answer_alike(
    both: Any, trained: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = list(trained.feature_names)
    monkeypatch.setenv("FEATURE_NAMES", ",".join(names))
    lambda_model.reset()
    front_door._config = None
    first = trained.test_features[0].astype(float).tolist()
    _same_answer(event(instances=[first]))
    _same_answer(event(instances=[dict(zip(reversed(names), reversed(first), strict=True))]))
    _same_answer(event(instances=[[round(v) for v in first]]))


@pytest.mark.parametrize(("evt", "status", "code", "field"), _BAD)
def test_every_malformed_request_gets_the_front_doors_error(
    both: Any, evt: dict[str, Any], status: int, code: str, field: str
) -> None:
    got_status, body = _same_answer(evt)
    assert (got_status, body["error"]["code"], body["error"]["field"]) == (status, code, field)


def test_an_event_that_is_not_a_request_and_a_missing_setting_answer_alike(
    both: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_answer(["not", "a", "dict"])  # type: ignore[arg-type]
    monkeypatch.delenv("FEATURE_COUNT")
    lambda_model.reset()
    front_door._config = None
    status, body = _same_answer(event(instances=[row()]))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "misconfigured" in body["error"]["message"]


def _log_and_metric(
    module: Any, evt: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], set[str]]:
    capsys.readouterr()
    module.lambda_handler(evt, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (log,) = [line for line in lines if line.get("message") == "request finished"]
    (emf,) = [line for line in lines if "_aws" in line]
    (metrics,) = emf["_aws"]["CloudWatchMetrics"]
    return log, {metric["Name"] for metric in metrics["Metrics"]} | {metrics["Namespace"]}


@pytest.mark.parametrize(
    "evt",
    [event(instances=[row()], request_id="ok"), event(body="{}", request_id="bad")],
    ids=["success", "client-error"],
)
def test_the_same_log_line_and_metric(
    both: Any, evt: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_model.get_model(lambda_model.get_config())  # the cold start is logged on its own
    theirs, their_metrics = _log_and_metric(front_door, evt, capsys)
    ours, our_metrics = _log_and_metric(lambda_model, evt, capsys)
    assert our_metrics == their_metrics
    assert set(theirs) <= set(ours)
    for key in ("level", "message", "service", "request_id", "outcome", "status", "rows"):
        assert ours.get(key) == theirs.get(key), key
    if ours["status"] == 200:
        assert set(ours) - set(theirs) == {"capture"}
        assert ours["capture"] == "off" and ours["variant"] == theirs["variant"]


# --- what fails inside the function ---------------------------------------------------------


class BrokenSession:
    """An onnxruntime session stand-in that fails, or answers the wrong number of rows."""

    def __init__(self, failure: Exception | None = None, rows: int = 0) -> None:
        self.failure, self.rows = failure, rows

    def run(self, outputs: list[str], feed: dict[str, Any]) -> list[Any]:
        if self.failure is not None:
            raise self.failure
        return [np.full((self.rows, 1), 0.5, dtype=np.float32)]


def _with_session(session: Any) -> None:
    model, _ = lambda_model.get_model(lambda_model.get_config())
    model.session = session


def test_a_failing_model_is_502_model_error_with_its_message(function_env: Any) -> None:
    _with_session(BrokenSession(RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT")))
    status, body, _ = call(lambda_model, event(instances=[row()]))
    assert (status, body["error"]["code"]) == (502, "model_error")
    assert body["error"]["message"] == (
        "the model rejected the request: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT"
    )


def test_a_wrong_number_of_predictions_is_502_as_at_the_front_door(function_env: Any) -> None:
    _with_session(BrokenSession(rows=1))
    status, body, _ = call(lambda_model, event(instances=[row(), row()]))
    assert (status, body["error"]["code"]) == (502, "upstream_error")
    assert body["error"]["message"] == "the model returned 1 predictions for 2 rows"


def test_an_unloadable_model_is_502_and_retried_on_the_next_request(
    function_env: Any, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "model.tar.gz"
    monkeypatch.setenv("MODEL_DATA_URL", str(missing))
    lambda_model.reset()
    status, body, _ = call(lambda_model, event(instances=[row()]))
    assert (status, body["error"]) == (
        502,
        {"code": "upstream_error", "message": "the model could not be loaded"},
    )
    missing.write_bytes(artifact.read_bytes())
    assert call(lambda_model, event(instances=[row()]))[0] == 200


def test_the_artifact_must_be_the_validated_one(
    function_env: Any, artifact: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("MODEL_SHA256", "0" * 64)
    lambda_model.reset()
    assert call(lambda_model, event(instances=[row()]))[0] == 502
    assert "not the validated" in capsys.readouterr().out
    monkeypatch.setenv("MODEL_SHA256", hashlib.sha256(artifact.read_bytes()).hexdigest())
    lambda_model.reset()
    assert call(lambda_model, event(instances=[row()]))[0] == 200


def test_a_model_of_another_width_is_refused_at_load(artifact: Path) -> None:
    with pytest.raises(onnx_model.ModelLoadError, match=r"takes 30 features.*configured for 29"):
        onnx_model.load(artifact.read_bytes(), FEATURES - 1)


def test_an_archive_without_model_onnx_is_refused_at_load(tmp_path: Path) -> None:
    from tests.model_promotion import artifacts

    with pytest.raises(onnx_model.ModelLoadError, match=r"lacks model\.onnx"):
        onnx_model.load(artifacts.build(), FEATURES)
    with pytest.raises(onnx_model.ModelLoadError, match="cannot be read"):
        onnx_model.load(b"\x1f\x8b not really gzip", FEATURES)


def test_the_threshold_comes_from_the_artifacts_serving_config(
    function_env: Any, trained: Any
) -> None:
    model, _ = lambda_model.get_model(lambda_model.get_config())
    assert model.threshold == trained.config.threshold == 0.5
    assert model.feature_names == trained.feature_names
