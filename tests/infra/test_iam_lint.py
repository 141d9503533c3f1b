"""Every IAM policy of every template, linted by parliament (deploy_tools.iam_lint): unknown
actions, resources of the wrong type and condition keys that do not apply fail; and what the
lint catches, shown on the defects it was brought in for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy_tools import iam_lint
from serving_config import available_environments
from tests.synth_cache import synth, synth_monitored, synth_pipeline


def lint(*statements: dict[str, Any], resources: dict[str, Any] | None = None) -> set[str]:
    """The failing issues of one template holding ``statements`` in one policy."""
    template = {
        "Resources": {
            **(resources or {}),
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}
                },
            },
        }
    }
    return {f.issue for f in iam_lint.failures(iam_lint.lint_templates({"t": template}))}


@pytest.mark.parametrize("env", available_environments())
def test_every_environments_policies_lint_clean(env: str) -> None:
    findings = iam_lint.failures(iam_lint.lint_assembly(synth(env).outdir))
    assert [str(f) for f in findings] == []


def test_the_monitored_environments_and_the_pipeline_lint_clean() -> None:
    for outdir in (synth_monitored("prod").outdir, synth_monitored("dev").outdir):
        assert [str(f) for f in iam_lint.failures(iam_lint.lint_assembly(outdir))] == []
    pipeline = synth_pipeline().outdir
    assert len(list(iam_lint.assemblies(pipeline))) == 3  # the pipeline's and both stages'
    assert [str(f) for f in iam_lint.failures(iam_lint.lint_assembly(pipeline))] == []


def test_describe_key_under_a_grant_only_condition_fails() -> None:
    """kms:GrantIsForAWSResource applies to the grant operations only: DescribeKey in the same
    statement is never allowed (issue 18, finding 8)."""
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    grant_only = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert lint(
        {
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:DescribeKey"],
            "Resource": key,
            "Condition": grant_only,
        }
    ) == {"UNKNOWN_CONDITION_FOR_ACTION"}
    assert (
        lint(
            {
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key,
                "Condition": grant_only,
            },
            {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key},
        )
        == set()
    )


def test_the_connections_prefix_must_match_the_connection_arn() -> None:
    """IAM needs the action's service prefix to match the resource's (issue 18, finding 4)."""
    connection = "arn:aws:codeconnections:eu-west-1:333333333333:connection/c"
    use = {"Effect": "Allow", "Resource": connection}
    assert lint({**use, "Action": "codestar-connections:UseConnection"}) == {"RESOURCE_MISMATCH"}
    assert lint({**use, "Action": "codeconnections:UseConnection"}) == set()


def test_unknown_actions_and_wrong_resource_types_fail() -> None:
    queue = {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}
    on_queue = {"Fn::GetAtt": ["Queue", "Arn"]}
    assert lint({"Effect": "Allow", "Action": "sagemaker:InvokeEndpointz", "Resource": "*"}) == {
        "UNKNOWN_ACTION"
    }
    assert lint(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": on_queue}, resources=queue
    ) == {"RESOURCE_MISMATCH"}
    assert (
        lint(
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": on_queue}, resources=queue
        )
        == set()
    )


def test_a_wildcard_fails_only_when_it_grants_nothing_on_the_resource() -> None:
    """``s3:*`` on a bucket expands to actions a bucket cannot take; IAM ignores those."""
    bucket = {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}
    on_bucket = [
        {"Fn::GetAtt": ["Bucket", "Arn"]},
        {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]},
    ]
    assert (
        lint({"Effect": "Allow", "Action": "s3:*", "Resource": on_bucket}, resources=bucket)
        == set()
    )
    assert lint(
        {"Effect": "Allow", "Action": "s3:*Job*", "Resource": on_bucket}, resources=bucket
    ) == {"RESOURCE_MISMATCH"}


def test_intrinsics_render_to_arns_of_their_resource_type(tmp_path: Path) -> None:
    templates = {
        "data": {
            "Resources": {
                "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            },
            "Outputs": {
                "G": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}, "Export": {"Name": "data:G"}}
            },
        },
        "serving": {"Resources": {}},
    }
    renderer = iam_lint.Renderer(templates)
    assert renderer.render("serving", {"Fn::ImportValue": "data:G"}) == (
        "arn:aws:logs:us-east-1:123456789012:log-group:group:*"
    )
    assert renderer.render("data", {"Ref": "Topic"}).startswith("arn:aws:sns:us-east-1:")
    assert renderer.render("serving", {"Fn::ImportValue": "missing"}) == "unrendered"
    assert renderer.unrendered == ["import missing"]


def test_the_command_fails_on_a_failing_finding(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:Nope", "Resource": "*"}],
                    }
                },
            }
        }
    }
    (tmp_path / "s.template.json").write_text(json.dumps(template))
    assert iam_lint.main([str(tmp_path)]) == 1
    assert "UNKNOWN_ACTION" in capsys.readouterr().out
    assert iam_lint.main([str(tmp_path / "nowhere")]) == 2
