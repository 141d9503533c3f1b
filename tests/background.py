"""Whole-program runs that the suite starts in the background as soon as collection ends.

The end-to-end rehearsals (``python -m rehearsal`` and its variants) take about a minute each
and spend much of it waiting (on node, on moto, on their Lambda workers, on the monitor step's
windows); the real CDK CLI's ``cdk synth`` takes seconds more. None of them reads or writes what
the other tests use (the rehearsals work in ``.rehearsal``, the CLI in a folder of its own). So
``tests/conftest.py`` starts the jobs that the selected tests ask for (by fixture name), with
exactly the command lines those tests ran, and the rest of the suite runs meanwhile; the tests
that use them run last and assert on each job's output.

The rehearsals run one after another, in :data:`JOBS` order: on two cores, two at once starve
each other's timed steps (the Locust ladder of the capacity step), and the variants reuse the
models the default run trained, as when their tests ran in that order. The CLI's synth has no
timed step: it runs beside them from the start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Replaced in a job's command line by a fresh temporary folder (:attr:`Run.outdir`).
OUTDIR = "{outdir}"


@dataclass(frozen=True)
class Job:
    """One command: the fixture that hands its run to a test, what it runs, its environment
    (``env`` added to this process's as it was when the job was queued, ``unset`` removed), how
    long it may take, and whether it runs in a thread of its own (``beside``) rather than after
    the jobs queued before it."""

    fixture: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()
    timeout_s: float = 300.0
    beside: bool = False

    @property
    def label(self) -> str:
        return " ".join(self.argv[1:] if self.argv[0] == sys.executable else self.argv)


def _rehearsal(fixture: str, *options: str) -> Job:
    """``python -m rehearsal OPTIONS`` as a user runs it, in the repository."""
    return Job(
        fixture,
        (sys.executable, "-m", "rehearsal", *options),
        env=(("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1"),),
        unset=("AWS_ENDPOINT_URL", "AWS_PROFILE"),  # the rehearsal brings its own endpoints
    )


#: Every job, in the order they run.
JOBS = {
    job.fixture: job
    for job in (
        _rehearsal("rehearsal_default"),
        # The private network with Model Monitor, and one framework other than TensorFlow in
        # the same run (one run fewer): scikit-learn trains fastest (both models in about 6 s);
        # the end-to-end path is the same for the others (README, Frameworks).
        _rehearsal(
            "rehearsal_network", "--network", "--engine", "sagemaker", "--framework", "sklearn"
        ),
        _rehearsal("rehearsal_async", "--kind", "async", "--skip-train"),
        _rehearsal("rehearsal_lambda", "--kind", "lambda", "--skip-train"),
        Job(
            "cdk_cli_synth",
            ("npx", "cdk", "synth", "-c", "env=prod", "-o", OUTDIR, "--quiet", "--no-notices"),
            env=(
                ("CDK_DISABLE_VERSION_CHECK", "1"),
                ("CDK_DISABLE_CLI_TELEMETRY", "true"),
                ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"),
            ),
            beside=True,
        ),
    )
}


@dataclass
class Run:
    """One job's process and what it printed."""

    job: Job
    environ: dict[str, str]  # this process's environment when the job was queued
    outdir: Path | None = None
    process: subprocess.Popen[str] | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    seconds: float = 0.0
    ended_at: float = 0.0
    waited: float = 0.0  # by the test, for the run to end
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Run to the end (or to the timeout) and record the output."""
        env = {**self.environ, **dict(self.job.env)}
        for name in self.job.unset:
            env.pop(name, None)
        began = time.monotonic()
        try:
            argv = list(self.job.argv)
            if OUTDIR in argv:
                self.outdir = Path(tempfile.mkdtemp(prefix=f"{self.job.fixture}-"))
                argv = [str(self.outdir) if a == OUTDIR else a for a in argv]
            argv[0] = shutil.which(argv[0], path=env.get("PATH")) or argv[0]
            self.process = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its own process group: stopped whole if abandoned
            )
            self.started.set()
            try:
                self.stdout, self.stderr = self.process.communicate(timeout=self.job.timeout_s)
            except subprocess.TimeoutExpired:
                self.stop()
                self.stdout, self.stderr = self.process.communicate()
                self.error = f"{self.job.label} ran over {self.job.timeout_s:g} s\n"
        except Exception as error:  # reported by the test that waits for this run
            self.error = f"{self.job.label} could not run: {error!r}\n"
        finally:
            self.ended_at = time.monotonic()
            self.seconds = self.ended_at - began
            self.started.set()
            self.finished.set()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def result(self) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) once the run ended; -1 when it could not run to its
        end (the reason leads stderr)."""
        asked = time.monotonic()
        self.finished.wait()
        self.waited += time.monotonic() - asked
        failed = self.process is None or bool(self.error)
        code = -1 if failed or self.process is None else self.process.returncode
        return code, self.stdout, self.error + self.stderr

    def output(self) -> str:
        """The standard output of a run that passed (the test fails with its tail if not)."""
        code, stdout, stderr = self.result()
        assert code == 0, stdout[-6000:] + stderr[-4000:]
        return stdout


class Runs:
    """The session's background jobs: one after another in a thread, each ``beside`` job in a
    thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._stopping = threading.Event()
        self._began = 0.0  # when the first job was queued

    def start(self, fixtures: Iterable[str]) -> None:
        """Queue the jobs these fixtures need (in :data:`JOBS` order) and start them."""
        wanted = set(fixtures)
        environ = dict(os.environ)  # not what a test running later may have set for itself
        with self._lock:
            self._began = self._began or time.monotonic()
            queued = [
                Run(job, environ)
                for name, job in JOBS.items()
                if name in wanted and name not in self._runs
            ]
            self._runs.update({run.job.fixture: run for run in queued})
        chained = [run for run in queued if not run.job.beside]
        for runs in [[run] for run in queued if run.job.beside] + [chained]:
            if runs:
                threading.Thread(target=self._run_all, args=(runs,), daemon=True).start()

    def _run_all(self, queued: list[Run]) -> None:
        for run in queued:
            if self._stopping.is_set():
                run.error = "the session ended before this job started\n"
                run.started.set()
                run.finished.set()
            else:
                run.run()

    def run(self, fixture: str) -> Run:
        """The run for ``fixture``: queued at collection, or now."""
        self.start([fixture])
        return self._runs[fixture]

    def summary(self) -> str:
        """Each finished job's wall time, in the order they ran, and when the last ended."""
        done = [r for r in self._runs.values() if r.finished.is_set() and r.process is not None]
        if not done:
            return ""
        runs = ", ".join(f"{r.job.label} {r.seconds:.0f} s" for r in done)
        last = max(r.ended_at for r in done) - self._began
        waited = sum(r.waited for r in done)
        return f"{runs}; the last ended {last:.0f} s after collection; tests waited {waited:.0f} s"

    def stop_all(self) -> None:
        """End the jobs still going or queued (a session that ended early); remove the
        temporary folders."""
        self._stopping.set()
        for run in list(self._runs.values()):
            run.started.wait()
            run.stop()
            run.finished.wait()
            if run.outdir is not None:
                shutil.rmtree(run.outdir, ignore_errors=True)


RUNS = Runs()
