"""The async environment's uses of the project key: key policy AND role policy allow them
(evaluated as tests/infra/test_key_use.py does), and the function uses it through S3 only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.policy_evaluation import (
    ACCOUNT,
    REGION,
    Principal,
    allows,
    rendered_policies,
    role_statements,
)
from tests.synth_cache import synth

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
VIA_SNS = {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}


def role(name: str) -> Principal:
    return Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/mlserving-batch-{name}")


@pytest.fixture(scope="module")
def policies() -> dict[str, Any]:
    synthesized = synth("batch")
    return rendered_policies([synthesized.data_json, synthesized.serving_json], KEY_ARN)


def _allowed(policies: dict[str, Any], who: Principal, action: str, extra: dict[str, str]) -> bool:
    context = {"aws:PrincipalArn": str(who.arn), **extra}
    name = str(who.arn).rsplit("/", 1)[1]
    own = role_statements(policies["templates"], name, policies["renderer"])
    return allows(policies["key"], who, action, KEY_ARN, context) and allows(
        own, who, action, KEY_ARN, context
    )


@pytest.mark.parametrize(
    ("who", "action", "extra"),
    [
        (role("inference-fn"), "kms:GenerateDataKey", VIA_S3),  # writes async/input/, records
        (role("inference-fn"), "kms:Decrypt", VIA_S3),  # reads results and failures
        (role("sagemaker-execution"), "kms:Decrypt", VIA_S3),  # reads async/input/
        (role("sagemaker-execution"), "kms:GenerateDataKey", VIA_S3),  # writes results
        (role("sagemaker-execution"), "kms:GenerateDataKey", VIA_SNS),  # encrypted topics
        (role("sagemaker-execution"), "kms:Decrypt", VIA_SNS),
    ],
)
def test_async_uses_of_the_key_are_allowed(
    policies: dict[str, Any], who: Principal, action: str, extra: dict[str, str]
) -> None:
    assert _allowed(policies, who, action, extra)


def test_the_function_uses_the_key_through_s3_only(policies: dict[str, Any]) -> None:
    assert not _allowed(policies, role("inference-fn"), "kms:Decrypt", {})
    assert not _allowed(policies, role("inference-fn"), "kms:Encrypt", VIA_S3)
