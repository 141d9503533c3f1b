"""Publishing the first artifact: upload with SSE-KMS and point the SSM parameter at it."""

from __future__ import annotations

import io
import tarfile
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


def make_artifact(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


GOOD = {"1/saved_model.pb": b"pb", "1/variables/variables.index": b"i", "code/inference.py": b"#"}


def test_publish_uploads_encrypted_and_records_the_uri(tmp_path: Path) -> None:
    settings = load_settings("dev")
    artifact = make_artifact(tmp_path / "model.tar.gz", GOOD)
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


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"code/inference.py": b"#"}, r"lacks <version>/saved_model.pb"),
        ({"1/saved_model.pb": b"pb"}, r"lacks code/inference.py"),
    ],
)
def test_incomplete_artifacts_are_refused(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    with pytest.raises(PublishError, match=message):
        check_artifact(make_artifact(tmp_path / "m.tar.gz", members))


def test_unreadable_and_missing_artifacts_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(PublishError, match=r"is not a readable .tar.gz"):
        check_artifact(junk)
    with pytest.raises(PublishError, match=r"does not exist"):
        check_artifact(tmp_path / "absent.tar.gz")


def test_missing_data_stack_says_what_to_deploy_first() -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(PublishError, match=r"mlserving-dev-data is not deployed.*cdk deploy"):
            data_stack_outputs(cloudformation, "mlserving-dev-data")


def test_cli_reports_a_bad_environment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--env", "nope", "--artifact", str(tmp_path / "m.tar.gz")]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err
