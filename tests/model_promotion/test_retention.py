"""Old promotions are deleted once a promotion settles; what serves, what a manual rollback
needs, what CloudFormation owns and what the next deploy reads are kept (moto)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from ml_constructs.model_promotion.runtime import retention
from tests.model_promotion import artifacts
from tests.model_promotion.conftest import BUCKET, ENDPOINT, INITIAL_URI, Account
from tests.model_promotion.test_promotion import KEY, run

STATE_CHANGE = {
    "source": "aws.sagemaker",
    "detail-type": "SageMaker Endpoint State Change",
    "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
}


def promote(account: Account, monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """``count`` promotions of distinct artifacts; the endpoint config of each, oldest first."""
    names = []
    for i in range(count):
        data = artifacts.build(
            artifacts.replacing("metrics.json", artifacts.metrics(0.91 + i / 100))
        )
        assert run(account, account.upload(KEY, data), monkeypatch) == {"batchItemFailures": []}
        names.append(account.endpoint()["EndpointConfigName"])
    assert len(set(names)) == count
    return names


def settle(account: Account, monkeypatch: pytest.MonkeyPatch, **overrides: str) -> Any:
    return run(account, STATE_CHANGE, monkeypatch, **overrides)


def configs(account: Account) -> set[str]:
    listed = account.sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
    return {c["EndpointConfigName"] for c in listed}


def models(account: Account) -> set[str]:
    return {m["ModelName"] for m in account.sagemaker.list_models(MaxResults=100)["Models"]}


def releases(account: Account) -> set[str]:
    listed = account.s3.list_objects_v2(Bucket=BUCKET, Prefix="models/releases/")
    return {o["Key"] for o in listed.get("Contents", [])}


def artifact_of(account: Account, model: str) -> str:
    described = account.sagemaker.describe_model(ModelName=model)
    return str(described["PrimaryContainer"]["ModelDataUrl"])


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "GRACE", dt.timedelta(0))


def test_settled_promotion_keeps_the_serving_one_and_the_previous_n(
    account: Account, monkeypatch: pytest.MonkeyPatch, no_grace: None
) -> None:
    names = promote(account, monkeypatch, 6)
    assert len(releases(account)) == 6
    assert settle(account, monkeypatch, KEEP_PREVIOUS="2") == {"batchItemFailures": []}

    serving, kept = names[-1], names[-3:-1]
    assert account.endpoint()["EndpointConfigName"] == serving
    promoted = {n for n in configs(account) if n.startswith("mlserving-dev-p-")}
    assert promoted == {serving, *kept}
    assert {n for n in models(account) if n.startswith("mlserving-dev-p-")} == {serving, *kept}
    # Release copies of deleted promotions are gone; the kept ones and the recorded one stay.
    expected = {artifact_of(account, n).split(f"s3://{BUCKET}/", 1)[1] for n in (serving, *kept)}
    assert releases(account) == expected
    assert account.recorded_artifact() == artifact_of(account, serving)
    # CloudFormation's model and config are never touched; nor is the uploaded object.
    assert "EndpointConfig-ABC123" in configs(account)
    assert "Model-ABC123" in models(account)
    assert account.s3.head_object(Bucket=BUCKET, Key=KEY)


def test_clean_up_is_idempotent_and_reported(
    account: Account, monkeypatch: pytest.MonkeyPatch, no_grace: None, capsys: Any
) -> None:
    promote(account, monkeypatch, 5)
    settle(account, monkeypatch)
    out = capsys.readouterr().out
    deleted = next(json.loads(line) for line in out.splitlines() if "promotions_deleted" in line)
    assert len([d for d in deleted["deleted"] if d.startswith("endpoint-config/")]) == 1
    metric = next(
        json.loads(line) for line in out.splitlines() if '"_aws"' in line and "Deleted" in line
    )
    assert metric["PromotionResourcesDeleted"] == len(deleted["deleted"])
    before = (configs(account), models(account), releases(account))
    settle(account, monkeypatch)
    assert (configs(account), models(account), releases(account)) == before


def test_young_promotions_are_kept_whatever_keep_previous_says(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A promotion may be creating its model right now: nothing in its first minutes goes."""
    names = promote(account, monkeypatch, 3)
    settle(account, monkeypatch, KEEP_PREVIOUS="0")
    assert set(names) <= configs(account)


def test_nothing_is_deleted_while_a_deployment_runs(
    account: Account, monkeypatch: pytest.MonkeyPatch, no_grace: None
) -> None:
    from tests.model_promotion import moto_sagemaker

    names = promote(account, monkeypatch, 5)
    moto_sagemaker.set_status(ENDPOINT, "Updating")
    promoter = account.promoter(KEEP_PREVIOUS="0")
    assert promoter.clean_up() == []
    assert set(names) <= configs(account)


def test_release_named_by_the_parameter_or_the_stacks_model_is_kept(
    account: Account, monkeypatch: pytest.MonkeyPatch, no_grace: None
) -> None:
    """The next `cdk deploy` serves what the SSM parameter names, and a stack rollback what
    the stack's own model names: neither artifact may disappear."""
    names = promote(account, monkeypatch, 4)
    oldest = artifact_of(account, names[0])
    second = artifact_of(account, names[1])
    account.ssm.put_parameter(
        Name="/mlserving/dev/model-data-url", Value=oldest, Type="String", Overwrite=True
    )
    account.sagemaker.create_model(
        ModelName="Model-DEF456",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlserving-dev-sagemaker-execution",
        PrimaryContainer={"Image": "image", "ModelDataUrl": second},
    )
    promoter = account.promoter(KEEP_PREVIOUS="0", STACK_MODEL_NAME="Model-DEF456")
    deleted = promoter.clean_up()
    assert f"endpoint-config/{names[0]}" in deleted and f"model/{names[1]}" in deleted
    remaining = {f"s3://{BUCKET}/{key}" for key in releases(account)}
    assert {oldest, second} <= remaining
    assert INITIAL_URI not in deleted


def test_resources_without_the_promotion_tag_are_never_deleted(
    account: Account, monkeypatch: pytest.MonkeyPatch, no_grace: None
) -> None:
    """A config that merely has the prefix (made by hand, or by CloudFormation) stays."""
    names = promote(account, monkeypatch, 2)
    account.sagemaker.create_endpoint_config(
        EndpointConfigName="mlserving-dev-p-handmade",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": names[0],
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "someone-else"}],
    )
    promoter = account.promoter(KEEP_PREVIOUS="0")
    promoter.clean_up()
    assert "mlserving-dev-p-handmade" in configs(account)
