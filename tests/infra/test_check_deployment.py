"""The pipeline's prediction check: held-out rows through the SigV4 client, floors on accuracy
and AUC, and any failed request failing the check."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deploy_tools import check_deployment
from tests.local_servers import POLL_S

# The first feature is the stand-in model's probability: 6 of 8 right at 0.5, AUC 15/16.
FEATURES = [0.05, 0.2, 0.35, 0.6, 0.4, 0.7, 0.8, 0.95]
LABELS = [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.fixture
def api() -> Iterator[dict[str, Any]]:
    """A stand-in of POST /predict: probability = the first feature; ``fail`` answers 500."""
    state: dict[str, Any] = {"requests": [], "fail": False}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append({"headers": dict(self.headers), "body": body})
            if state["fail"]:
                status = 500
                reply: dict[str, Any] = {"error": {"code": "internal", "message": "boom"}}
            else:
                status = 200
                reply = {
                    "predictions": [
                        {"probability": row[0], "label": int(row[0] >= 0.5)}
                        for row in body["instances"]
                    ],
                    "model": {"variant": "AllTraffic"},
                }
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
    ).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/v1/predict"
    yield state
    server.shutdown()
    server.server_close()


def held_out(tmp_path: Path) -> Path:
    path = tmp_path / "held-out.csv"
    lines = ["p,other,label"] + [
        f"{f},{i},{y}" for i, (f, y) in enumerate(zip(FEATURES, LABELS, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(api: dict[str, Any], rows: Path, *floors: str) -> int:
    return check_deployment.main(
        ["--url", api["url"], "--rows", str(rows), "--batch-size", "3", *floors]
    )


def test_passes_at_the_floors_and_signs_every_batch(
    api: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(api, held_out(tmp_path), "--min-accuracy", "0.75", "--min-auc", "0.9375")
    assert status == 0, capsys.readouterr().err
    assert "accuracy 0.7500" in capsys.readouterr().out
    assert [len(r["body"]["instances"]) for r in api["requests"]] == [3, 3, 2]
    assert all(
        r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256") for r in api["requests"]
    )
    # The label column is not sent; the features keep their order.
    assert api["requests"][0]["body"]["instances"][1] == [0.2, 1.0]


@pytest.mark.parametrize(
    ("floors", "message"),
    [
        (["--min-accuracy", "0.8", "--min-auc", "0.5"], r"accuracy 0.7500 is below the floor 0.8"),
        (["--min-accuracy", "0.5", "--min-auc", "0.95"], r"ROC AUC 0.9375 is below the floor 0.95"),
    ],
)
def test_below_a_floor_fails(
    api: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    floors: list[str],
    message: str,
) -> None:
    assert run(api, held_out(tmp_path), *floors) == 1
    assert message in capsys.readouterr().err.replace("  ", " ")


def test_a_failed_request_fails_the_check(
    api: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api["fail"] = True
    assert run(api, held_out(tmp_path), "--min-accuracy", "0.5", "--min-auc", "0.5") == 1
    assert "a request failed" in capsys.readouterr().err


def test_bad_input_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_label = tmp_path / "rows.csv"
    one_label.write_text("a,label\n1,1\n2,1\n")
    common = ["--url", "https://x.execute-api.eu-west-1.amazonaws.com/v1/predict"]
    floors = ["--min-accuracy", "0.5", "--min-auc", "0.5"]
    assert check_deployment.main([*common, "--rows", str(one_label), *floors]) == 2
    assert "needs rows of both labels" in capsys.readouterr().err
    no_label = tmp_path / "features.csv"
    no_label.write_text("a,b\n1,2\n")
    assert check_deployment.main([*common, "--rows", str(no_label), *floors]) == 2
    assert "no 'label' column" in capsys.readouterr().err


def test_auc_matches_scikit_learn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    generator = random.Random(7)
    for _ in range(20):
        labels = [generator.randint(0, 1) for _ in range(60)] + [0, 1]
        scores = [round(generator.random(), 1) for _ in labels]  # many ties
        assert check_deployment.roc_auc(labels, scores) == pytest.approx(
            roc_auc_score(labels, scores), abs=1e-12
        )


def test_a_short_answer_is_a_problem() -> None:
    outcome = check_deployment.evaluate(
        [0, 1], [{"probability": 0.1, "label": 0}], min_accuracy=0.5, min_auc=0.5
    )
    assert outcome.problems == ("the API answered 1 predictions for 2 rows",)
