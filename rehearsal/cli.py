"""``python -m rehearsal``: the whole product on one machine, no AWS account, no docker.

Trains (or reuses) the model, synthesizes the app for the ``local`` environment, deploys both
stacks into moto on 127.0.0.1, serves the real model behind the SageMaker runtime API, predicts
through the deployed inference function, promotes a second model, rejects a corrupt one, and
reports every resource and every step's time. Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rehearsal import artifacts
from rehearsal.artifacts import CANDIDATE, INITIAL, TrainedModel
from serving_config import ConfigError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO / ".rehearsal"
METRIC_TOLERANCE = 1e-6
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


class RehearsalError(RuntimeError):
    """A step failed; the message says which check and what was seen."""


@dataclass
class Timeline:
    """Prints each step as it starts and ends; keeps (number, step, seconds, result)."""

    total_steps: int
    steps: list[tuple[int, str, float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _next: int = 1

    def begin(self, title: str) -> tuple[int, str, float]:
        """Announce the next step; pass the result to :meth:`end` (steps may overlap)."""
        number, self._next = self._next, self._next + 1
        print(f"\n[{number}/{self.total_steps}] {title} ...", flush=True)
        return number, title, time.perf_counter()

    def end(self, started: tuple[int, str, float], result: str, ended: float | None = None) -> None:
        """Record a step; ``ended`` (a ``time.perf_counter()``) when it ended before now."""
        number, title, began = started
        seconds = max(0.0, (ended if ended is not None else time.perf_counter()) - began)
        self.steps.append((number, title, seconds, result))
        print(f"    [{number}] done in {seconds:.1f} s: {result}", flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[dict[str, str]]:
        started = self.begin(title)
        outcome: dict[str, str] = {"result": "ok"}
        try:
            yield outcome
        except BaseException:
            number, _, began = started
            self.steps.append((number, title, time.perf_counter() - began, "FAILED"))
            raise
        self.end(started, outcome["result"])

    def summary(self) -> str:
        from rehearsal.report import table

        rows = [
            (f"{n}. {t}", f"{s:6.1f} s", r) for n, t, s, r in sorted(self.steps, key=lambda x: x[0])
        ]
        rows.append(("total wall time", f"{time.perf_counter() - self.started:6.1f} s", ""))
        return table(("step", "time", "result"), rows, max_width=90)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0 picks a free one)")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-3600 seconds")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Deploy the product into a local moto and prove it end to end.",
    )
    parser.add_argument("--env", default="local", help="environment config (default: local)")
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="scratch folder (default .rehearsal)"
    )
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument(
        "--skip-train",
        "--reuse",
        dest="skip_train",
        action="store_true",
        help="use the models trained before even if their inputs changed",
    )
    reuse.add_argument("--retrain", action="store_true", help="train even if up to date")
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="keep moto and the model server up at the end (Ctrl-C stops them)",
    )
    parser.add_argument("--port", type=_port, default=0, help="moto's port (default: a free one)")
    parser.add_argument(
        "--no-iam",
        dest="enforce_iam",
        action="store_false",
        help="do not authorize requests (by default every function call is signed with the "
        "function's execution role and checked against its policies)",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=60.0, help="seconds to wait for each asynchronous check"
    )
    return parser.parse_args(argv)


def _prewarm_tensorflow() -> threading.Thread:
    """Import TensorFlow while synth and deployment run: it costs seconds and the model
    server needs it in step 5."""

    def load() -> None:
        import tensorflow  # noqa: F401

    thread = threading.Thread(target=load, name="import-tensorflow", daemon=True)
    thread.start()
    return thread


def _clients(
    endpoint_url: str, region: str, credentials: dict[str, str | None] | None = None
) -> SimpleNamespace:
    import boto3

    chosen: dict[str, str | None] = {**CREDENTIALS, **(credentials or {})}
    session = boto3.session.Session(
        aws_access_key_id=chosen["aws_access_key_id"],
        aws_secret_access_key=chosen["aws_secret_access_key"],
        aws_session_token=chosen["aws_session_token"],
        region_name=region,
    )

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    return SimpleNamespace(
        session=session,
        s3=client("s3"),
        ssm=client("ssm"),
        cloudformation=client("cloudformation"),
        sagemaker=client("sagemaker"),
        lambda_=client("lambda"),
        logs=client("logs"),
        cloudwatch=client("cloudwatch"),
        autoscaling=client("application-autoscaling"),
        sqs=client("sqs"),
    )


def _function_with_variable(stack: Any, variable: str) -> str | None:
    """Physical name of the stack's Lambda function whose environment defines ``variable``."""
    for logical_id, resource in stack.template.get("Resources", {}).items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if variable in variables:
            return str(stack.physical_ids.get(logical_id))
    return None


def predict_through_lambda(
    clients: Any, function_name: str, rows: list[list[float]], max_rows: int
) -> list[float]:
    """POST /predict through the deployed function (API Gateway proxy events), batch by batch."""
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
        if response.get("FunctionError") or payload.get("statusCode") != 200:
            raise RehearsalError(f"the inference function answered {str(payload)[:500]}")
        body = json.loads(payload["body"])
        probabilities.extend(float(p["probability"]) for p in body["predictions"])
    return probabilities


def _iam_probe(moto_url: str, region: str, account: str, stack: Any, parameter: str) -> str:
    """Show that IAM is enforced: the inference function's role may not write the SSM
    parameter that names the serving model (only publish and promotion may)."""
    from botocore.exceptions import ClientError

    from rehearsal.moto_gaps import iam

    role_id = next(
        logical
        for logical, r in stack.template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and logical.startswith("InferenceApiFunctionRole")
    )
    role_arn = f"arn:aws:iam::{account}:role/{stack.physical_ids[role_id]}"
    credentials = iam.role_credentials(account, region, role_arn, "rehearsal-probe")
    ssm = _clients(moto_url, region, dict(iam.as_client_kwargs(credentials))).ssm
    try:
        ssm.put_parameter(Name=parameter, Value="s3://x/y", Type="String", Overwrite=True)
    except ClientError as error:
        text = f"{error.response['Error'].get('Code', '')} {error}"
        if "AccessDenied" in text or "not authorized" in text:
            return "IAM enforced (probe: the inference role's ssm:PutParameter is denied)"
        raise
    raise RehearsalError("IAM is not enforced: the inference role could write the model pointer")


def _capture_summary(clients: Any, runtime: Any) -> str:
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


def _api_url(stack: Any, execute_api: Any) -> str:
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


def predict_through_api(api_url: str, rows: list[list[float]], max_rows: int) -> list[float]:
    """POST /predict over HTTP to the REST API (API Gateway -> Lambda -> endpoint)."""
    import urllib.request

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


def _wait(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise RehearsalError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _log_lines(clients: Any, function_name: str) -> list[str]:
    try:
        events = clients.logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")
    except clients.logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events["events"]]


def run(args: argparse.Namespace) -> int:
    from serving_config import load_settings

    settings = load_settings(args.env)
    if not (settings.account and settings.region):
        raise RehearsalError(
            f"environment {args.env!r} names no account and region; the rehearsal deploys "
            "environment-specific templates (use --env local)"
        )
    account, region = settings.account, settings.region
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    import shutil

    for stale in (workdir / "lambda" / "logs", workdir / "served"):  # per-run outputs
        shutil.rmtree(stale, ignore_errors=True)
    timeline = Timeline(total_steps=9)
    cleanup: list[Callable[[], None]] = []
    print(f"Local rehearsal of environment {args.env!r} (moto, no AWS account, no docker)")

    try:
        tensorflow_import = _prewarm_tensorflow()
        training = timeline.begin(
            "Train and package the models (in background processes; reused when up to date)"
        )
        background = artifacts.start_training(
            workdir, (INITIAL, CANDIDATE), force=args.retrain, reuse_only=args.skip_train
        )
        with timeline.step(
            "Synthesize the app for the local environment (while step 1 runs)"
        ) as out:
            from rehearsal.deployment import synthesize

            stacks = synthesize(args.env, workdir / "cdk.out")
            out["result"] = (
                f"{', '.join(s.name for s in stacks)} (cdk-nag AwsSolutions checks passed)"
            )
        models = background.wait()
        corrupt = artifacts.corrupt_artifact(workdir)
        held_out = artifacts.held_out_rows(workdir / "data" / "test.csv")
        timeline.end(
            training,
            ended=background.finished_at,
            result="; ".join(
                f"{m.label}: {'reused' if m.reused else 'trained'}, accuracy {m.accuracy:.4f}, "
                f"AUC {m.auc:.4f}"
                for m in models.values()
            ),
        )

        with timeline.step("Start moto on 127.0.0.1 and deploy the data stack") as out:
            from moto.server import ThreadedMotoServer

            from model_code.local_server import LocalModelServer
            from rehearsal import moto_gaps
            from rehearsal.deployment import bootstrap, create_stack, publish_assets
            from rehearsal.moto_gaps import lambda_runner

            moto_gaps.install()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
            server.start()
            cleanup.append(server.stop)
            host, port = server.get_host_and_port()
            moto_url = f"http://{host}:{port}"
            model_server = LocalModelServer(port=0).start()
            cleanup.append(model_server.shutdown)
            # What the functions call as the SageMaker runtime: data capture in front of the
            # model server (it follows the endpoint from step 5 on).
            from rehearsal.serving import DataCapturingRuntime

            runtime = DataCapturingRuntime(model_server.url).start()
            cleanup.append(runtime.stop)
            operator: dict[str, str | None] | None = None
            function_credentials = None
            if args.enforce_iam:
                from rehearsal.moto_gaps import iam

                operator = dict(iam.as_client_kwargs(iam.enforce(account)))

                def function_credentials(fn: Any) -> dict[str, str]:
                    return iam.role_credentials(
                        account, region, fn.role, fn.function_name
                    ).environment()

            lambda_runner.install(
                lambda_runner.RunnerSettings(
                    endpoint_url=moto_url,
                    workdir=workdir / "lambda",
                    account_id=account,
                    region=region,
                    extra_env={"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url},
                    credentials=function_credentials,
                )
            )
            cleanup.append(lambda_runner.RUNNER.stop)
            from rehearsal.moto_gaps.api_gateway import ExecuteApi

            execute_api = ExecuteApi(account, region).start()
            cleanup.append(execute_api.stop)
            clients = _clients(moto_url, region, operator)
            bootstrap(clients, account, region)
            data_synth, serving_synth = stacks
            assets = publish_assets(clients, data_synth, account, region)
            data_stack = create_stack(clients, data_synth)
            out["result"] = (
                f"moto {moto_url}; {data_stack.name} {data_stack.status} "
                f"({len(data_stack.physical_ids)} resources, {assets} assets)"
            )

        with timeline.step("Upload the dataset and the model; deploy the serving stack") as out:
            from deploy_tools.publish_model import DataStackOutputs, publish_initial_model

            bucket = data_stack.outputs.get("BucketName")
            key_arn = data_stack.outputs.get("KeyArn")
            source = "stack outputs"
            if not (bucket and key_arn):  # moto left the outputs empty: read the resources
                source = "stack resources"
                by_type = {
                    r["Type"]: logical for logical, r in data_synth.template["Resources"].items()
                }
                bucket = data_stack.physical_ids[by_type["AWS::S3::Bucket"]]
                key_arn = data_stack.physical_ids[by_type["AWS::KMS::Key"]]
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn}
            for name in ("train.csv", "test.csv"):
                clients.s3.upload_file(
                    str(workdir / "data" / name), bucket, f"datasets/{name}", ExtraArgs=encryption
                )
            initial_uri = publish_initial_model(
                settings,
                models["initial"].package,
                outputs=DataStackOutputs(bucket_name=bucket, key_arn=key_arn),
                session=clients.session,
                endpoint_url=moto_url,
            )
            from rehearsal.moto_gaps.resources import seed_public_parameters

            seeded = seed_public_parameters(serving_synth.template, account, region)
            assets = publish_assets(clients, serving_synth, account, region)
            serving_stack = create_stack(clients, serving_synth)
            endpoint_name = (
                serving_stack.outputs.get("EndpointName") or f"{settings.prefix}-endpoint"
            )
            iam_probe = (
                _iam_probe(moto_url, region, account, serving_stack, settings.artifact_parameter)
                if args.enforce_iam
                else "IAM not enforced (--no-iam)"
            )
            out["result"] = (
                f"bucket {bucket} (from {source}); {initial_uri}; {serving_stack.name} "
                f"{serving_stack.status} ({len(serving_stack.physical_ids)} resources, "
                f"{assets} assets); AWS public parameters seeded: {len(seeded)}; {iam_probe}"
            )

        with timeline.step("Serve the endpoint's model behind the SageMaker runtime API") as out:
            from rehearsal.serving import EndpointMirror

            tensorflow_import.join()
            mirror = EndpointMirror(clients, model_server, endpoint_name, workdir)
            mirror.sync()
            mirror.start()
            cleanup.append(mirror.stop)
            runtime.follow(mirror, clients.s3, clients.cloudwatch)
            served = mirror.served
            assert served is not None
            if served.model_data_url != initial_uri:
                raise RehearsalError(
                    f"the endpoint serves {served.model_data_url}, not {initial_uri}"
                )
            out["result"] = (
                f"{runtime.url}/endpoints/{endpoint_name}/invocations serves "
                f"{served.model_data_url} (model {served.model_name})"
            )

        inference_fn = _function_with_variable(serving_stack, "MAX_ROWS")
        promotion_fn = _function_with_variable(serving_stack, "MIN_AUC")
        missing: list[str] = []
        with timeline.step(
            "Predict the held-out rows through the deployed inference function"
        ) as out:
            if inference_fn is None:
                missing.append("the serving stack deploys no inference function (MAX_ROWS)")
                out["result"] = "NOT SHOWN: " + missing[-1]
            else:
                first = measured(
                    clients, inference_fn, held_out, models["initial"], settings.api.max_rows
                )
                api_url = _api_url(serving_stack, execute_api)
                through_api = predict_through_api(api_url, held_out[0], settings.api.max_rows)
                direct = predict_through_lambda(
                    clients, inference_fn, held_out[0], settings.api.max_rows
                )
                if through_api != direct:
                    raise RehearsalError("POST /predict through the REST API answered differently")
                out["result"] = (
                    f"{len(held_out[0])} rows via lambda:Invoke({inference_fn}) -> "
                    f"InvokeEndpoint: accuracy {first['accuracy']:.4f}, AUC {first['roc_auc']:.4f} "
                    f"= training metrics; POST {api_url}/predict answers the same; "
                    f"{_capture_summary(clients, runtime)}"
                )

        with timeline.step("Promote a second model, reject a corrupt one") as out:
            if promotion_fn is None or inference_fn is None:
                missing.append("the serving stack deploys no promotion function (MIN_AUC)")
                out["result"] = "NOT SHOWN: " + missing[-1]
            else:
                out["result"] = promote_and_reject(
                    clients,
                    settings,
                    bucket,
                    key_arn,
                    models["candidate"],
                    corrupt,
                    mirror,
                    endpoint_name,
                    inference_fn,
                    promotion_fn,
                    held_out,
                    args.timeout,
                )

        with timeline.step("Report the deployment") as out:
            from rehearsal import report

            rows = report.resource_rows([data_stack, serving_stack])
            print(
                report.table(
                    ("stack", "logical id", "type", "state"),
                    [(r.stack, r.logical_id, r.resource_type, r.state) for r in rows],
                    max_width=150,
                )
            )
            from rehearsal.moto_gaps import alarms

            evaluations = alarms.evaluate(account, region)
            print("\nAlarms, evaluated by the rehearsal from this run's metrics (moto never does):")
            print(report.alarms_table(clients.cloudwatch, evaluations))
            print(
                "\nMetrics of this run as moto's CloudWatch holds them (service metrics the "
                "rehearsal emits for Lambda, API Gateway, SageMaker and SQS; the functions' EMF):"
            )
            print(report.metrics_table(clients.cloudwatch))
            print("\nEndpoint autoscaling (Application Auto Scaling, as moto describes it):")
            print(report.scaling_table(clients.autoscaling))
            missing.extend(
                f"{r.stack}/{r.logical_id} ({r.resource_type}) is missing"
                for r in rows
                if r.state.startswith("MISSING")
            )
            emulated = sum(r.emulated for r in rows)
            out["result"] = (
                f"{emulated}/{len(rows)} resources created, {len(rows) - emulated} not emulated"
            )

        if args.keep_running and not missing:
            sample = write_samples(workdir, held_out[0])
            _keep_running(
                moto_url,
                runtime.url,
                region,
                endpoint_name,
                inference_fn,
                sample,
                _api_url(serving_stack, execute_api),
            )

        with timeline.step("Tear down: delete both stacks, stop moto and the local servers") as out:
            from rehearsal.deployment import delete_stack

            statuses = [delete_stack(clients, stack.name) for stack in (serving_stack, data_stack)]
            while cleanup:
                _stop_quietly(cleanup.pop())
            out["result"] = ", ".join(statuses) + "; moto, model server, Lambda workers stopped"

        print("\nStep timings:")
        print(timeline.summary())
        print("\nmoto gaps that remain (the rehearsal does not prove these):")
        print(report.gaps_text(len(rows) - emulated))
        if missing:
            print("\nREHEARSAL INCOMPLETE:\n" + "\n".join(f"  - {m}" for m in missing))
            return 1
        print("\nREHEARSAL PASSED: deployed, served, predicted, promoted, rejected.")
        return 0
    finally:  # after a failure: stop whatever was started
        while cleanup:
            _stop_quietly(cleanup.pop())


def _stop_quietly(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception as error:  # teardown goes on
        print(f"teardown: {type(error).__name__}: {error}", file=sys.stderr)


def promote_and_reject(
    clients: Any,
    settings: Any,
    bucket: str,
    key_arn: str,
    candidate: TrainedModel,
    corrupt: Path,
    mirror: Any,
    endpoint_name: str,
    inference_fn: str,
    promotion_fn: str,
    held_out: tuple[list[list[float]], list[int]],
    timeout_s: float,
) -> str:
    """Upload the candidate (promoted: the endpoint's config changes and the new model answers)
    and the corrupt artifact (rejected: the endpoint keeps its config and keeps serving)."""
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn}
    before = clients.sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    run_id = time.strftime("%Y%m%d-%H%M%S")
    candidate_key = f"models/{candidate.label}-{run_id}/model.tar.gz"
    clients.s3.upload_file(str(candidate.package), bucket, candidate_key, ExtraArgs=encryption)

    def new_config() -> str | None:
        name = clients.sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        return str(name) if name != before else None

    promoted_config = _wait(new_config, timeout_s, "the endpoint to switch to the uploaded model")
    if not mirror.wait_for(promoted_config, timeout_s):
        raise RehearsalError(f"the model server never loaded {promoted_config}: {mirror.errors}")
    after = measured(clients, inference_fn, held_out, candidate, settings.api.max_rows)
    served_uri = mirror.served.model_data_url  # the promotion may serve a release copy

    def recorded() -> bool:
        value = clients.ssm.get_parameter(Name=settings.artifact_parameter)["Parameter"]["Value"]
        return bool(value == served_uri)

    _wait(recorded, timeout_s, f"{settings.artifact_parameter} to name {served_uri}")

    corrupt_key = f"models/corrupt-{run_id}/model.tar.gz"
    clients.s3.upload_file(str(corrupt), bucket, corrupt_key, ExtraArgs=encryption)

    def rejected() -> str | None:
        for line in _log_lines(clients, promotion_fn):
            if corrupt_key in line and "reject" in line:
                return line
        return None

    evidence = _wait(rejected, timeout_s, f"the promotion function to reject {corrupt_key}")
    still = clients.sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    if still != promoted_config:
        raise RehearsalError(f"the corrupt upload changed the endpoint config to {still}")
    unaffected = measured(clients, inference_fn, held_out, candidate, settings.api.max_rows)
    reason = ""
    try:
        reason = str(json.loads(evidence[evidence.index("{") :]).get("reason", ""))[:120]
    except ValueError:
        reason = evidence[:120]
    return (
        f"promoted {candidate_key}: endpoint config {before} -> {promoted_config}, "
        f"accuracy {after['accuracy']:.4f} AUC {after['roc_auc']:.4f} = the candidate's "
        f"training metrics; {settings.artifact_parameter} = {served_uri}. "
        f"Rejected {corrupt_key} ({reason}); endpoint still on {still}, "
        f"accuracy {unaffected['accuracy']:.4f}"
    )


def _keep_running(
    moto_url: str,
    runtime_url: str,
    region: str,
    endpoint: str,
    function: str | None,
    sample_event: Path,
    api_url: str,
) -> None:
    print(
        f"""
Still running. In another shell:
  export AWS_ENDPOINT_URL={moto_url} AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={runtime_url}
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={region}
  aws cloudformation describe-stacks --query 'Stacks[].[StackName,StackStatus]'
  aws sagemaker describe-endpoint --endpoint-name {endpoint}
  aws lambda invoke --function-name {function} --payload fileb://{sample_event} answer.json
  curl -s -X POST {api_url}/predict -H 'Content-Type: application/json' \\
      -d @{sample_event.with_name("sample-body.json")}
  aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint} \\
      --content-type text/csv --body fileb://{sample_event.with_suffix(".csv")} answer.json
Press Ctrl-C to stop.""",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping")


def write_samples(workdir: Path, rows: list[list[float]]) -> Path:
    """An API Gateway event and a CSV body with two held-out rows, for the AWS CLI."""
    body = json.dumps({"instances": rows[:2]})
    event = {
        "httpMethod": "POST",
        "path": "/predict",
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }
    path = workdir / "sample-event.json"
    path.write_text(json.dumps(event))
    path.with_name("sample-body.json").write_text(body)
    path.with_suffix(".csv").write_text(
        "\n".join(",".join(repr(v) for v in row) for row in rows[:2]) + "\n"
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    import logging

    if not os.environ.get("REHEARSAL_VERBOSE"):  # moto's per-request access log
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    try:
        code = run(args)
        if args.keep_running:
            # Ctrl-C also reached the jsii node process (same process group); skip the
            # interpreter's atexit hooks, which would report its closed pipe.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    except (RehearsalError, artifacts.ArtifactError) as error:
        print(f"\nREHEARSAL FAILED: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"REHEARSAL FAILED: configuration: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from rehearsal.deployment import DeploymentError

        if isinstance(error, DeploymentError):
            print(f"\nREHEARSAL FAILED: {error}", file=sys.stderr)
            return 1
        raise
