"""Security scanners beyond cdk-nag's AwsSolutions: the NIST 800-53 rev 5 pack runs on every
synth, and checkov on every environment's synthesized templates. 0 failed checks that are not
acknowledged with a written reason at the one resource they concern."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import NIST80053R5Checks

from ml_constructs.checkov import skips_of
from serving_config import available_environments
from tests.synth_cache import synth, synth_pipeline

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ENVIRONMENTS = available_environments()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_cdk_nag_packs_ran_with_every_finding_acknowledged(env: str) -> None:
    reports = {r["pluginName"]: r for r in synth(env).validation_report["pluginReports"]}
    assert set(reports) == {"AwsSolutions", "NIST.800.53.R5"}
    for report in reports.values():
        assert report["conclusion"] == "success" and report["violations"] == []
        for suppressed in report["suppressedViolations"]:
            reason = suppressed.get("reason", "")
            assert len(reason) > 30, suppressed["ruleName"]


def test_nist_pack_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Probe"), "Plain")  # not versioned, not logged
    Validations.of(app).add_plugins(NIST80053R5Checks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "NIST.800.53.R5-S3BucketVersioningEnabled" in report


@pytest.fixture(scope="module")
def checkov() -> dict[str, Any]:
    """One checkov run over both templates of every environment and the pipeline stack's (its
    stages' templates are the environments' own, pinned to an account)."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run scripts/bootstrap.sh (it builds .venv-checkov)")
    pipeline = synth_pipeline()
    templates = sorted(
        path for env in ENVIRONMENTS for path in synth(env).outdir.glob("*.template.json")
    ) + sorted(pipeline.outdir.glob("*.template.json"))
    command = [str(CHECKOV), "--framework", "cloudformation", "-o", "json", "--skip-download"]
    for path in templates:
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    output: dict[str, Any] = json.loads(result.stdout)
    output["templates"] = templates
    return output


def test_checkov_finds_nothing_unacknowledged_in_any_environment(checkov: dict[str, Any]) -> None:
    assert checkov["summary"]["parsing_errors"] == 0
    assert any(p.name.startswith("mlserving-delivery") for p in checkov["templates"])
    assert checkov["summary"]["passed"] > 400
    failed = [
        f"{f['check_id']} {f['resource']} in {Path(f['file_path']).name}"
        for f in checkov["results"]["failed_checks"]
    ]
    assert failed == []


def test_each_checkov_skip_is_one_check_on_one_resource_with_its_reason(
    checkov: dict[str, Any],
) -> None:
    skipped = checkov["results"]["skipped_checks"]
    declared = [
        skip for path in checkov["templates"] for skip in skips_of(json.loads(path.read_text()))
    ]
    assert len(skipped) == len(declared) > 0
    for check in skipped:
        assert check["check_id"].startswith("CKV_")
        assert len(check["check_result"].get("suppress_comment", "")) > 30, check["check_id"]
