"""cdk-nag runs on every synth and fails it on any unacknowledged finding; cfn-lint is clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from serving_config import available_environments
from tests.synth_cache import synth, synth_pipeline

ENVIRONMENTS = available_environments()
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_synthesizes_with_no_unacknowledged_nag_finding(env: str) -> None:
    synthesized = synth(env)  # raises if any cdk-nag finding is left unacknowledged
    failures = [
        violation
        for report in synthesized.validation_report.get("pluginReports", [])
        for violation in report.get("violations", [])
    ]
    assert failures == []
    assert synthesized.data_json["Resources"] and synthesized.serving_json["Resources"]


def test_nag_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Probe")
    s3.Bucket(stack, "Plain")  # no access logs, no TLS-only policy
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = json.dumps(report)
    assert "AwsSolutions-S1" in rules and "AwsSolutions-S10" in rules


# Ignored by id, only where the resource is CDK's own generated code (not ours to change):
IGNORED = {
    # CDK's own providers (auto-delete objects, restrict the VPC's default security group) state a
    # DependsOn that their GetAtt already implies.
    "W3005": (
        "CustomS3AutoDeleteObjectsCustomResourceProvider",
        "CustomVpcRestrictDefaultSGCustomResourceProvider",
    ),
}


def _ignored(rule_id: str, path: list[str]) -> bool:
    prefixes = IGNORED.get(rule_id, ())
    return len(path) > 1 and path[0] == "Resources" and path[1].startswith(prefixes)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_reports_nothing(env: str) -> None:
    from tests.cfn_lint import lint

    synthesized = synth(env)
    problems = []
    for name in ("data", "serving"):
        template_path = next(synthesized.outdir.glob(f"*-{name}.template.json"))
        matches = lint(template_path.read_text(), LINT_REGIONS)
        problems += [
            f"{name}: {m.rule.id} {m.message} at {m.path}"
            for m in matches
            if not _ignored(m.rule.id, [str(p) for p in m.path])
        ]
    assert problems == []


def _generated_pipeline_quirk(rule_id: str, path: list[str], template: dict[str, Any]) -> bool:
    """What cfn-lint reports on the CodePipeline resource that CDK Pipelines writes (not ours to
    change): W3005, a DependsOn on the pipeline role that its GetAtt already implies, and E3703,
    its ARN format check on the cross-account cfn-exec role ARN that CDK Pipelines writes as an
    Fn::Join (the value is pinned by tests/infra/test_pipeline_stack.py)."""
    resource = template["Resources"].get(path[1], {}) if len(path) > 1 else {}
    if resource.get("Type") != "AWS::CodePipeline::Pipeline":
        return False
    return rule_id == "W3005" or (rule_id == "E3703" and path[-2:] == ["Configuration", "RoleArn"])


def test_the_pipeline_synthesizes_with_every_nag_finding_acknowledged_with_a_reason() -> None:
    reports = {r["pluginName"]: r for r in synth_pipeline().validation_report["pluginReports"]}
    assert set(reports) == {"AwsSolutions", "NIST.800.53.R5"}
    for report in reports.values():
        assert report["conclusion"] == "success" and report["violations"] == []
        for suppressed in report["suppressedViolations"]:
            assert len(suppressed.get("reason", "")) > 30, suppressed["ruleName"]


def test_cfn_lint_reports_nothing_on_the_pipeline_stack() -> None:
    from tests.cfn_lint import lint

    template = synth_pipeline().pipeline_json
    matches = lint(json.dumps(template), ["eu-west-1"])
    problems = [
        f"{m.rule.id} {m.message} at {m.path}"
        for m in matches
        if not _generated_pipeline_quirk(m.rule.id, [str(p) for p in m.path], template)
    ]
    assert problems == []
    assert {m.rule.id for m in matches} <= {"W3005", "E3703"}
