"""Approval in the SageMaker Model Registry promotes the package (moto): the same validation,
blue/green update, SSM record and reports as an upload; rejection written back to the registry;
idempotency; and a second moto account standing in for staging (cross-account copy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from rehearsal.moto_gaps import registry
from tests.model_promotion import artifacts, moto_sagemaker
from tests.model_promotion.conftest import BUCKET, ENDPOINT, INITIAL_URI, REGION, Account
from tests.model_promotion.test_promotion import run

GROUP = "mlserving-dev"
ACCOUNT_ID = "123456789012"
STAGING = "111111111111"
STAGING_BUCKET = "mlserving-staging-artifacts"
REGISTRY = {"PACKAGE_GROUP": GROUP, "ARTIFACT_BUCKET": BUCKET, "MARK_REJECTED_PACKAGES": "true"}


@pytest.fixture(autouse=True)
def registry_gaps() -> Iterator[None]:
    with registry.INSTALL.applied():
        yield


def register(sagemaker: Any, s3: Any, bucket: str, data: bytes, group: str = GROUP) -> str:
    """What deploy_tools.register_model leaves: the artifact under models/registry/, a package
    PendingManualApproval."""
    index = len(
        sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    )
    key = f"models/registry/{index}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{bucket}/{key}"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    return arn


def approval(arn: str, status: str = "Approved", account: str = ACCOUNT_ID) -> dict[str, Any]:
    """The EventBridge event SageMaker sends for an approval."""
    group = arn.split(":model-package/", 1)[1].split("/")[0]
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "account": account,
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageArn": arn,
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": status,
        },
    }


def approve(sagemaker: Any, arn: str, status: str = "Approved") -> None:
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)


@pytest.fixture
def group(account: Account) -> str:
    account.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return GROUP


def test_an_approved_package_is_promoted_blue_green_and_recorded(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    approve(account.sagemaker, arn)
    assert run(account, approval(arn), monkeypatch, **REGISTRY) == {"batchItemFailures": []}
    name = account.endpoint()["EndpointConfigName"]
    assert name.startswith("mlserving-dev-p-")
    release = account.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]["ModelDataUrl"]
    assert release.startswith(f"s3://{BUCKET}/models/releases/")
    assert account.recorded_artifact() == release
    assert account.deployments()
    config_arn = account.sagemaker.describe_endpoint_config(EndpointConfigName=name)[
        "EndpointConfigArn"
    ]
    tags = {
        t["Key"]: t["Value"] for t in account.sagemaker.list_tags(ResourceArn=config_arn)["Tags"]
    }
    assert tags["promotion:source"] == arn
    events = [n["event"] for n in account.notifications()]
    assert "promotion_started" in events


@pytest.mark.parametrize(
    ("make_event", "reason"),
    [
        (lambda arn: approval(arn, status="PendingManualApproval"), "not Approved"),
        (lambda arn: approval(arn, status="Rejected"), "not Approved"),
        (
            lambda arn: {
                **approval(arn),
                "detail": {**approval(arn)["detail"], "ModelPackageGroupName": "someone-else"},
            },
            "is not in group",
        ),
    ],
)
def test_other_groups_and_statuses_are_ignored(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch, make_event: Any, reason: str
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    before = account.snapshot()
    run(account, make_event(arn), monkeypatch, **REGISTRY)
    assert account.snapshot() == before


def test_an_approval_that_was_withdrawn_meanwhile_is_ignored(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    approve(account.sagemaker, arn, "Rejected")  # rejected before the event was processed
    before = account.snapshot()
    run(account, approval(arn), monkeypatch, **REGISTRY)
    assert account.snapshot() == before
    assert "no longer Approved" in capsys.readouterr().out


def test_registry_promotion_needs_its_configuration(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    before = account.snapshot()
    run(account, approval(arn), monkeypatch)  # no PACKAGE_GROUP: uploads only
    assert account.snapshot() == before
    assert "not configured" in capsys.readouterr().out


def test_a_redelivered_approval_changes_nothing(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    approve(account.sagemaker, arn)
    run(account, approval(arn), monkeypatch, **REGISTRY)
    after_first = account.snapshot()
    run(account, approval(arn), monkeypatch, **REGISTRY)
    assert account.snapshot() == after_first
    assert len(account.deployments()) == 1


def test_approving_the_package_that_serves_again_changes_nothing(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    data = artifacts.build()
    first = register(account.sagemaker, account.s3, BUCKET, data)
    approve(account.sagemaker, first)
    run(account, approval(first), monkeypatch, **REGISTRY)
    serving = account.endpoint()["EndpointConfigName"]
    second = register(account.sagemaker, account.s3, BUCKET, data)  # the same model again
    approve(account.sagemaker, second)
    run(account, approval(second), monkeypatch, **REGISTRY)
    assert account.endpoint()["EndpointConfigName"] == serving
    assert len(account.deployments()) == 1
    assert "already serves" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["metrics-below-floor", "truncated-gzip", "missing-metrics"])
def test_a_defective_package_is_rejected_and_the_reason_written_back(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    data, code = artifacts.malformed()[case]
    arn = register(account.sagemaker, account.s3, BUCKET, data)
    approve(account.sagemaker, arn)
    before = account.snapshot()
    assert run(account, approval(arn), monkeypatch, **REGISTRY) == {"batchItemFailures": []}
    assert account.snapshot() == before
    described = account.sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert code in described["ApprovalDescription"]
    assert "\n" not in described["ApprovalDescription"]
    (notice,) = [n for n in account.notifications() if n["event"] == "promotion_rejected"]
    assert notice["code"] == code and notice["registry"] == "marked Rejected"


def test_an_approval_waits_while_another_promotion_runs(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())
    approve(account.sagemaker, arn)
    moto_sagemaker.set_status(ENDPOINT, "Updating")
    event = approval(arn)
    assert run(account, event, monkeypatch, **REGISTRY) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    moto_sagemaker.set_status(ENDPOINT, "InService")
    assert run(account, event, monkeypatch, **REGISTRY) == {"batchItemFailures": []}
    assert account.endpoint()["EndpointConfigName"].startswith("mlserving-dev-p-")


def test_a_package_that_no_longer_exists_is_reported_not_retried(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/{GROUP}/99"
    assert run(account, approval(missing), monkeypatch, **REGISTRY) == {"batchItemFailures": []}
    (notice,) = account.notifications()
    assert notice["event"] == "promotion_failed" and "no longer exists" in notice["reason"]


def staging_session(account: Account) -> boto3.Session:
    """A second moto account (staging) through AssumeRole."""
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{STAGING}:role/staging-operator", RoleSessionName="staging"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


@pytest.mark.parametrize("valid", [True, False])
def test_prod_promotes_a_package_approved_in_the_staging_account(
    account: Account, monkeypatch: pytest.MonkeyPatch, valid: bool
) -> None:
    """Prod reads the package in staging's group, validates it and copies the artifact into its
    own bucket: serving never reads staging's bucket. A defect is reported, not written back
    (staging's registry is not prod's to change)."""
    staging = staging_session(account)
    sagemaker, s3 = staging.client("sagemaker"), staging.client("s3")
    assert staging.client("sts").get_caller_identity()["Account"] == STAGING
    s3.create_bucket(Bucket=STAGING_BUCKET)
    sagemaker.create_model_package_group(ModelPackageGroupName="mlserving-staging")
    data = artifacts.build() if valid else artifacts.malformed()["metrics-below-floor"][0]
    arn = register(sagemaker, s3, STAGING_BUCKET, data, group="mlserving-staging")
    approve(sagemaker, arn)
    cross = {
        "PACKAGE_GROUP": "mlserving-staging",
        "PACKAGE_GROUP_ACCOUNT": STAGING,
        "ARTIFACT_BUCKET": BUCKET,
        "MARK_REJECTED_PACKAGES": "false",
    }
    before = account.snapshot()
    assert run(account, approval(arn, account=STAGING), monkeypatch, **cross) == {
        "batchItemFailures": []
    }
    if valid:
        release = account.recorded_artifact()
        assert release.startswith(f"s3://{BUCKET}/models/releases/")  # prod's own bucket
        key = release.split(f"s3://{BUCKET}/", 1)[1]
        assert account.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
        name = account.endpoint()["EndpointConfigName"]
        model = account.sagemaker.describe_model(ModelName=name)
        assert STAGING_BUCKET not in json.dumps(model, default=str)
    else:
        assert account.snapshot() == before
        assert account.recorded_artifact() == INITIAL_URI
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        assert described["ModelApprovalStatus"] == "Approved"  # not prod's to change
        (notice,) = [n for n in account.notifications() if n["event"] == "promotion_rejected"]
        assert notice["code"] == "auc-below-floor"
    # An approval from another account than the configured one is not trusted.
    other = approval(arn, account="222222222222")
    after = account.snapshot()
    run(account, other, monkeypatch, **cross)
    assert account.snapshot() == after


def test_registered_artifacts_are_not_promoted_as_uploads(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The artifact a registration stores under models/registry/ waits for its approval."""
    event = account.upload("models/registry/0/model.tar.gz", artifacts.build())
    before = account.snapshot()
    run(account, event, monkeypatch)
    assert account.snapshot() == before


def test_a_package_this_account_cannot_read_fails_with_what_to_configure(
    account: Account, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS answers AccessDenied when the group's resource policy (or this role's policy) does
    not allow the describe: reported with what to configure, not retried."""
    from moto.core.exceptions import JsonRESTError
    from moto.sagemaker.models import SageMakerModelBackend

    arn = register(account.sagemaker, account.s3, BUCKET, artifacts.build())

    def denied(self: Any, model_package_name: str) -> Any:
        raise JsonRESTError(
            "AccessDeniedException",
            f"not authorized to perform: sagemaker:DescribeModelPackage on {model_package_name}",
        )

    monkeypatch.setattr(SageMakerModelBackend, "describe_model_package", denied)
    before = account.snapshot()
    assert run(account, approval(arn), monkeypatch, **REGISTRY) == {"batchItemFailures": []}
    assert account.snapshot() == before
    (notice,) = account.notifications()
    assert notice["event"] == "promotion_failed"
    assert "consumer_accounts" in notice["reason"] and "cannot be read" in notice["reason"]
