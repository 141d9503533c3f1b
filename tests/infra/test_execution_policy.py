"""The least-privilege execution policies for `cdk bootstrap`: every resource type the stacks
hold is covered by what its CloudFormation handlers need, IAM stays on the project's roles, and
each document fits a managed policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy_tools import execution_policy
from deploy_tools.execution_policy import (
    MAX_POLICY_CHARS,
    Target,
    compact_size,
    documents,
    handler_permissions,
    resource_types,
    statements,
)
from serving_config import available_environments
from tests.synth_cache import synth


def environment_types(env: str) -> set[str]:
    synthesized = synth(env)
    return resource_types([synthesized.data_json, synthesized.serving_json])


@pytest.mark.parametrize("env", available_environments())
def test_every_resource_types_handlers_are_allowed_and_iam_stays_on_project_roles(
    env: str,
) -> None:
    types = environment_types(env)
    target = Target("mlserving", "111111111111", "eu-west-1", ("/mlserving/x/model-data-url",))
    policies = documents(statements(types, target))
    assert all(compact_size(p) <= MAX_POLICY_CHARS for p in policies)
    allowed: dict[str, list[str]] = {}
    for statement in (s for p in policies for s in p["Statement"]):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert not action.endswith(":*") and action != "*", action
            resource = statement["Resource"]
            allowed.setdefault(action, []).extend(
                resource if isinstance(resource, list) else [resource]
            )
    for kind in types:
        for permission in handler_permissions(kind):
            if permission.startswith("iam:") and permission.endswith(("UserPolicy", "GroupPolicy")):
                continue  # the stacks attach policies to roles only
            assert permission in allowed, f"{kind} needs {permission}"
    for action, resources in allowed.items():
        if action.startswith("iam:"):
            assert set(resources) <= {
                "arn:aws:iam::111111111111:role/mlserving-*",
                "arn:aws:iam::111111111111:role/aws-service-role/*",
            }, action


def test_an_unknown_resource_type_is_refused() -> None:
    with pytest.raises(execution_policy.PolicyError, match="AWS::Nothing::Here"):
        handler_permissions("AWS::Nothing::Here")


def test_the_pipeline_command_writes_each_stages_policies_and_its_bootstrap_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session's synth of each environment (the same build_app the command calls).
    monkeypatch.setattr(
        execution_policy,
        "environment_templates",
        lambda settings: [synth(settings.name).data_json, synth(settings.name).serving_json],
    )
    assert execution_policy.main(["--pipeline", "pipeline", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for stage, account in (("staging", "111111111111"), ("prod", "222222222222")):
        files = sorted((tmp_path / stage).glob("*.json"))
        assert files and all(json.loads(f.read_text())["Statement"] for f in files)
        arns = ",".join(f"arn:aws:iam::{account}:policy/{f.stem}" for f in files)
        assert (
            f"npx cdk bootstrap aws://{account}/eu-west-1 --trust 333333333333 "
            f"--cloudformation-execution-policies {arns}"
        ) in out
    parameters = next(
        s
        for s in json.loads((tmp_path / "prod" / "mlserving-prod-cfn-exec-2.json").read_text())[
            "Statement"
        ]
        if s["Sid"] == "ResolveTemplateParameters"
    )
    assert (
        "arn:aws:ssm:eu-west-1:222222222222:parameter/mlserving/prod/model-data-url"
        in parameters["Resource"]
    )


def test_an_environment_without_an_account_needs_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert execution_policy.main(["--env", "prod", "--output-dir", "/nonexistent"]) == 2
    assert "pass --account and --region" in capsys.readouterr().err
