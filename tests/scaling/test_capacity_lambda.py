"""The capacity test of a Lambda-hosted model: the provisioned-concurrency arithmetic, the
flags' checks, and the ladder driving a function through moto and the docker-free runner."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml

from deploy_tools.capacity.cli import main
from deploy_tools.capacity.plan import (
    StepResult,
    concurrency_advice,
    function_target,
    invocation_outcome,
    proxy_event,
    recommended_provisioned_concurrency,
    reported_duration_ms,
)
from serving_config import ConfigError, load_settings

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

# --- the arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "duration_ms", "safety", "expected"),
    [
        (10, 100, 1.0, 1),  # 10/s x 0.1 s = 1 busy
        (10, 100, 0.5, 2),  # each environment busy half the time: twice as many
        (11, 100, 1.0, 2),  # 1.1 rounds up
        (7, 100, 1.0, 1),  # 0.7 rounds up to one
        (100, 250, 0.5, 50),  # 100 x 0.25 / 0.5
        (30, 70, 0.7, 3),  # exactly 3 (its float error, 3.0000000000000004, is not a 4th)
        (40, 37.5, 0.5, 3),  # 40 x 0.0375 / 0.5 = 3 exactly
        (1000, 1000, 0.5, 2000),  # above any default quota: computed, warned about elsewhere
        (0.001, 1, 0.5, 1),  # never below one
    ],
)
def test_provisioned_concurrency_is_rate_times_duration_over_safety_rounded_up(
    rate: float, duration_ms: float, safety: float, expected: int
) -> None:
    assert recommended_provisioned_concurrency(rate, duration_ms, safety) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 100, 0.5), "rate_per_s: 0"),
        ((-5, 100, 0.5), "rate_per_s: -5"),
        ((math.nan, 100, 0.5), "rate_per_s: nan"),
        ((math.inf, 100, 0.5), "rate_per_s: inf"),
        ((10, 0, 0.5), "duration_ms: 0"),
        ((10, 100, 0), r"safety_factor: 0 is outside \(0, 1\]"),
        ((10, 100, 1.5), r"safety_factor: 1.5 is outside"),
    ],
)
def test_provisioned_concurrency_bounds(args: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recommended_provisioned_concurrency(*args)


def _step(**overrides: Any) -> StepResult:
    base: dict[str, Any] = {
        "rate": 20.0,
        "achieved": 19.8,
        "requests": 40,
        "failures": 0,
        "p50_ms": 30.0,
        "p99_ms": 80.0,
        "max_ms": 90.0,
        "elapsed_s": 2.0,
    }
    return StepResult(**{**base, **overrides})


def test_advice_uses_the_function_duration_when_reported_else_the_round_trip() -> None:
    reported = concurrency_advice(_step(duration_p99_ms=40.0), 0.5)
    assert (reported.rate_per_s, reported.duration_ms) == (19.8, 40.0)
    assert reported.provisioned == 2  # ceil(19.8 x 0.04 / 0.5) = ceil(1.584)
    assert "REPORT Duration" in reported.duration_source
    round_trip = concurrency_advice(_step(), 0.5)
    assert round_trip.duration_ms == 80.0 and round_trip.provisioned == 4  # ceil(3.168)
    assert "upper bound" in round_trip.duration_source
    assert round_trip.warnings == ()
    assert "ceil(19.8/s x 0.080 s / 0.5) = 4" in round_trip.lines()[0]
    assert "a function can reserve at most 900" in round_trip.lines()[1]


def test_advice_sizes_the_configured_peak_and_warns() -> None:
    advice = concurrency_advice(
        _step(), 0.5, peak_rate=2000, reserved=100, provisioned=50, account_concurrency=1000
    )
    assert advice.provisioned == 320  # ceil(2000 x 0.08 / 0.5)
    assert advice.rate_source == "capacity.peak_requests_per_s"
    text = "\n".join(advice.warnings)
    assert "above the highest rate measured (19.8/s)" in text
    assert "320 exceeds the configured reserved concurrency 100" in text
    assert "provisioned concurrency 50 is below 320" in text
    assert "exceeds what one function" not in text  # 320 <= 900
    huge = concurrency_advice(_step(), 0.5, peak_rate=10_000, reserved=950)
    assert huge.provisioned == 1600
    text = "\n".join(huge.warnings)
    assert "1600 exceeds what one function can reserve or provision" in text and "(900" in text
    assert "reserved concurrency 950 exceeds the 900" in text


def test_invocation_outcomes_and_the_report_line() -> None:
    ok = json.dumps({"statusCode": 200, "body": "{}"}).encode()
    assert invocation_outcome(None, ok) == ("ok", "")
    assert invocation_outcome("Unhandled", b'{"errorMessage": "boom"}')[0] == "error"
    assert invocation_outcome(None, b'{"statusCode": 502, "body": "x"}')[0] == "error"
    assert invocation_outcome(None, b'{"statusCode": 400, "body": "x"}')[0] == "error"
    assert invocation_outcome(None, b'{"statusCode": 429, "body": "slow"}') == (
        "throttled",
        "statusCode 429: slow",
    )
    assert invocation_outcome(None, b"null")[0] == "error"
    tail = "START RequestId: a\nREPORT RequestId: a\tDuration: 12.34 ms\tBilled Duration: 13 ms\n"
    assert reported_duration_ms(base64.b64encode(tail.encode()).decode()) == 12.34
    assert reported_duration_ms(base64.b64encode(b"no report").decode()) is None
    assert reported_duration_ms(None) is None


def test_the_proxy_event_passes_the_functions_request_checks() -> None:
    from serving_core.predict_request import parse_request

    limits = SimpleNamespace(
        feature_count=2, feature_names=("a", "b"), max_rows=10, max_payload_bytes=10_000
    )
    parsed = parse_request(proxy_event('{"instances": [[1.0, 2.0]]}', "r-1"), limits)
    assert parsed.rows == 1


# --- the flags and the configuration --------------------------------------------------------


ARN = "arn:aws:lambda:eu-west-1:123456789012:function:model"


def test_function_targets() -> None:
    arn = ARN
    assert function_target(f"{arn}:live", None) == (arn, "live", "eu-west-1")
    assert function_target(f"{arn}:live", "live") == (arn, "live", "eu-west-1")
    assert function_target("model", "7") == ("model", "7", "")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--function-name", "model"], "--qualifier: name the alias (e.g. --qualifier live)"),
        (["--function-name", "model", "--qualifier", "$LATEST"], "never on $LATEST"),
        (["--function-name", "model:live", "--qualifier", "blue"], "differs from the 'live'"),
        (["--function-name", "no spaces", "--qualifier", "live"], "is not a function name"),
        (["--function-name", "model", "--qualifier", "a/b"], "is not an alias or version"),
        (
            ["--function-name", f"{ARN}:live", "--region", "us-east-1"],
            "--region: us-east-1 differs from the eu-west-1",
        ),
        (["--qualifier", "live", "--url", "http://x"], "--qualifier need"),
        (["--reserved-concurrency", "5"], "--reserved-concurrency need"),
        (["--function-name", "m", "--qualifier", "live", "--write-config", "dev"], "yourself"),
        (["--function-name", "m", "--qualifier", "live", "--instances", "2"], "no instances"),
        (["--function-name", "m", "--qualifier", "live", "--peak-rate", "0"], "--peak-rate: 0"),
        (
            ["--function-name", "m", "--qualifier", "live", "--reserved-concurrency", "-1"],
            "--reserved-concurrency: -1 must be at least 0",
        ),
        (
            ["--function-name", "m", "--qualifier", "live", "--account-concurrency", "100"],
            "--account-concurrency: 100 must be above 100",
        ),
        (["--function-name", "m", "--url", "http://x"], "not allowed with argument"),
    ],
)
def test_bad_function_flags_name_the_problem(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--env", "local", *flags])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, r"capacity.peak_requests_per_s: 0.0 is outside \(0, 100000\]"),
        ("fast", r"capacity.peak_requests_per_s: expected a number, got 'fast'"),
    ],
)
def test_bad_peak_rate_names_the_field(tmp_path: Path, value: Any, message: str) -> None:
    document = {"capacity": {"peak_requests_per_s": value}}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)


def test_peak_rate_is_read(tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"capacity": {"peak_requests_per_s": 250}}))
    assert load_settings("test", tmp_path).capacity.peak_requests_per_s == 250.0
    assert load_settings("local").capacity.peak_requests_per_s is None


# --- against moto and the docker-free runner ------------------------------------------------

HANDLER = """
import json, os, time

def handler(event, context):
    rows = json.loads(event["body"])["instances"]
    if event["httpMethod"] != "POST" or event["path"] != "/predict":
        return {"statusCode": 404, "body": "{}"}
    time.sleep(0.02)  # a model's 20 ms
    status = int(os.environ["ANSWER"])
    body = {"predictions": [{"probability": 0.5, "label": 1} for _ in rows]}
    return {"statusCode": status, "body": json.dumps(body)}
"""


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from rehearsal import moto_gaps
    from rehearsal.moto_gaps import lambda_runner

    moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    lambda_runner.RUNNER.configure(
        lambda_runner.RunnerSettings(endpoint_url=url, workdir=tmp_path_factory.mktemp("runner"))
    )
    yield url
    server.stop()
    moto_gaps.uninstall()


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _alias(url: str, name: str, answer: int = 200) -> str:
    """A function echoing one prediction per row (answering ``answer``), published, with the
    alias live on that version; its ARN."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    role = _client("iam", url).create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    functions = _client("lambda", url)
    functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=10,
        Environment={"Variables": {"ANSWER": str(answer)}},
    )
    version = functions.publish_version(FunctionName=name)["Version"]
    return str(
        functions.create_alias(FunctionName=name, Name="live", FunctionVersion=version)["AliasArn"]
    )


#: What the ladder tests need to pass on a busy 2-core machine (the suite runs rehearsals beside
#: them): they check that the ladder drives the function and what it recommends, not speed.
LENIENT = {"latency_p99_ms": 10_000.0, "min_achieved_fraction": 0.5}


@pytest.fixture
def lenient_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The capacity CLI reads ``local`` with bounds no load on this machine breaks."""
    from deploy_tools.capacity import cli

    def load(name: str, *args: Any, **kwargs: Any) -> Any:
        settings = load_settings(name, *args, **kwargs)
        return dataclasses.replace(
            settings, capacity=dataclasses.replace(settings.capacity, **LENIENT)
        )

    monkeypatch.setattr(cli, "load_settings", load)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The load process's boto3 signs with these (moto does not check them)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def _invocations(name: str) -> int:
    from rehearsal.moto_gaps import lambda_runner

    return sum(1 for i in lambda_runner.RUNNER.invocations if i.function_name == name)


@pytest.mark.slow
def test_the_ladder_drives_the_alias_and_recommends_provisioned_concurrency(
    moto_url: str,
    data_dir: Path,
    tmp_path: Path,
    credentials: None,
    lenient_bounds: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _alias(moto_url, "capacity-echo")
    out = tmp_path / "result.json"
    code = main(
        [
            "--env", "local",
            "--function-name", "capacity-echo",
            "--qualifier", "live",
            "--endpoint-url", moto_url,
            "--region", REGION,
            "--rows", str(data_dir / "test.csv"),
            "--rates", "5,10",
            "--step-s", "1",
            "--peak-rate", "2000",
            "--reserved-concurrency", "2",
            "--json", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    result = json.loads(out.read_text())
    steps = result["steps"]
    assert [s["rate"] for s in steps] == [5, 10]
    assert all(s["errors"] == 0 and s["throttled"] == 0 and s["requests"] > 0 for s in steps)
    assert _invocations("capacity-echo") >= sum(s["requests"] for s in steps)
    assert "duration p99 ms  throttled  errors" in printed  # the step table, Lambda's columns
    assert "Lambda function capacity-echo:live" in printed
    sustained = steps[-1]
    assert result["sustained_rate"] == sustained["achieved"]
    advice = result["advice"]
    # the time in the function: the REPORT lines' Duration (the runner writes them as Lambda
    # does), not the longer Invoke round trip
    duration = sustained["duration_p99_ms"]
    assert 20 <= duration <= sustained["p99_ms"] and advice["duration_ms"] == duration
    expected = recommended_provisioned_concurrency(2000, duration, 0.5)
    assert result["recommended_provisioned_concurrency"] == expected >= 80  # 2000 x 0.02 / 0.5
    assert "recommended provisioned concurrency = ceil(2000/s x" in printed
    assert f"{expected} exceeds the configured reserved concurrency 2" in printed


@pytest.mark.slow
def test_throttles_and_errors_are_counted_apart(
    moto_url: str, data_dir: Path, tmp_path: Path, credentials: None
) -> None:
    for name, answer in (("capacity-throttled", 429), ("capacity-failing", 502)):
        arn = _alias(moto_url, name, answer)
        out = tmp_path / f"{name}.json"
        code = main(
            [
                "--env", "local",
                "--function-name", arn,  # the alias ARN carries the qualifier and region
                "--endpoint-url", moto_url,
                "--rows", str(data_dir / "test.csv"),
                "--rates", "5,10",
                "--step-s", "0.5",
                "--json", str(out),
            ]
        )  # fmt: skip
        result = json.loads(out.read_text())
        assert code == 1 and result["recommended_provisioned_concurrency"] is None
        (step,) = result["steps"]  # the ladder stops at the first failing rate
        assert step["failures"] == step["requests"] > 0
        if answer == 429:
            assert step["throttled"] == step["requests"] and step["errors"] == 0
            assert "throttled (429)" in result["stopped"]
        else:
            assert step["errors"] == step["requests"] and step["throttled"] == 0
            assert "statusCode 502" in step["first_error"]
