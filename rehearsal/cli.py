"""``python -m rehearsal``: the whole product on one machine, no AWS account, no docker.

Trains (or reuses) the model, synthesizes the app for the ``local`` environment, deploys both
stacks into moto on 127.0.0.1 with the CDK CLI, serves the real model behind the SageMaker
runtime API, predicts through the deployed inference function, promotes a second model, rejects
a corrupt one, redeploys as a later ``cdk deploy`` would, and reports every resource and every
step's time. The steps are :mod:`rehearsal.steps`; exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rehearsal import artifacts
from rehearsal.predictions import RehearsalError
from serving_config import ConfigError
from serving_core.frameworks import FRAMEWORK_NAMES

if TYPE_CHECKING:
    from rehearsal.context import Rehearsal

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO / ".rehearsal"


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
    parser.add_argument(
        "--network",
        action="store_true",
        help="private networking (network.mode: create): the VPC, its endpoints and security "
        "groups are deployed, and every function runs in it",
    )
    parser.add_argument(
        "--kind",
        choices=("async", "lambda"),
        default=None,
        help="async: the endpoint as an asynchronous one (endpoint.kind: async, scaling to zero "
        "on its backlog); predictions go through POST /predict-async and GET /predict-async/{id}. "
        "lambda: no endpoint, the model's ONNX export served inside a Lambda function "
        "(endpoint.kind: lambda), its alias shifted by CodeDeploy on promotion",
    )
    parser.add_argument(
        "--engine",
        choices=("own", "sagemaker"),
        default="own",
        help="the model monitor to rehearse: own (the in-account monitor, the default; its "
        "real analyzer runs) or sagemaker (Model Monitor, for accounts that already use it; "
        "its analyzer is stood in for)",
    )
    parser.add_argument(
        "--framework",
        choices=FRAMEWORK_NAMES,
        default=None,
        help="the model framework (model.framework): its trainer trains both models, its "
        "serving and training images, versions and container environment are deployed, its "
        "loader serves the endpoint's artifact, and promotions give each model its container "
        "environment",
    )
    return parser.parse_args(argv)


def _prewarm(module: str | None) -> threading.Thread:
    """Import the framework's Python package (TensorFlow, torch, ...) while synth and
    deployment run: it costs seconds and the endpoint's model server needs it in step 5 (None:
    nothing to import; a model in a Lambda function runs on onnxruntime)."""
    import importlib

    def load() -> None:
        if module is not None:
            importlib.import_module(module)

    thread = threading.Thread(target=load, name=f"import-{module}", daemon=True)
    thread.start()
    return thread


def run(args: argparse.Namespace) -> int:
    from rehearsal import steps, variants
    from rehearsal.context import Rehearsal

    settings, config_dir = variants.environment(args, args.workdir.resolve())
    if not (settings.account and settings.region):
        raise RehearsalError(
            f"environment {args.env!r} names no account and region; the rehearsal deploys "
            "environment-specific templates (use --env local)"
        )
    r = Rehearsal(
        args=args, settings=settings, workdir=args.workdir.resolve(), config_dir=config_dir
    )
    r.workdir.mkdir(parents=True, exist_ok=True)
    sequence = steps.sequence(settings)
    timeline = Timeline(total_steps=3 + len(sequence))
    model = settings.model
    print(
        f"Local rehearsal of environment {args.env!r} (moto, no AWS account, no docker); "
        f"framework {model.framework}: serving {model.framework_version}, training "
        f"{model.training_framework_version} ({model.facts.serving_container})"
    )
    try:
        # The endpoint's model server needs the framework (a model in a Lambda function not).
        framework_import = _prewarm(
            model.facts.python_module if settings.variant.supports("sagemaker_endpoint") else None
        )
        training = timeline.begin(
            "Train and package the models (in background processes; reused when up to date)"
        )
        background = steps.start_training(r)
        with timeline.step("Synthesize the app for the local environment (while 1 runs)") as out:
            out["result"] = steps.synthesize(r)
        timeline.end(training, steps.finish_training(r, background), ended=background.finished_at)
        for title, step in sequence:
            if step is steps.serve_endpoint:
                framework_import.join()
            with timeline.step(title) as out:
                out["result"] = step(r)
        if args.keep_running and not r.missing:
            _keep_running(r)
        with timeline.step(steps.TEAR_DOWN) as out:
            out["result"] = steps.tear_down(r)
        return _summary(r, timeline)
    finally:  # after a failure: stop whatever was started
        while r.cleanup:
            steps.stop_quietly(r.cleanup.pop())


def _keep_running(r: Rehearsal) -> None:
    from rehearsal.interactive import keep_running, write_samples
    from rehearsal.predictions import api_url

    sample = write_samples(r.workdir, r.held_out[0])
    keep_running(
        r.aws.moto_url,
        r.aws.runtime.url,
        r.region,
        r.endpoint_name,
        r.inference_fn,
        sample,
        api_url(r.serving_stack, r.aws.execute_api),
    )


def _summary(r: Rehearsal, timeline: Timeline) -> int:
    from rehearsal import report

    print("\nStep timings:")
    print(timeline.summary())
    print("\nmoto gaps that remain (the rehearsal does not prove these):")
    print(report.gaps_text(r.resources - r.emulated))
    if r.missing:
        print("\nREHEARSAL INCOMPLETE:\n" + "\n".join(f"  - {m}" for m in r.missing))
        return 1
    print(
        "\nREHEARSAL PASSED: deployed with the CDK CLI, served, predicted, measured capacity, "
        "promoted (on registry approval and on upload), rejected, watched for drift, redeployed."
    )
    return 0


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
    except ConfigError as error:
        print(f"REHEARSAL FAILED: configuration: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from rehearsal.cdk_cli import CdkCliError
        from rehearsal.deployment import DeploymentError
        from rehearsal.moto_gaps.service_model import StrictRequestError

        failures = (
            RehearsalError,
            artifacts.ArtifactError,
            DeploymentError,
            CdkCliError,
            StrictRequestError,
        )
        if not isinstance(error, failures):
            raise
        print(f"\nREHEARSAL FAILED: {error}", file=sys.stderr)
        _print_refused_requests(args.workdir.resolve())
        return 1


def _print_refused_requests(workdir: Path) -> None:
    """A function whose request AWS would refuse fails inside the function: say so here."""
    from rehearsal.local_aws import REQUEST_JOURNAL
    from rehearsal.moto_gaps.service_model import read_journal

    _, problems = read_journal(workdir / REQUEST_JOURNAL)
    for problem in problems:
        print(f"  a deployed function's request that AWS would refuse: {problem}", file=sys.stderr)
