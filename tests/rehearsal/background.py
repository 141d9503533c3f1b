"""The end-to-end rehearsals (``python -m rehearsal`` and its variants) run in the background.

Each run is a subprocess of about a minute that spends much of it waiting (on node, on moto, on
its Lambda workers, on the monitor step's windows), and the suite's other tests never touch
``.rehearsal``. So as soon as collection ends, ``tests/conftest.py`` starts the runs the
selected tests need, one after another in the order the tests had (the variants reuse the
models the default run trained), with exactly the command lines the tests ran; the rest of the
suite runs meanwhile, and the tests in ``test_rehearsal_e2e.py`` (moved to the end of the
session) wait for their run's output and assert on it.

The runs do not overlap each other: on two cores, two rehearsals at once starve each other's
timed steps (the Locust ladder of the capacity step).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: As long as each run may take, counted from its own start.
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Variant:
    """One ``python -m rehearsal`` run: the fixture that hands it to a test, its options."""

    fixture: str
    options: tuple[str, ...]


#: In the order they run: the variants reuse the models the default run trained.
VARIANTS = {
    v.fixture: v
    for v in (
        Variant("rehearsal_default", ()),
        Variant("rehearsal_network", ("--network", "--engine", "sagemaker", "--skip-train")),
        Variant("rehearsal_async", ("--kind", "async")),
    )
}


@dataclass
class Run:
    """One rehearsal subprocess and its output."""

    variant: Variant
    process: subprocess.Popen[str] | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    seconds: float = 0.0
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "rehearsal", *self.variant.options]

    def run(self) -> None:
        """Run to the end (or to the timeout), as the tests ran it; record the output."""
        env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # the rehearsal brings its endpoints
            env.pop(name, None)
        began = time.monotonic()
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its own process group: stopped whole if abandoned
            )
            self.started.set()
            try:
                self.stdout, self.stderr = self.process.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.stop()
                self.stdout, self.stderr = self.process.communicate()
                self.error = f"{' '.join(self.command[1:])} ran over {TIMEOUT_S:g} s\n"
        except Exception as error:  # reported by the test that waits for this run
            self.error = f"{' '.join(self.command[1:])} failed to run: {error!r}\n"
        finally:
            self.seconds = time.monotonic() - began
            self.started.set()
            self.finished.set()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def output(self) -> str:
        """The run's output once it ended and passed (the test fails with its tail if not)."""
        self.finished.wait()
        code = self.process.returncode if self.process is not None and not self.error else -1
        assert code == 0, self.stdout[-6000:] + self.error + self.stderr[-4000:]
        return self.stdout


class Runs:
    """The session's rehearsal runs, one after another in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._stopping = threading.Event()

    def start(self, fixtures: Iterable[str]) -> None:
        """Queue the runs these fixtures need (in :data:`VARIANTS` order) and start them."""
        wanted = set(fixtures)
        with self._lock:
            queued = [
                Run(v) for name, v in VARIANTS.items() if name in wanted and name not in self._runs
            ]
            self._runs.update({run.variant.fixture: run for run in queued})
        if queued:
            threading.Thread(
                target=self._run_all, args=(queued,), daemon=True, name="rehearsals"
            ).start()

    def _run_all(self, queued: list[Run]) -> None:
        for run in queued:
            if self._stopping.is_set():
                run.error = "the session ended before this run started\n"
                run.started.set()
                run.finished.set()
            else:
                run.run()

    def run(self, fixture: str) -> Run:
        """The run for ``fixture``: queued at collection, or now."""
        self.start([fixture])
        return self._runs[fixture]

    def stop_all(self) -> None:
        """End the runs still going or queued (a session that ended early)."""
        self._stopping.set()
        for run in list(self._runs.values()):
            run.started.wait()
            run.stop()


RUNS = Runs()
