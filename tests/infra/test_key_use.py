"""Every principal that reads or writes SSE-KMS data with the project key may do so: the key
policy AND the principal's own IAM policy allow it (same account, customer managed key), and
nobody else may. The list of principals is docs/aws-contracts.md's ("KMS key policy" rows).
"""

from __future__ import annotations

from typing import Any

import pytest

from serving_config import load_settings
from tests.infra.policy_evaluation import (
    ACCOUNT,
    REGION,
    Principal,
    allows,
    rendered_policies,
    role_statements,
)
from tests.synth_cache import synth

ENV = "local"  # concrete account and region; names an operator (the rehearsal's)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
VIA_SQS = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
VIA_SNS = {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
FOR_AWS_RESOURCE = {"kms:GrantIsForAWSResource": "true"}
PREFIX = load_settings(ENV).prefix


def role(name: str) -> Principal:
    return Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{name}")


# (who, action, context, why): the uses the stack relies on.
NEEDS: list[tuple[Principal, str, dict[str, str], str]] = [
    (role("sagemaker-execution"), "kms:Decrypt", VIA_S3, "endpoint reads models/ (SSE-KMS)"),
    (role("sagemaker-execution"), "kms:GenerateDataKey", VIA_S3, "data capture to data-capture/"),
    (role("sagemaker-execution"), "kms:CreateGrant", FOR_AWS_RESOURCE, "endpoint volume"),
    (role("sagemaker-execution"), "kms:DescribeKey", {}, "endpoint volume"),
    (role("sagemaker-training"), "kms:Decrypt", VIA_S3, "training reads datasets/"),
    (role("sagemaker-training"), "kms:GenerateDataKey", VIA_S3, "training writes models/"),
    (role("sagemaker-training"), "kms:CreateGrant", FOR_AWS_RESOURCE, "training volume"),
    (role("model-promotion"), "kms:Decrypt", VIA_S3, "promotion reads the upload"),
    (role("model-promotion"), "kms:GenerateDataKey", VIA_S3, "promotion writes the release copy"),
    (role("model-promotion"), "kms:Decrypt", VIA_SQS, "promotion receives from the queue"),
    (role("model-promotion"), "kms:GenerateDataKey", VIA_SNS, "promotion publishes reports"),
    (role("model-promotion"), "kms:CreateGrant", FOR_AWS_RESOURCE, "new endpoint fleet volumes"),
    (role("drift-monitor"), "kms:Decrypt", VIA_S3, "monitor reads captures, labels, baseline"),
    (role("drift-monitor"), "kms:GenerateDataKey", VIA_S3, "monitor writes its reports"),
    (role("drift-monitor"), "kms:GenerateDataKey", VIA_SNS, "monitor announces drift"),
    (role("deployer"), "kms:GenerateDataKey", VIA_S3, "operator uploads models and datasets"),
    (role("deployer"), "kms:Decrypt", VIA_S3, "multipart upload completion, read back"),
]
SERVICES: list[tuple[Principal, str, dict[str, str], str]] = [
    (
        Principal(service="cloudwatch.amazonaws.com"),
        "kms:GenerateDataKey",
        {"aws:SourceAccount": ACCOUNT},
        "alarms publish to the encrypted topic",
    ),
    (
        Principal(service="events.amazonaws.com"),
        "kms:GenerateDataKey",
        {"aws:SourceAccount": ACCOUNT},
        "EventBridge sends to the encrypted promotion queue",
    ),
    (
        Principal(service=f"logs.{REGION}.amazonaws.com"),
        "kms:Encrypt",
        {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/x"
            )
        },
        "CloudWatch Logs encrypts the log groups",
    ),
]


@pytest.fixture(scope="module")
def policies() -> dict[str, Any]:
    synthesized = synth(ENV)
    return rendered_policies([synthesized.data_json, synthesized.serving_json], KEY_ARN)


def identity(policies: dict[str, Any], who: Principal) -> list[dict[str, Any]]:
    name = who.arn.rsplit("/", 1)[1]
    return role_statements(policies["templates"], name, policies["renderer"])


def context_of(who: Principal, extra: dict[str, str]) -> dict[str, str]:
    return {**({"aws:PrincipalArn": who.arn} if who.arn else {}), **extra}


@pytest.mark.parametrize(("who", "action", "extra", "why"), NEEDS, ids=[n[3] for n in NEEDS])
def test_key_policy_and_role_policy_both_allow(
    policies: dict[str, Any], who: Principal, action: str, extra: dict[str, str], why: str
) -> None:
    context = context_of(who, extra)
    assert allows(policies["key"], who, action, KEY_ARN, context), f"key policy: {why}"
    assert allows(identity(policies, who), who, action, KEY_ARN, context), f"role policy: {why}"


@pytest.mark.parametrize(("who", "action", "extra", "why"), SERVICES, ids=[s[3] for s in SERVICES])
def test_key_policy_lets_the_services_encrypt_what_they_deliver(
    policies: dict[str, Any], who: Principal, action: str, extra: dict[str, str], why: str
) -> None:
    assert allows(policies["key"], who, action, KEY_ARN, extra), why


def test_configured_operators_use_the_key_only_through_s3(policies: dict[str, Any]) -> None:
    """The operators named in configuration (their own IAM policies are theirs to set)."""
    operators = load_settings(ENV).operators
    assert operators
    for arn in operators:
        who = Principal(arn=arn)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert allows(policies["key"], who, action, KEY_ARN, context_of(who, VIA_S3))
            assert not allows(policies["key"], who, action, KEY_ARN, context_of(who, {}))
        assert not allows(policies["key"], who, "kms:Encrypt", KEY_ARN, context_of(who, VIA_S3))


@pytest.mark.parametrize(
    ("who", "action", "extra"),
    [
        (role("deployer"), "kms:Decrypt", {}),  # not through S3
        (role("deployer"), "kms:CreateGrant", FOR_AWS_RESOURCE),
        (role("inference-fn"), "kms:Decrypt", VIA_S3),  # needs no key at all
        (Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/someone-else"), "kms:Decrypt", VIA_S3),
        (Principal(arn=f"arn:aws:iam::{ACCOUNT}:root"), "kms:Decrypt", VIA_S3),
        # S3 sends object events to EventBridge's default bus: it never needs the key.
        (
            Principal(service="s3.amazonaws.com"),
            "kms:GenerateDataKey",
            {"aws:SourceAccount": ACCOUNT},
        ),
    ],
)
def test_nobody_else_may_use_the_key(
    policies: dict[str, Any], who: Principal, action: str, extra: dict[str, str]
) -> None:
    context = context_of(who, extra)
    key_allows = allows(policies["key"], who, action, KEY_ARN, context)
    role_allows = bool(who.arn and ":role/" in who.arn) and allows(
        identity(policies, who), who, action, KEY_ARN, context
    )
    assert not (key_allows and role_allows)


def test_key_administrators_cannot_use_the_data() -> None:
    """The account root administers the key (and CloudFormation updates it), never decrypts."""
    synthesized = synth(ENV)
    (key,) = [
        r for r in synthesized.data_json["Resources"].values() if r["Type"] == "AWS::KMS::Key"
    ]
    (admin,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Sid"] == "KeyAdministration"
    ]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:*"} & set(
        admin["Action"]
    )
