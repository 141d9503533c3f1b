"""``python -m deploy_tools.capacity``: measure, print the table, recommend the target, and
optionally write it into an environment's YAML.

Targets: the local model server by default (started from ``--model`` for the run), a running
server's container route (``--url``), or a SageMaker endpoint by name (``--endpoint-name``,
boto3 InvokeEndpoint with the caller's credentials; ``--endpoint-url`` points boto3 at a
runtime-compatible local server), or a Lambda-hosted model (``--function-name NAME
--qualifier live``: boto3 Invoke of the alias with API Gateway's proxy event of ``POST
/predict``; ``--endpoint-url`` points boto3 at a Lambda-compatible local server), for which it
recommends the provisioned concurrency instead. The load goes only there, for at most the
ladder's steps and ``max_requests`` requests.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deploy_tools.capacity.config_file import write_target
from deploy_tools.capacity.plan import (
    ACCOUNT_CONCURRENCY_DEFAULT,
    UNRESERVED_MINIMUM,
    CapacityError,
    Outcome,
    Plan,
    concurrency_advice,
    function_target,
    judge,
    plan_from,
    recommended_target,
    request_bodies,
    steps_from_json,
    table,
)
from serving_config import ConfigError, load_settings
from serving_config.capacity import CapacitySettings

REPO = Path(__file__).resolve().parents[2]
#: The rehearsal's first model of each framework (``.rehearsal/models/<framework>/``).
REHEARSAL_MODELS = REPO / ".rehearsal" / "models"


def default_model(framework: str) -> Path:
    """The rehearsal's initial model of the environment's ``model.framework``."""
    return REHEARSAL_MODELS / framework / "initial" / "model.tar.gz"


DEFAULT_ROWS = REPO / ".rehearsal" / "data" / "test.csv"
#: The only module that imports Locust; it runs as a process of its own.
LOAD_MODULE = "deploy_tools.capacity.load"


def measure(
    plan: Plan, timeout_s: float | None = None, env: dict[str, str] | None = None
) -> Outcome:
    """Run the plan in a Locust process of its own (``env``: extra environment, such as the
    credentials boto3 signs with) and judge its steps."""
    budget = timeout_s or len(plan.rates) * (plan.step_s + 5) + 60
    with tempfile.TemporaryDirectory(prefix="capacity-") as scratch:
        plan_path, result_path = Path(scratch, "plan.json"), Path(scratch, "result.json")
        plan_path.write_text(plan.to_json(), encoding="utf-8")
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    LOAD_MODULE,
                    str(plan_path),
                    str(result_path),
                ],
                cwd=REPO,
                env={**os.environ, **(env or {})},
                capture_output=True,
                text=True,
                timeout=budget,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CapacityError(
                f"the load process ran past {budget:.0f} s and was stopped"
            ) from None
        if done.returncode != 0 or not result_path.exists():
            raise CapacityError(f"the load process failed:\n{done.stderr[-2000:]}")
        return judge(plan, steps_from_json(result_path.read_text(encoding="utf-8")))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_model_server(model: Path, timeout_s: float = 120.0) -> Iterator[str]:
    """``python -m model_code.local_server`` on a free port for the run; yields its URL."""
    if not model.exists():
        raise CapacityError(
            f"--model: {model} does not exist (train one: `python -m rehearsal`, or pass --url "
            "or --endpoint-name)"
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "model_code.local_server",
            "--model-dir",
            str(model),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                output = server.stderr.read() if server.stderr else ""
                raise CapacityError(f"the local model server exited: {output[-1000:]}")
            try:
                with urllib.request.urlopen(url + "/ping", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise CapacityError(f"the local model server did not answer /ping in {timeout_s} s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _rates(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of rates"
        ) from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy_tools.capacity",
        description="Find the highest request rate an endpoint sustains within the p99 latency "
        "objective with no errors, and the target_invocations_per_instance that follows.",
    )
    parser.add_argument("--env", default="dev", help="environment whose capacity: section is used")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="a running model server: POST URL/invocations")
    target.add_argument("--endpoint-name", help="a SageMaker endpoint (boto3 InvokeEndpoint)")
    target.add_argument(
        "--function-name",
        help="a Lambda-hosted model (boto3 Invoke with a POST /predict proxy event): a name, an "
        "ARN or a partial ARN; with --qualifier unless the ARN carries one",
    )
    target.add_argument(
        "--model",
        type=Path,
        help="serve this model locally for the run (default: the rehearsal's, "
        f"{REHEARSAL_MODELS.relative_to(REPO)}/<model.framework>/initial/model.tar.gz)",
    )
    parser.add_argument(
        "--region", help="the endpoint's or function's region (default: the environment's)"
    )
    parser.add_argument(
        "--endpoint-url",
        help="a SageMaker-runtime-compatible URL (with --endpoint-name) or a Lambda-compatible "
        "one (with --function-name)",
    )
    lambda_flags = parser.add_argument_group("Lambda-hosted model (with --function-name)")
    lambda_flags.add_argument("--qualifier", help="the alias or version to drive, e.g. live")
    lambda_flags.add_argument(
        "--peak-rate",
        type=float,
        help="requests/s to size provisioned concurrency for (default: capacity."
        "peak_requests_per_s, else the sustained rate)",
    )
    lambda_flags.add_argument(
        "--reserved-concurrency",
        type=int,
        help="the function's configured reserved concurrency, to check the recommendation against",
    )
    lambda_flags.add_argument(
        "--provisioned-concurrency",
        type=int,
        help="the alias's configured provisioned concurrency, to compare",
    )
    lambda_flags.add_argument(
        "--account-concurrency",
        type=int,
        default=ACCOUNT_CONCURRENCY_DEFAULT,
        help="the account's concurrent executions quota in the Region (default "
        f"{ACCOUNT_CONCURRENCY_DEFAULT}, Lambda's default; GetAccountSettings has yours)",
    )
    parser.add_argument("--rows", type=Path, default=DEFAULT_ROWS, help="held-out rows (CSV)")
    parser.add_argument("--rates", type=_rates, help="offered rates per second, e.g. 5,10,20")
    parser.add_argument("--step-s", type=float, help="seconds per rate")
    parser.add_argument("--max-requests", type=int, help="request budget of the run")
    parser.add_argument("--users", type=int, help="virtual users sharing each rate")
    parser.add_argument("--latency-p99-ms", type=float, help="the p99 objective")
    parser.add_argument(
        "--instances", type=int, default=1, help="instances serving during the run (default 1)"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--write-config",
        metavar="ENV",
        help="write the recommended target into serving_config/environments/ENV.yaml",
    )
    args = parser.parse_args(argv)
    remote = args.endpoint_name or args.function_name
    if args.endpoint_url and not remote:
        parser.error("--endpoint-url needs --endpoint-name or --function-name")
    if args.region and not remote:
        parser.error("--region needs --endpoint-name or --function-name")
    if args.instances < 1:
        parser.error(f"--instances: {args.instances} must be at least 1")
    if args.function_name:
        _check_function_flags(parser, args)
    else:
        given = [
            flag
            for flag, value in (
                ("--qualifier", args.qualifier),
                ("--peak-rate", args.peak_rate),
                ("--reserved-concurrency", args.reserved_concurrency),
                ("--provisioned-concurrency", args.provisioned_concurrency),
            )
            if value is not None
        ]
        if args.account_concurrency != ACCOUNT_CONCURRENCY_DEFAULT:
            given.append("--account-concurrency")
        if given:
            parser.error(f"{', '.join(given)} need(s) --function-name")
    return args


def _check_function_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        args.function_name, args.qualifier, arn_region = function_target(
            args.function_name, args.qualifier
        )
    except CapacityError as error:
        parser.error(str(error))
    if arn_region and args.region and args.region != arn_region:
        parser.error(f"--region: {args.region} differs from the {arn_region} of --function-name")
    args.region = args.region or arn_region or None
    if args.instances != 1:
        parser.error("--instances: a Lambda function has no instances (leave it out)")
    if args.write_config:
        parser.error(
            "--write-config writes a SageMaker endpoint's target_invocations_per_instance; "
            "with --function-name set the recommended provisioned concurrency in the lambda "
            "kind's configuration yourself"
        )
    if args.peak_rate is not None and not 0 < args.peak_rate <= 100_000:
        parser.error(f"--peak-rate: {args.peak_rate:g} is outside (0, 100000] requests per second")
    if args.reserved_concurrency is not None and args.reserved_concurrency < 0:
        parser.error(f"--reserved-concurrency: {args.reserved_concurrency} must be at least 0")
    if args.provisioned_concurrency is not None and args.provisioned_concurrency < 0:
        parser.error(
            f"--provisioned-concurrency: {args.provisioned_concurrency} must be at least 0"
        )
    if args.account_concurrency <= UNRESERVED_MINIMUM:
        parser.error(
            f"--account-concurrency: {args.account_concurrency} must be above "
            f"{UNRESERVED_MINIMUM} (Lambda keeps {UNRESERVED_MINIMUM} unreserved)"
        )


def _describe_target(args: argparse.Namespace, url: str) -> str:
    if args.function_name:
        where = f"at {args.endpoint_url}" if args.endpoint_url else f"in {args.region}"
        return f"Lambda function {args.function_name}:{args.qualifier} ({where})"
    if args.endpoint_name and not args.endpoint_url:
        return f"SageMaker endpoint {args.endpoint_name} ({args.region or 'default region'})"
    if args.endpoint_name:
        return f"the runtime API at {args.endpoint_url} (endpoint {args.endpoint_name})"
    if args.url:
        return f"the model server at {url}"
    return "the local model server (one process on this machine, not a SageMaker instance)"


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.env)
    overrides = {
        name: value
        for name, value in (
            ("rates", args.rates),
            ("step_s", args.step_s),
            ("max_requests", args.max_requests),
            ("users", args.users),
            ("latency_p99_ms", args.latency_p99_ms),
        )
        if value is not None
    }
    capacity = dataclasses.replace(settings.capacity, **overrides)
    capacity.validate("capacity")  # flags are checked like the file
    bodies = request_bodies(args.rows, settings.model.feature_count)
    remote = args.endpoint_name or args.function_name
    args.region = args.region or (settings.region if remote else None)
    args.model = args.model or default_model(settings.model.framework)
    with _target(args) as target:
        plan = plan_from(capacity, bodies, **target)
        print(
            f"capacity test of {_describe_target(args, plan.url)}: rates {list(plan.rates)}/s, "
            f"{plan.step_s:g} s each, at most {plan.max_requests} requests, p99 objective "
            f"{plan.latency_p99_ms:g} ms",
            flush=True,
        )
        outcome = measure(plan)
    print(table(outcome.steps, plan))
    if args.function_name:
        return _report_function(args, capacity, plan, outcome)
    result = {
        "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "target": _describe_target(args, plan.url),
        "instances": args.instances,
        "steps": [dataclasses.asdict(s) for s in outcome.steps],
        "stopped": outcome.stopped,
        "sustained_rate": None,
        "recommended_target_invocations_per_instance": None,
    }
    code = 0
    if outcome.sustained is None:
        print(f"no rate sustained ({outcome.stopped}): nothing to recommend")
        code = 1
    else:
        per_instance = outcome.sustained.achieved / args.instances
        recommended = recommended_target(per_instance, capacity.safety_factor)
        result["sustained_rate"] = per_instance
        result["recommended_target_invocations_per_instance"] = recommended
        ceiling = "" if outcome.stopped else " (the ladder's top: the capacity may be higher)"
        print(
            f"sustained: {per_instance:.1f} requests/s per instance at offered "
            f"{outcome.sustained.rate:g}/s, p99 {outcome.sustained.p99_ms:.0f} ms{ceiling}"
        )
        print(
            f"recommended target_invocations_per_instance = {per_instance:.1f} x 60 x "
            f"{capacity.safety_factor:g} = {recommended}"
        )
        if args.write_config:
            comment = (
                f"measured {result['measured_at']} by deploy_tools.capacity on "
                f"{_describe_target(args, plan.url)}: {per_instance:.1f}/s per instance "
                f"within p99 {capacity.latency_p99_ms:g} ms, x 60 x {capacity.safety_factor:g}"
            )
            path = write_target(args.write_config, recommended, comment)
            print(f"wrote target_invocations_per_instance: {recommended} into {path}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return code


def _report_function(
    args: argparse.Namespace, capacity: CapacitySettings, plan: Plan, outcome: Outcome
) -> int:
    """The Lambda mode's verdict: the sustained rate and the provisioned concurrency."""
    result: dict[str, Any] = {
        "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "target": _describe_target(args, plan.url),
        "steps": [{**dataclasses.asdict(s), "errors": s.errors} for s in outcome.steps],
        "stopped": outcome.stopped,
        "sustained_rate": None,
        "recommended_provisioned_concurrency": None,
    }
    code = 0
    if outcome.sustained is None:
        print(f"no rate sustained ({outcome.stopped}): nothing to recommend")
        code = 1
    else:
        sustained = outcome.sustained
        peak = args.peak_rate if args.peak_rate is not None else capacity.peak_requests_per_s
        advice = concurrency_advice(
            sustained,
            capacity.safety_factor,
            peak_rate=peak,
            reserved=args.reserved_concurrency,
            provisioned=args.provisioned_concurrency,
            account_concurrency=args.account_concurrency,
        )
        ceiling = "" if outcome.stopped else " (the ladder's top: the capacity may be higher)"
        print(
            f"sustained: {sustained.achieved:.1f} requests/s at offered {sustained.rate:g}/s, "
            f"p99 {sustained.p99_ms:.0f} ms, 0 errors, 0 throttled{ceiling}"
        )
        for line in advice.lines():
            print(line)
        result.update(
            sustained_rate=sustained.achieved,
            recommended_provisioned_concurrency=advice.provisioned,
            advice={**dataclasses.asdict(advice), "reservable": advice.reservable},
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return code


@contextmanager
def _target(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    if args.function_name:
        yield {
            "mode": "lambda",
            "function_name": args.function_name,
            "qualifier": args.qualifier,
            "region": args.region or "",
            "endpoint_url": args.endpoint_url or "",
        }
    elif args.endpoint_name:
        yield {
            "mode": "runtime",
            "endpoint_name": args.endpoint_name,
            "region": args.region or "",
            "endpoint_url": args.endpoint_url or "",
        }
    elif args.url:
        yield {"mode": "http", "url": args.url.rstrip("/")}
    else:
        with local_model_server(args.model) as url:
            yield {"mode": "http", "url": url}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (CapacityError, ConfigError) as error:
        print(f"capacity: {error}", file=sys.stderr)
        return 2
