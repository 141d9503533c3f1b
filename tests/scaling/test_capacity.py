"""The capacity test against the local model server (Locust in a process of its own), the
recommendation it derives, the YAML line it writes, and Locust's import isolation."""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy_tools.capacity.cli import main
from deploy_tools.capacity.config_file import edited, write_target
from deploy_tools.capacity.plan import CapacityError, recommended_target
from serving_config import ENVIRONMENTS_DIR, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(trained: Any) -> Iterator[Any]:
    from model_code.local_server import start_server

    served = start_server(trained.package_path)
    yield served
    served.shutdown()


def run_tool(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "result.json"
    code = main(["--env", "local", *args, "--json", str(out)])
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_finds_the_sustained_rate_of_the_local_server(
    server: Any, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_tool(
        tmp_path,
        "--url", server.url,
        "--rows", str(data_dir / "test.csv"),
        "--rates", "5,10",
        "--step-s", "2",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    steps = result["steps"]
    assert steps[0]["rate"] == 5  # the ladder goes up until a rate fails
    passed = [s for s in steps if s["failures"] == 0 and s["achieved"] >= 0.9 * s["rate"]]
    assert passed and passed == steps[: len(passed)]
    for step in passed:
        assert 0 < step["p50_ms"] <= step["p99_ms"] <= 300
        assert step["requests"] >= step["rate"] * 2 * 0.8
    sustained = result["sustained_rate"]
    assert sustained == passed[-1]["achieved"]
    assert result["recommended_target_invocations_per_instance"] == math.floor(sustained * 30)
    assert (
        "rate/s  achieved/s" in printed and "recommended target_invocations_per_instance" in printed
    )
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_real_endpoint_mode_invokes_through_boto3(
    server: Any, data_dir: Path, tmp_path: Path
) -> None:
    """The --endpoint-name path (boto3 InvokeEndpoint, SigV4), pointed at the local server's
    SageMaker runtime route."""
    code, result = run_tool(
        tmp_path,
        "--endpoint-name", "capacity-probe",
        "--region", "us-east-1",
        "--endpoint-url", server.url,
        "--rows", str(data_dir / "test.csv"),
        "--rates", "5",
        "--step-s", "1",
    )  # fmt: skip
    assert code == 0
    (step,) = result["steps"]
    assert step["failures"] == 0 and step["requests"] >= 4
    assert "endpoint capacity-probe" in result["target"]


def test_errors_mean_no_sustained_rate(data_dir: Path, tmp_path: Path) -> None:
    from deploy_tools.capacity.cli import _free_port

    code, result = run_tool(
        tmp_path,
        "--url", f"http://127.0.0.1:{_free_port()}",  # nothing listens
        "--rows", str(data_dir / "test.csv"),
        "--rates", "5,10",
        "--step-s", "0.5",
    )  # fmt: skip
    assert code == 1
    (step,) = result["steps"]  # the ladder stops at the first failing rate
    assert step["failures"] == step["requests"] > 0
    assert result["recommended_target_invocations_per_instance"] is None


def test_the_request_budget_bounds_the_run(server: Any, data_dir: Path, tmp_path: Path) -> None:
    code, result = run_tool(
        tmp_path,
        "--url", server.url,
        "--rows", str(data_dir / "test.csv"),
        "--rates", "20,40",
        "--step-s", "3",
        "--max-requests", "12",
    )  # fmt: skip
    assert code == 1
    (step,) = result["steps"]
    assert step["truncated"] and step["requests"] <= 12
    assert step["elapsed_s"] < 3


def test_bad_flags_and_rows_name_the_problem(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--env", "local", "--url", "http://x", "--rates", "10,5"]) == 2
    assert "capacity.rates: [10.0, 5.0] must increase" in capsys.readouterr().err
    wrong = tmp_path / "rows.csv"
    wrong.write_text("a,b,label\n1,2,0\n")
    assert main(["--env", "local", "--url", "http://x", "--rows", str(wrong)]) == 2
    assert "has 2 feature columns, the model takes 30" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--url", "http://x", "--endpoint-name", "e"])


def test_recommendation_is_rate_times_60_times_the_safety_factor() -> None:
    assert recommended_target(40.0, 0.5) == 1200
    assert recommended_target(12.34, 0.8) == 592
    assert recommended_target(0.001, 0.5) == 1


def test_write_config_edits_one_line_and_keeps_the_rest(tmp_path: Path) -> None:
    shutil.copy(ENVIRONMENTS_DIR / "dev.yaml", tmp_path / "dev.yaml")
    before = (tmp_path / "dev.yaml").read_text().splitlines()
    write_target("dev", 1234, "measured today on the local server", tmp_path)
    after = (tmp_path / "dev.yaml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][1] == (
        "  target_invocations_per_instance: 1234  # measured today on the local server"
    )
    assert load_settings("dev", tmp_path).scaling.target_invocations_per_instance == 1234  # type: ignore[union-attr]
    assert yaml.safe_load((tmp_path / "dev.yaml").read_text())["capacity"]


def test_write_config_refuses_a_file_without_a_scaling_target(tmp_path: Path) -> None:
    shutil.copy(ENVIRONMENTS_DIR / "lowtraffic.yaml", tmp_path / "lowtraffic.yaml")
    with pytest.raises(CapacityError, match="no scaling: section"):
        write_target("lowtraffic", 10, "x", tmp_path)
    # a same-named key in another section is not the scaling target
    with pytest.raises(CapacityError):
        edited("other:\n  target_invocations_per_instance: 5\nscaling: null\n", 1, "x")


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ({"safety_factor": 0}, r"capacity.safety_factor: 0.0 is outside \(0, 1\]"),
        ({"rates": [10, 10]}, r"capacity.rates: \[10.0, 10.0\] must increase"),
        ({"rates": [-1]}, r"capacity.rates\[0\]: -1.0 is outside"),
        ({"latency_p99_ms": 0}, r"capacity.latency_p99_ms: 0.0 is outside"),
        ({"max_requests": 0}, r"capacity.max_requests: 0 is outside"),
        ({"step": 5}, r"capacity: unknown field\(s\) step"),
    ],
)
def test_bad_capacity_settings_name_the_field(
    tmp_path: Path, capacity: dict[str, Any], message: str
) -> None:
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"capacity": capacity}))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)


SKIP_DIRS = {".venv", "node_modules", "cdk.out", ".rehearsal", "__pycache__", ".git"}
LOAD_MODULE = ROOT / "deploy_tools" / "capacity" / "load.py"


def _project_sources() -> Iterator[Path]:
    """The project's Python files. Hidden folders (.venv*, .rehearsal, .git) and build outputs
    hold third-party or generated code: not entered at all (a rehearsal running beside this
    test rewrites .rehearsal meanwhile)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        yield from (Path(folder, name) for name in sorted(files) if name.endswith(".py"))


def test_only_the_load_module_imports_locust_or_gevent() -> None:
    """Locust monkey-patches the whole process with gevent on import: no other module of the
    project (tests and rehearsal included) may import it."""
    importers = []
    for path in _project_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in {"locust", "gevent"} for n in names):
                importers.append(path.relative_to(ROOT).as_posix())
    assert sorted(set(importers)) == ["deploy_tools/capacity/load.py"]


def test_the_tool_and_the_app_leave_gevent_out_of_the_process() -> None:
    probe = (
        "import sys, app_factory, deploy_tools.capacity.cli, deploy_tools.capacity.plan, "
        "rehearsal.steps, rehearsal.capacity_step; "
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
