"""Session-wide test set-up: quiet jsii, no real AWS credentials, one synth per environment."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The session's heap grows to millions of objects (jsii proxies, TensorFlow, Evidently, moto's
# backends, botocore's models), and CPython's full collections walk them all: late in a run each
# took a second, some 25 s of the main process in all. So full collections run a tenth as often
# (the oldest generation's threshold 100, default 10), and before each test module the garbage
# is collected and what survived is frozen (pytest_runtest_setup below): later collections walk
# only what was made since. Peak memory measured the same.
gc.set_threshold(*gc.get_threshold()[:2], 100)

# Never reach a real AWS account from tests, and keep jsii's node warnings out of the output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)

# moto accepts requests that AWS refuses (tag characters, name patterns, lengths, enums): every
# request made in this session is first checked against botocore's own service model.
from rehearsal.moto_gaps import service_model  # noqa: E402

service_model.install()
TESTS_DIR = Path(__file__).resolve().parent


def _one_rsa_key_per_size_in_moto() -> None:
    """moto generates a 2048-bit RSA key for every KMS key it creates (symmetric ones too,
    which never use it) and for every SNS topic that publishes: about 40 ms each, some 170
    times a run. No test signs or verifies with them, so this process's moto generates one
    per size and hands it out again."""
    import functools
    from types import SimpleNamespace

    import moto.kms.utils
    import moto.sns.models
    from cryptography.hazmat.primitives.asymmetric import rsa

    shared = SimpleNamespace(**vars(rsa))
    shared.generate_private_key = functools.cache(rsa.generate_private_key)
    moto.kms.utils.rsa = shared  # type: ignore[attr-defined]
    moto.sns.models.rsa = shared  # type: ignore[attr-defined]


_one_rsa_key_per_size_in_moto()


_frozen_before: list[str] = [""]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a test module's first test (the previous module's fixtures are finalized by then):
    collect the garbage, then move every surviving object out of the collector's reach."""
    module = item.nodeid.split("::")[0]
    if module != _frozen_before[0]:
        _frozen_before[0] = module
        gc.collect()
        gc.freeze()


def _background_jobs(item: pytest.Item) -> set[str]:
    from tests.background import JOBS

    return set(getattr(item, "fixturenames", ())) & set(JOBS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of background jobs last: their jobs run meanwhile (tests/background.py)."""
    items.sort(key=lambda item: bool(_background_jobs(item)))  # stable: the rest keep order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the background jobs the selected tests need (tests/background.py)."""
    option = session.config.option
    if option.collectonly or getattr(option, "setupplan", False):
        return
    from tests.background import RUNS

    needed = set().union(*(_background_jobs(item) for item in session.items))
    if needed:
        RUNS.start(needed)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How long each background job ran (their tests' durations are only the waits)."""
    background = sys.modules.get("tests.background")
    if background is not None and background.RUNS.summary():
        terminalreporter.write_line(f"background jobs: {background.RUNS.summary()}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A full, green run must have checked every AWS operation the runtime code calls."""
    from tests.aws_operations import expected

    background = sys.modules.get("tests.background")
    if background is not None:  # a session that ended early leaves no job running
        background.RUNS.stop_all()

    config = session.config
    whole_suite = all(Path(arg).resolve() == TESTS_DIR for arg in config.args)
    filtered = config.getoption("keyword") or config.getoption("markexpr")
    if exitstatus != 0 or not whole_suite or filtered:
        return
    missing = sorted(expected() - set(service_model.checked_operations()))
    if missing:
        print(
            "\nruntime AWS operations never checked against botocore's service model in this "
            f"run: {', '.join(missing)}",
            file=sys.stderr,
        )
        session.exitstatus = 1


# One real training per session, shared by every suite that needs a trained model
# (model_code, promotion's artifact validator): TensorFlow's import alone costs seconds.
@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from model_code import prepare_data

    directory = tmp_path_factory.mktemp("data")
    prepare_data.prepare(directory)
    return directory


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Any:
    """The one full training run of the session (default hyperparameters)."""
    import time

    from model_code.train import TrainConfig, run

    root = tmp_path_factory.mktemp("trained")
    lines: list[str] = []
    config = TrainConfig(
        train=str(data_dir / "train.csv"),
        test=str(data_dir / "test.csv"),
        model_dir=str(root / "model"),
        output_data_dir=str(root / "output"),
        package_output=str(root / "model.tar.gz"),
        prepare_default_data=False,
    )
    started = time.perf_counter()
    result = run(config, print_line=lines.append)
    result.wall_seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    result.log_lines = lines  # type: ignore[attr-defined]
    return result
