"""The real CDK CLI synthesizes through cdk.json (once: it costs a node start and a synth)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.cli
def test_npx_cdk_synth_writes_both_templates(tmp_path: Path) -> None:
    if not CLI.exists():
        pytest.fail(
            "CDK CLI missing: run scripts/bootstrap.sh (npm ci installs the pinned aws-cdk)"
        )
    env = {
        **os.environ,
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    npx = shutil.which("npx")
    assert npx, "npx (node 20) is required"
    result = subprocess.run(
        [npx, "cdk", "synth", "-c", "env=prod", "-o", str(tmp_path), "--quiet", "--no-notices"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Successfully synthesized" in result.stdout + result.stderr
    for stack in ("mlserving-prod-data", "mlserving-prod-serving"):
        template = json.loads((tmp_path / f"{stack}.template.json").read_text())
        assert template["Resources"]
    serving = json.loads((tmp_path / "mlserving-prod-serving.template.json").read_text())
    configs = [
        r for r in serving["Resources"].values() if r["Type"] == "AWS::SageMaker::EndpointConfig"
    ]
    assert configs[0]["Properties"]["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
