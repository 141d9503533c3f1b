"""A docker-free Lambda runtime for moto 5.2.5.

moto runs function code only in docker. Here every function gets a warm worker process
(:mod:`._worker`) that imports the handler from the deployed code zip (extracted once per code
hash) and runs it with the function's environment, plus what a local deployment needs:
``AWS_ENDPOINT_URL`` pointing at moto and any extra endpoints (``AWS_ENDPOINT_URL_SAGEMAKER_
RUNTIME``). SQS event-source mappings are served by a background poller, the way the Lambda
service polls, instead of moto's delivery inside ``SendMessage``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Queue, sqs_backends

from rehearsal.moto_gaps._patching import Installer, patch
from rehearsal.moto_gaps.foreign_builds import Replaced, replace_foreign_builds

WORKER = Path(__file__).resolve().parent / "_worker.py"


@dataclass(frozen=True)
class RunnerSettings:
    """Where the functions' AWS calls go and where their code is unpacked."""

    endpoint_url: str
    workdir: Path
    account_id: str = "123456789012"
    region: str = "us-east-1"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    python: str = sys.executable
    poll_interval_s: float = 0.1
    # The function's credentials (its execution role) as environment variables; None: moto's
    # dummy credentials.
    credentials: Callable[[LambdaFunction], Mapping[str, str]] | None = None
    #: Container-image functions: image tag -> the image's build context (rehearsal.images
    #: registers each image it stands in for); the code runs from there, not from an image.
    images: dict[str, Path] = field(default_factory=dict)


@dataclass
class Invocation:
    """One finished invocation, kept for the rehearsal's report and the tests."""

    function_name: str
    ok: bool
    seconds: float
    source: str


class _Worker:
    """One warm process running one function's handler; one event at a time."""

    def __init__(
        self,
        fn: LambdaFunction,
        code_dir: Path,
        env: dict[str, str],
        log: Path,
        python: str,
        handler: str,
    ) -> None:
        self.lock = threading.Lock()
        self.log_path = log
        self.log_offset = log.stat().st_size if log.exists() else 0
        self._log_handle = log.open("ab")
        self.process = subprocess.Popen(
            [python, "-B", str(WORKER), str(code_dir), handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            env=env,
            cwd=code_dir,
            text=True,
        )

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """The worker's response, or None when it timed out or died (then it is killed)."""
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except BrokenPipeError:
            return None
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        line = stdout.readline() if ready else ""
        if not line:
            self.stop()
            return None
        response: dict[str, Any] = json.loads(line)
        return response

    def new_logs(self) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(self.log_offset)
            data = handle.read()
        self.log_offset += len(data)
        return data.decode("utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._log_handle.close()


class LambdaRunner:
    """Runs moto's Lambda functions locally; one warm worker per function and code version."""

    def __init__(self) -> None:
        self.settings: RunnerSettings | None = None
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.invocations: list[Invocation] = []
        #: Function -> the distributions of its package built for Lambda's platform, run from
        #: this machine's same-version installation (foreign_builds.py).
        self.foreign_builds: dict[str, list[Replaced]] = {}

    def configure(self, settings: RunnerSettings) -> None:
        """Set where functions send their AWS calls; starts the SQS poller."""
        self.settings = settings
        settings.workdir.mkdir(parents=True, exist_ok=True)
        if self._poller is None or not self._poller.is_alive():
            self._stop.clear()
            self._poller = threading.Thread(
                target=self._poll_forever, name="lambda-sqs-poller", daemon=True
            )
            self._poller.start()

    def _environment(self, fn: LambdaFunction, code_dir: Path) -> dict[str, str]:
        settings = self._require_settings()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
        }
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        if settings.credentials is not None:
            env.update(settings.credentials(fn))
        else:  # moto's dummy credentials
            env.update(
                {
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing",
                }
            )
        env.update(
            {
                "AWS_REGION": settings.region,
                "AWS_DEFAULT_REGION": settings.region,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL": settings.endpoint_url,
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
                "LAMBDA_TASK_ROOT": str(code_dir),
                # After the task root, as Lambda's Python puts /opt/python (the layers).
                "PYTHONPATH": str(layers_dir(code_dir) / "python"),
                "_HANDLER": str(fn.handler),
                **settings.extra_env,
            }
        )
        return env

    def _require_settings(self) -> RunnerSettings:
        if self.settings is None:
            raise RuntimeError("the Lambda runner is not configured: call configure() first")
        return self.settings

    def _worker(self, fn: LambdaFunction) -> _Worker:
        settings = self._require_settings()
        code, handler = self._code(fn)
        env_key = json.dumps(fn.environment_vars or {}, sort_keys=True)
        digest = hashlib.sha256(code + env_key.encode() + handler.encode()).hexdigest()
        key = f"{fn.function_arn}:{digest}"
        with self._lock:
            worker = self._workers.get(key)
            if worker is not None and worker.alive():
                return worker
            code_dir = settings.workdir / "code" / f"{fn.function_name}-{digest[:12]}"
            if not code_dir.exists():
                self._unpack(fn, code, handler, code_dir)
            log = settings.workdir / "logs" / f"{fn.function_name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            env = self._environment(fn, code_dir)
            env["_HANDLER"] = handler
            worker = _Worker(fn, code_dir, env, log, settings.python, handler)
            self._workers[key] = worker
            return worker

    def _code(self, fn: LambdaFunction) -> tuple[bytes, str]:
        """(code bytes for the digest, handler): the zip, or an image's build context."""
        if not _is_image(fn):
            code: bytes = fn.code_bytes
            if not code:
                raise RuntimeError(f"{fn.function_name} has no zip code")
            return code, str(fn.handler)
        context = self._image_context(fn)
        handler = image_handler(context)
        files = sorted(context.glob("*.py"))
        return b"".join(f.name.encode() + f.read_bytes() for f in files), handler

    def _image_context(self, fn: LambdaFunction) -> Path:
        tag = str(fn.code.get("ImageUri", "")).rsplit(":", 1)[-1]
        context = self._require_settings().images.get(tag)
        if context is None:
            raise RuntimeError(
                f"{fn.function_name}: no build context registered for image tag {tag!r} "
                "(rehearsal.images stands in for the images it publishes)"
            )
        return context

    def _unpack(self, fn: LambdaFunction, code: bytes, handler: str, code_dir: Path) -> None:
        if not _is_image(fn):
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(code_dir)
            self._unpack_layers(fn, code_dir)
            return
        # The image's CMD names a module of a package its Dockerfile copies the build context's
        # Python files into (``analyzer.handler.lambda_handler``): the same layout here.
        package = code_dir / handler.split(".")[0]
        package.mkdir(parents=True)
        for source in self._image_context(fn).glob("*.py"):
            shutil.copy2(source, package / source.name)

    def _unpack_layers(self, fn: LambdaFunction, code_dir: Path) -> None:
        """The function's layers, in order, into ``<code_dir>-opt`` as Lambda mounts them at
        /opt; builds for Lambda's platform are run from this machine's same-version ones."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[fn.account_id][fn.region]
        opt = layers_dir(code_dir)
        for layer in fn.layers or []:
            version = backend.layers_versions_by_arn(layer["Arn"])
            content = getattr(version, "code_bytes", b"")
            if content:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    archive.extractall(opt)
        python = opt / "python"
        if python.is_dir():
            replaced = replace_foreign_builds(python)
            if replaced:
                self.foreign_builds[str(fn.function_name)] = replaced

    def invoke(
        self, fn: LambdaFunction, event: Any, source: str = "invoke"
    ) -> tuple[str, bool, str]:
        """Run ``fn`` on ``event``: (payload JSON, errored, logs), as moto's docker path."""
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        timeout_s = float(fn.timeout or 3)
        request = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": int((time.time() + timeout_s) * 1000),
            "context": {
                "function_name": fn.function_name,
                "function_version": "$LATEST",
                "invoked_function_arn": fn.function_arn,
                "memory_limit_in_mb": fn.memory_size,
                "log_group_name": fn.logs_group_name,
                "log_stream_name": f"rehearsal/{request_id}",
            },
        }
        worker = self._worker(fn)
        with worker.lock:
            response = worker.call(request, timeout_s)
            logs = worker.new_logs()
        if response is None:
            payload = json.dumps(
                {
                    "errorMessage": f"Task timed out after {timeout_s:.2f} seconds "
                    "or the runtime exited",
                    "errorType": "Runtime.ExitError",
                }
            )
            ok = False
        else:
            payload, ok = response["payload"], bool(response["ok"])
        seconds = time.perf_counter() - started
        try:
            fn.logs_backend.ensure_log_group(fn.logs_group_name)
            fn.save_logs(logs)
            self._put_metrics(fn, logs, ok, seconds)
        except Exception as error:  # logs and metrics never fail the invocation
            print(f"[lambda-runner] could not store logs or metrics: {error}", file=sys.stderr)
        self.invocations.append(Invocation(fn.function_name, ok, seconds, source))
        return payload, not ok, logs

    def _put_metrics(self, fn: LambdaFunction, logs: str, ok: bool, seconds: float) -> None:
        """What CloudWatch gets from Lambda: the AWS/Lambda service metrics, and the metrics
        of every Embedded Metric Format line (``{"_aws": {"CloudWatchMetrics": ...}}``)."""
        from moto.cloudwatch.models import cloudwatch_backends

        settings = self._require_settings()
        cloudwatch = cloudwatch_backends[settings.account_id][settings.region]
        by_function = [{"Name": "FunctionName", "Value": fn.function_name}]
        cloudwatch.put_metric_data(
            "AWS/Lambda",
            [
                {
                    "MetricName": "Invocations",
                    "Value": 1,
                    "Unit": "Count",
                    "Dimensions": by_function,
                },
                {
                    "MetricName": "Errors",
                    "Value": 0 if ok else 1,
                    "Unit": "Count",
                    "Dimensions": by_function,
                },
                {
                    "MetricName": "Duration",
                    "Value": seconds * 1000,
                    "Unit": "Milliseconds",
                    "Dimensions": by_function,
                },
            ],
        )
        for namespace, data in emf_metrics(logs):
            cloudwatch.put_metric_data(namespace, data)

    def _poll_forever(self) -> None:
        while not self._stop.wait(self._require_settings().poll_interval_s):
            try:
                self.poll_once()
            except Exception as error:  # keep polling, like the service does
                print(f"[lambda-runner] SQS poll failed: {error!r}", file=sys.stderr)

    def poll_once(self) -> int:
        """Deliver visible messages of every enabled SQS mapping; the number delivered."""
        settings = self._require_settings()
        backend = lambda_backends[settings.account_id][settings.region]
        sqs = sqs_backends[settings.account_id][settings.region]
        delivered = 0
        for esm in list(backend._event_source_mappings.values()):
            if not esm.enabled or ":sqs:" not in esm.event_source_arn:
                continue
            queue_name = esm.event_source_arn.split(":")[-1]
            queue = sqs.get_queue(queue_name)
            messages = sqs.receive_message(
                queue_name,
                int(esm.batch_size or 10),
                0,
                int(queue.visibility_timeout),  # type: ignore[attr-defined]
            )
            if not messages:
                continue
            event = {
                "Records": [_record(m, esm.event_source_arn, settings.region) for m in messages]
            }
            fn = backend.get_function(esm.function_arn)
            payload, errored, _ = self.invoke(fn, event, source=f"sqs:{queue_name}")
            failed: set[str] = {m.id for m in messages} if errored else set()
            if not errored and "ReportBatchItemFailures" in (esm.function_response_types or []):
                failed = _batch_item_failures(payload)
            for message in messages:
                if message.id not in failed:
                    sqs.delete_message(queue_name, str(message.receipt_handle))
            delivered += len(messages)
        return delivered

    def stop(self) -> None:
        """Stop the poller and every worker process."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None
        with self._lock:
            for worker in self._workers.values():
                worker.stop()
            self._workers.clear()


def emf_metrics(logs: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """(namespace, PutMetricData entries) for every Embedded Metric Format line in ``logs``."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    for line in logs.splitlines():
        if '"_aws"' not in line:
            continue
        try:
            document = json.loads(line[line.index("{") :])
            directives = document["_aws"]["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            continue
        for directive in directives:
            for dimension_set in directive.get("Dimensions") or [[]]:
                dimensions = [
                    {"Name": name, "Value": str(document[name])}
                    for name in dimension_set
                    if name in document
                ]
                entries = []
                for metric in directive.get("Metrics", []):
                    value = document.get(metric["Name"])
                    values = value if isinstance(value, list) else [value]
                    numbers = [float(v) for v in values if isinstance(v, int | float)]
                    if numbers:
                        entries.append(
                            {
                                "MetricName": metric["Name"],
                                "Values": numbers,
                                "Unit": metric.get("Unit", "None"),
                                "Dimensions": dimensions,
                            }
                        )
                if entries:
                    found.append((directive["Namespace"], entries))
    return found


def layers_dir(code_dir: Path) -> Path:
    """Where a function's layers are unpacked: its /opt."""
    return code_dir.parent / f"{code_dir.name}-opt"


def _record(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(
                message.approximate_first_receive_timestamp or message.sent_timestamp
            ),
        },
        "messageAttributes": message.message_attributes or {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _batch_item_failures(payload: str) -> set[str]:
    try:
        answer = json.loads(payload)
    except ValueError:
        return set()
    if not isinstance(answer, dict):
        return set()
    return {
        str(item.get("itemIdentifier"))
        for item in answer.get("batchItemFailures") or []
        if isinstance(item, dict)
    }


RUNNER = LambdaRunner()


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    return RUNNER.invoke(self, {} if event is None else event)


def _add_message(self: Queue, message: Any) -> None:
    """moto 5.2.5's Queue.add_message without its synchronous Lambda delivery (the runner's
    poller delivers instead, after SendMessage has returned, as the Lambda service does)."""
    if self.fifo_queue and (
        self.attributes.get("ContentBasedDeduplication") == "true" or message.deduplication_id
    ):
        for existing in self._messages:
            if existing.deduplication_id == message.deduplication_id:
                diff = message.sent_timestamp - existing.sent_timestamp
                if diff / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
                    return
    with self._messages_lock:
        self._messages.append(message)
        self._messages_lock.notify_all()


def _send_to_targets(original: Any) -> Any:
    """moto 5.2.5 delivers rule matches to SQS, log groups and buses only (anything else
    raises): Lambda targets are invoked asynchronously through the runner (no retry policy,
    no target dead-letter queue), SNS targets publish the target's input or the event."""

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        handled = [t for t in self.targets if t["Arn"].split(":")[2] in ("lambda", "sns")]
        for target in handled:
            service = target["Arn"].split(":")[2]
            if service == "lambda":
                _invoke_async(self.account_id, self.region_name, target["Arn"], original_event)
            else:
                _publish(self.account_id, self.region_name, target, original_event)
        if len(handled) < len(self.targets):
            rest = [t for t in self.targets if t not in handled]
            saved, self.targets = self.targets, rest
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved

    return send_to_targets


def _invoke_async(account: str, region: str, arn: str, event: Any) -> None:
    from moto.awslambda.models import lambda_backends

    function = lambda_backends[account][region].get_function(arn.split(":")[6])
    payload = dict(event)
    thread = threading.Thread(target=RUNNER.invoke, args=(function, payload), daemon=True)
    thread.start()


def _publish(account: str, region: str, target: dict[str, Any], event: Any) -> None:
    from moto.sns.models import sns_backends

    message = target.get("Input") or json.dumps(event, default=str)
    sns_backends[account][region].publish(message=message, arn=target["Arn"])


def _is_image(fn: LambdaFunction) -> bool:
    """A container-image function (moto's CloudFormation drops ``PackageType``; the code
    names an image instead of a zip)."""
    return "ImageUri" in (fn.code or {})


CMD = re.compile(r'^CMD\s+\[\s*"([\w.]+)"\s*\]', re.MULTILINE)


def image_handler(context: Path) -> str:
    """The handler a Lambda image runs: its Dockerfile's ``CMD ["module.function"]``."""
    match = CMD.search((context / "Dockerfile").read_text(encoding="utf-8"))
    if match is None:
        raise RuntimeError(f'{context}/Dockerfile has no CMD ["module.function"]')
    return match.group(1)


def _apply() -> LambdaRunner:
    """Route moto's Lambda invocations, SQS deliveries and EventBridge targets to the runner."""
    from moto.events.models import Rule

    patch(LambdaFunction, "_invoke_lambda", _invoke_lambda)
    patch(Queue, "add_message", _add_message)
    patch(Rule, "send_to_targets", _send_to_targets(Rule.send_to_targets))
    return RUNNER


INSTALL = Installer(_apply, LambdaRunner.stop)


def install(settings: RunnerSettings | None = None) -> LambdaRunner:
    """Route moto's Lambda invocations to the runner (once), and configure it if given."""
    runner = INSTALL.install()
    if settings is not None:
        runner.configure(settings)
    return runner
