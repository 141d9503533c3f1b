"""Publishing the first artifact: upload with SSE-KMS and point the SSM parameter at it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from deploy_tools.publish_model import (
    DataStackOutputs,
    PublishError,
    check_artifact,
    data_stack_outputs,
    main,
    publish_initial_model,
)
from serving_config import load_settings
from tests.model_promotion import artifacts


def make_artifact(path: Path, data: bytes | None = None) -> Path:
    path.write_bytes(artifacts.build() if data is None else data)
    return path


def test_publish_uploads_encrypted_and_records_the_uri(tmp_path: Path) -> None:
    settings = load_settings("dev")
    artifact = make_artifact(tmp_path / "model.tar.gz")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        uri = publish_initial_model(
            settings,
            artifact,
            outputs=DataStackOutputs(bucket_name="artifacts", key_arn=key_arn),
            session=boto3.session.Session(region_name="us-east-1"),
        )
        assert uri == "s3://artifacts/models/initial/model.tar.gz"
        head = s3.head_object(Bucket="artifacts", Key="models/initial/model.tar.gz")
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn
        ssm = boto3.client("ssm", region_name="us-east-1")
        value = ssm.get_parameter(Name="/mlserving/dev/model-data-url")["Parameter"]["Value"]
        assert value == uri


@pytest.mark.parametrize("case", sorted(artifacts.malformed()))
def test_the_first_model_passes_the_promotions_quality_gate(tmp_path: Path, case: str) -> None:
    """Every artifact a promotion would reject is refused before it could serve first."""
    data, code = artifacts.malformed()[case]
    with pytest.raises(PublishError, match=rf"is rejected: {code}: "):
        check_artifact(make_artifact(tmp_path / "m.tar.gz", data), load_settings("dev"))


def test_missing_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"does not exist"):
        check_artifact(tmp_path / "absent.tar.gz", load_settings("dev"))


def test_denied_upload_says_how_to_get_the_keys_use() -> None:
    from botocore.exceptions import ClientError

    from deploy_tools.publish_model import access_hint

    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not authorized: kms:GenerateDataKey"}},
        "PutObject",
    )
    hint = access_hint(denied, "prod")
    assert "operators:" in hint and "prod.yaml" in hint and "DeployerRoleArn" in hint
    other = ClientError({"Error": {"Code": "NoSuchBucket", "Message": "x"}}, "PutObject")
    assert access_hint(other, "prod") == ""


def test_missing_data_stack_says_what_to_deploy_first() -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(PublishError, match=r"mlserving-dev-data is not deployed.*cdk deploy"):
            data_stack_outputs(cloudformation, "mlserving-dev-data")


def test_cli_reports_a_bad_environment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--env", "nope", "--artifact", str(tmp_path / "m.tar.gz")]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err


def test_the_first_models_baseline_becomes_the_monitors_baseline(tmp_path: Path) -> None:
    settings = load_settings("dev")
    artifact = make_artifact(tmp_path / "model.tar.gz", artifacts.with_baseline("first"))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        publish_initial_model(
            settings,
            artifact,
            outputs=DataStackOutputs(bucket_name="artifacts", key_arn=key_arn),
            session=boto3.session.Session(region_name="us-east-1"),
        )
        listed = s3.list_objects_v2(Bucket="artifacts", Prefix="monitoring/baseline/")
        stored = {o["Key"] for o in listed["Contents"]}
        expected = {
            name.replace("monitoring/", "monitoring/baseline/", 1)
            for name, _ in artifacts.baseline_members()
        }
        assert stored == expected
        head = s3.head_object(Bucket="artifacts", Key="monitoring/baseline/preprocessor.py")
        assert head["SSEKMSKeyId"] == key_arn


def test_if_missing_publishes_once_and_then_leaves_the_serving_model_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline's step: the first run publishes; later runs (after promotions) do not."""
    artifact = make_artifact(tmp_path / "model.tar.gz")
    args = ["--env", "dev", "--artifact", str(artifact), "--if-missing"]
    with mock_aws():
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        template = {
            "Resources": {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "artifacts"}}
            },
            "Outputs": {"BucketName": {"Value": "artifacts"}, "KeyArn": {"Value": key_arn}},
        }
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="mlserving-dev-data", TemplateBody=json.dumps(template)
        )
        assert main(args) == 0
        assert "published s3://artifacts/models/initial/model.tar.gz" in capsys.readouterr().out
        ssm = boto3.client("ssm", region_name="us-east-1")
        promoted = "s3://artifacts/models/releases/abc/model.tar.gz"
        ssm.put_parameter(
            Name="/mlserving/dev/model-data-url", Value=promoted, Type="String", Overwrite=True
        )
        assert main(args) == 0
        assert f"already names {promoted}" in capsys.readouterr().out
        parameter = ssm.get_parameter(Name="/mlserving/dev/model-data-url")["Parameter"]
        assert parameter["Value"] == promoted and parameter["Version"] == 2


def test_the_first_model_is_checked_as_the_environments_framework(tmp_path: Path) -> None:
    """``model.framework: xgboost``: an XGBoost artifact passes, a TensorFlow one is refused
    with the reason (what the promotion would say: its script-mode code is missing)."""
    from dataclasses import replace

    from serving_config.settings import ModelSettings

    settings = replace(load_settings("dev"), model=ModelSettings(framework="xgboost"))
    xgboost = artifacts.build(artifacts.script_mode_members("xgboost"))
    report = check_artifact(make_artifact(tmp_path / "x.tar.gz", xgboost), settings)
    assert report.framework == "xgboost"
    with pytest.raises(PublishError, match=r"missing-inference-code: code/script_mode\.py"):
        check_artifact(make_artifact(tmp_path / "t.tar.gz", artifacts.build()), settings)
