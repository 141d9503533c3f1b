"""The registry path in the synthesized templates: the group, its resource policy naming only
configured accounts, approvals -> the promotion queue, and what crossing accounts needs on each
side (staging shares, prod admits and reads)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from app_factory import build_app
from serving_config import ConfigError, load_settings
from tests.synth_cache import synth

STAGING, PROD = "111111111111", "222222222222"
STAGING_KEY = f"arn:aws:kms:eu-west-1:{STAGING}:key/0b6c5d4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e"
GROUP_IN_STAGING = f"arn:aws:sagemaker:eu-west-1:{STAGING}:model-package-group/g"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::Events::Rule")


def approval_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in rules(template).values()
        if r["EventPattern"].get("detail-type") == ["SageMaker Model Package State Change"]
    ]


def test_prod_has_its_group_and_promotes_on_approval_only() -> None:
    synthesized = synth("prod")
    (group,) = resources(synthesized.data_json, "AWS::SageMaker::ModelPackageGroup").values()
    assert group["ModelPackageGroupName"] == load_settings("prod").model_package_group
    assert "ModelPackageGroupPolicy" not in group  # no consumer accounts configured
    serving = synthesized.serving_json
    (approval,) = approval_rules(serving)
    assert approval["EventPattern"]["source"] == ["aws.sagemaker"]
    assert approval["EventPattern"]["detail"] == {
        "ModelPackageGroupName": ["mlserving-prod"],
        "ModelApprovalStatus": ["Approved"],
    }
    (queue_id,) = [
        k
        for k, q in resources(serving, "AWS::SQS::Queue").items()
        if q["QueueName"] == "mlserving-prod-promotion"
    ]
    assert approval["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    uploads = [r for r in rules(serving).values() if r["EventPattern"]["source"] == ["aws.s3"]]
    assert uploads == []  # registry.trigger: registry
    (function,) = [
        f
        for f in resources(serving, "AWS::Lambda::Function").values()
        if f.get("FunctionName") == "mlserving-prod-model-promotion"
    ]
    env = function["Environment"]["Variables"]
    assert (env["PACKAGE_GROUP"], env["PACKAGE_GROUP_ACCOUNT"]) == ("mlserving-prod", "")
    assert env["MARK_REJECTED_PACKAGES"] == "true"


def test_dev_promotes_on_upload_and_on_approval_and_admits_both_rules() -> None:
    serving = synth("dev").serving_json
    assert len(approval_rules(serving)) == 1
    assert any(r["EventPattern"]["source"] == ["aws.s3"] for r in rules(serving).values())
    (policy,) = [
        p
        for p in resources(serving, "AWS::SQS::QueuePolicy").values()
        if any(
            s.get("Sid") == "EventBridgeRulesOfThisPromotion"
            for s in p["PolicyDocument"]["Statement"]
        )
    ]
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    admitted = {a["Fn::GetAtt"][0] for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"]}
    to_queues = {
        k
        for k, rule in rules(serving).items()
        if any(":sqs:" in json.dumps(t) or "Queue" in json.dumps(t) for t in rule["Targets"])
    }
    assert admitted == to_queues and len(admitted) == 3  # uploads, approvals, endpoint state


def test_upload_only_environments_have_no_approval_rule() -> None:
    assert load_settings("lowtraffic").registry.trigger == "upload"
    assert approval_rules(synth("lowtraffic").serving_json) == []


@cache
def cross_account() -> dict[str, Any]:
    """A staging environment shared with prod, and a prod environment promoting its packages."""
    directory = Path(tempfile.mkdtemp(prefix="cross-account-environments-"))
    common = {"endpoint": {"instance_type": "ml.m5.large"}}
    (directory / "staging.yaml").write_text(
        yaml.safe_dump(
            {
                **common,
                "account": STAGING,
                "region": "eu-west-1",
                "registry": {"trigger": "registry", "consumer_accounts": [PROD]},
            }
        )
    )
    (directory / "prodx.yaml").write_text(
        yaml.safe_dump(
            {
                **common,
                "account": PROD,
                "region": "eu-west-1",
                "registry": {
                    "trigger": "registry",
                    "source_group_arn": (
                        f"arn:aws:sagemaker:eu-west-1:{STAGING}:model-package-group/mlserving-staging"
                    ),
                    "source_bucket": "mlserving-staging-artifacts",
                    "source_key_arn": STAGING_KEY,
                },
            }
        )
    )
    templates: dict[str, Any] = {}
    for env in ("staging", "prodx"):
        app = build_app(context={"env": env, "config_dir": str(directory)})
        assembly = app.synth()
        templates[env] = {s.stack_name.rsplit("-", 1)[1]: s.template for s in assembly.stacks}
    return templates


def test_staging_shares_its_group_artifacts_key_and_approvals_with_prod_only() -> None:
    data = cross_account()["staging"]["data"]
    (group,) = resources(data, "AWS::SageMaker::ModelPackageGroup").values()
    (statement,) = group["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PROD}:root"}  # pinned env
    assert sorted(statement["Action"]) == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
    ]
    allowed = [
        s["Principal"] for s in _all_statements(data) if "Principal" in s and s["Effect"] == "Allow"
    ]
    assert '"*"' not in json.dumps(allowed)  # no * principal in any grant
    (bucket_policy,) = [
        p
        for p in resources(data, "AWS::S3::BucketPolicy").values()
        if any(
            s.get("Sid") == "ConsumerAccountsReadModels" for s in p["PolicyDocument"]["Statement"]
        )
    ]
    assert f":iam::{PROD}:root" in json.dumps(bucket_policy)
    (key,) = resources(data, "AWS::KMS::Key").values()
    (decrypt,) = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ConsumerAccountsDecryptModelsThroughS3"
    ]
    assert decrypt["Action"] == "kms:Decrypt"
    assert "kms:ViaService" in decrypt["Condition"]["StringEquals"]
    (forward,) = approval_rules(data)
    assert f":{PROD}:event-bus/default" in json.dumps(forward["Targets"])
    assert "RoleArn" in forward["Targets"][0]


def _all_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for field in ("PolicyDocument", "KeyPolicy", "ModelPackageGroupPolicy"):
            if isinstance(props.get(field), dict):
                found.extend(props[field].get("Statement", []))
    return found


def test_prod_admits_stagings_approvals_and_reads_only_its_artifacts() -> None:
    serving = cross_account()["prodx"]["serving"]
    (bus_policy,) = resources(serving, "AWS::Events::EventBusPolicy").values()
    assert bus_policy["EventBusName"] == "default"
    assert bus_policy["Statement"]["Action"] == "events:PutEvents"
    assert f":iam::{STAGING}:root" in json.dumps(bus_policy["Statement"]["Principal"])
    (approval,) = approval_rules(serving)
    assert approval["EventPattern"]["account"] == [STAGING]
    assert approval["EventPattern"]["detail"]["ModelPackageGroupName"] == ["mlserving-staging"]
    statements = {s.get("Sid"): s for s in _all_statements(serving)}
    read = statements["ReadTheSourceGroupsPackages"]
    assert read["Action"] == "sagemaker:DescribeModelPackage"
    assert f":{STAGING}:model-package/mlserving-staging/*" in json.dumps(read["Resource"])
    assert "sagemaker:UpdateModelPackage" not in json.dumps(_all_statements(serving))
    assert json.dumps(statements["ReadTheSourceAccountsArtifacts"]["Resource"]).endswith(
        ':s3:::mlserving-staging-artifacts/models/*"]]}'
    )
    decrypt = statements["DecryptTheSourceAccountsArtifactsThroughS3"]
    assert decrypt["Resource"] == STAGING_KEY


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ({"trigger": "sometimes"}, r"registry.trigger: 'sometimes' is not one of"),
        ({"consumer_accounts": ["12345"]}, r"registry.consumer_accounts\[0\]: '12345' is not"),
        ({"consumer_accounts": [PROD, PROD]}, r"registry.consumer_accounts: has duplicates"),
        ({"group_name": "bad_name"}, r"registry.group_name: 'bad_name' is not a model package"),
        (
            {"trigger": "registry", "source_group_arn": "arn:aws:sagemaker:x"},
            r"registry.source_group_arn: source_group_arn, source_bucket and source_key_arn go",
        ),
        (
            {
                "trigger": "registry",
                "source_group_arn": "arn:aws:sagemaker:eu-west-1:1:model-package-group/g",
                "source_bucket": "b-bucket",
                "source_key_arn": STAGING_KEY,
            },
            r"registry.source_group_arn: .* is not a model package group ARN",
        ),
        (
            {
                "trigger": "upload",
                "source_group_arn": f"arn:aws:sagemaker:eu-west-1:{STAGING}:model-package-group/g",
                "source_bucket": "b-bucket",
                "source_key_arn": STAGING_KEY,
            },
            r"registry.trigger: 'upload' never promotes the source group",
        ),
    ],
)
def test_registry_configuration_errors_name_the_field(
    tmp_path: Path, registry: dict[str, Any], message: str
) -> None:
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"registry": registry}))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"registry": {"consumer_accounts": [STAGING]}},
            r"registry.consumer_accounts: names this environment's own account",
        ),
        (
            {
                "registry": {
                    "trigger": "registry",
                    "source_group_arn": GROUP_IN_STAGING,
                    "source_bucket": "b-bucket",
                    "source_key_arn": STAGING_KEY,
                }
            },
            r"registry.source_group_arn: is in this environment's own account",
        ),
        (
            {
                "registry": {
                    "trigger": "registry",
                    "source_group_arn": f"arn:aws:sagemaker:us-east-1:{PROD}:model-package-group/g",
                    "source_bucket": "b-bucket",
                    "source_key_arn": STAGING_KEY,
                }
            },
            r"registry.source_group_arn: is not in this environment's region eu-west-1",
        ),
    ],
)
def test_accounts_and_regions_of_the_registry_are_checked(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    data = {"account": STAGING, "region": "eu-west-1", **extra}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)


@pytest.mark.parametrize("env", ["staging", "prodx"])
def test_cross_account_templates_pass_cfn_lint(env: str) -> None:
    """cdk-nag ran on these synths (an unacknowledged finding fails build_app's synth)."""
    from tests.cfn_lint import lint

    problems = [
        f"{name}: {m.rule.id} {m.message} at {m.path}"
        for name, template in cross_account()[env].items()
        for m in lint(json.dumps(template), ["eu-west-1"])
        if not (m.rule.id == "W3005" and "AutoDeleteObjects" in str(m.path))
    ]
    assert problems == []
