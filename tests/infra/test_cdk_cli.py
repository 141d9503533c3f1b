"""The real CDK CLI synthesizes through cdk.json (once: it costs a node start and a synth; it runs
in the background from the end of collection, tests/background.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.background import RUNS, Run

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture
def cdk_cli_synth() -> Run:
    """``npx cdk synth -c env=prod -o OUTDIR --quiet --no-notices`` in the repository."""
    return RUNS.run("cdk_cli_synth")


@pytest.mark.cli
def test_npx_cdk_synth_writes_both_templates(cdk_cli_synth: Run) -> None:
    if not CLI.exists():
        pytest.fail(
            "CDK CLI missing: run scripts/bootstrap.sh (npm ci installs the pinned aws-cdk)"
        )
    npx = shutil.which("npx")
    assert npx, "npx (node 20) is required"
    returncode, stdout, stderr = cdk_cli_synth.result()
    assert returncode == 0, stderr[-3000:]
    assert "Successfully synthesized" in stdout + stderr
    outdir = cdk_cli_synth.outdir
    assert outdir is not None
    for stack in ("mlserving-prod-data", "mlserving-prod-serving"):
        template = json.loads((outdir / f"{stack}.template.json").read_text())
        assert template["Resources"]
    serving = json.loads((outdir / "mlserving-prod-serving.template.json").read_text())
    configs = [
        r for r in serving["Resources"].values() if r["Type"] == "AWS::SageMaker::EndpointConfig"
    ]
    assert configs[0]["Properties"]["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
