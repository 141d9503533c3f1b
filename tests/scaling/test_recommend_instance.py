"""The Inference Recommender job request: validated inputs, the sample payload as one .tar.gz
in the data bucket (SSE-KMS), and the request checked against botocore's model of the API.

moto does not implement CreateInferenceRecommendationsJob: the call is answered by botocore's
Stubber, after the client's own parameter validation and the suite's service-model check
(patterns, lengths, enums) have run on the real request."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from deploy_tools.recommend_instance import (
    JobInput,
    RecommendError,
    build_request,
    check_request,
    main,
    payload_archive,
    start_job,
)
from serving_config import load_settings

ROLE = "arn:aws:iam::123456789012:role/inference-recommender"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlserving-dev/3"
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/rec-1"


class StubbedSession:
    """A real (moto) session whose SageMaker client answers from a Stubber."""

    def __init__(self) -> None:
        self._session = boto3.session.Session(region_name="us-east-1")
        self.sagemaker = self._session.client("sagemaker")
        self.stubber = Stubber(self.sagemaker)

    def client(self, name: str, endpoint_url: str | None = None) -> Any:
        if name == "sagemaker":
            return self.sagemaker
        return self._session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def deploy_data_stack(prefix: str) -> str:
    """A data stack in moto with the outputs the tool reads; returns the key ARN."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts")
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"BucketName": {"Value": "artifacts"}, "KeyArn": {"Value": key_arn}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=f"{prefix}-data", TemplateBody=json.dumps(template)
    )
    return key_arn


def test_the_job_starts_with_the_payload_uploaded_as_aws_documents(data_dir: Path) -> None:
    from deploy_tools.capacity.plan import request_bodies

    settings = load_settings("dev")
    bodies = request_bodies(data_dir / "test.csv", 30, limit=5)
    job = JobInput(
        job_name="rec-1", role_arn=ROLE, model_package_arn=PACKAGE, instance_types=("ml.c5.xlarge",)
    )
    with mock_aws():
        key_arn = deploy_data_stack(settings.prefix)
        session = StubbedSession()
        url = "s3://artifacts/inference-recommender/rec-1/payload.tar.gz"
        expected = build_request(job, settings, url, key_arn)
        session.stubber.add_response(
            "create_inference_recommendations_job", {"JobArn": JOB_ARN}, expected
        )
        with session.stubber:
            result = start_job(job, settings, bodies, session=session)
        session.stubber.assert_no_pending_responses()
        assert result["JobArn"] == JOB_ARN
        s3 = boto3.client("s3", region_name="us-east-1")
        head = s3.head_object(Bucket="artifacts", Key="inference-recommender/rec-1/payload.tar.gz")
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
        data = s3.get_object(Bucket="artifacts", Key="inference-recommender/rec-1/payload.tar.gz")
        with tarfile.open(fileobj=io.BytesIO(data["Body"].read()), mode="r:gz") as archive:
            members = archive.getmembers()
            first = archive.extractfile(members[0])
            assert first is not None
            assert json.loads(first.read()) == json.loads(bodies[0])
        assert len(members) == 5
    config = expected["InputConfig"]
    assert expected["JobType"] == "Default" and expected["RoleArn"] == ROLE
    assert config["ModelPackageVersionArn"] == PACKAGE and config["VolumeKmsKeyId"] == key_arn
    container = config["ContainerConfig"]
    assert container["PayloadConfig"] == {
        "SamplePayloadUrl": url,
        "SupportedContentTypes": ["application/json"],
    }
    assert container["Framework"] == "TENSORFLOW" and container["FrameworkVersion"] == "2.20"
    assert container["SupportedEndpointType"] == "RealTime"
    assert container["SupportedInstanceTypes"] == ["ml.c5.xlarge"]


def test_a_model_name_is_the_other_input() -> None:
    job = JobInput(job_name="rec-2", role_arn=ROLE, model_name="mlserving-dev-model")
    request = build_request(job, load_settings("dev"), "s3://b/k.tar.gz", "")
    check_request(request)
    assert request["InputConfig"]["ModelName"] == "mlserving-dev-model"
    assert "ModelPackageVersionArn" not in request["InputConfig"]
    assert "VolumeKmsKeyId" not in request["InputConfig"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_name": "has spaces"}, r"--job-name: 'has spaces' is not"),
        ({"job_name": "x" * 65}, r"--job-name"),
        ({"role_arn": "arn:aws:iam::123:role/x"}, r"--role-arn: .* is not an IAM role ARN"),
        ({"model_package_arn": ""}, r"exactly one of --model-package-arn and --model-name"),
        ({"model_name": "m"}, r"exactly one of --model-package-arn and --model-name"),
        (
            {"model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model/x"},
            r"--model-package-arn: .* is not a model package version ARN",
        ),
        ({"instance_types": ("m5.large",)}, r"--instance-types: m5.large not like ml.m5.large"),
        ({"duration_s": 0}, r"--duration-s: 0 must be at least 1"),
    ],
)
def test_bad_inputs_name_the_flag(fields: dict[str, Any], message: str) -> None:
    values = {"job_name": "rec-1", "role_arn": ROLE, "model_package_arn": PACKAGE, **fields}
    with pytest.raises(RecommendError, match=message):
        JobInput(**values)


def test_botocores_model_refuses_what_aws_would() -> None:
    job = JobInput(job_name="rec-3", role_arn=ROLE, model_package_arn=PACKAGE)
    request = build_request(job, load_settings("dev"), "s3://b/k.tar.gz", "")
    request["JobType"] = 3  # a type AWS refuses
    del request["RoleArn"]
    with pytest.raises(RecommendError, match=r"Missing required parameter.*RoleArn"):
        check_request(request)


def test_dry_run_prints_the_checked_request_and_starts_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        deploy_data_stack(load_settings("dev").prefix)
        code = main(
            [
                "--env", "dev", "--role-arn", ROLE, "--model-package-arn", PACKAGE,
                "--rows", str(data_dir / "test.csv"), "--job-name", "rec-4", "--dry-run",
                "--region", "us-east-1",
            ]
        )  # fmt: skip
        listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="artifacts")
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["JobName"] == "rec-4" and "JobArn" not in printed
    assert listed.get("KeyCount", 0) == 0  # nothing uploaded


def test_payload_archive_is_one_gzip_tar_of_json_files() -> None:
    archive = payload_archive(['{"instances": [[1.0]]}', '{"instances": [[2.0]]}'])
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as opened:
        assert opened.getnames() == ["payload-0000.json", "payload-0001.json"]


@pytest.mark.parametrize(
    ("framework", "name", "version"),
    [
        ("pytorch", "PYTORCH", "2.6"),
        ("xgboost", "XGBOOST", "3.2-0"),
        ("sklearn", "SAGEMAKER-SCIKIT-LEARN", "1.9-0"),
    ],
)
def test_the_container_config_names_the_configured_framework(
    framework: str, name: str, version: str
) -> None:
    """Inference Recommender's Framework values (TENSORFLOW | PYTORCH | XGBOOST |
    SAGEMAKER-SCIKIT-LEARN) and the serving version, within botocore's pattern."""
    from dataclasses import replace

    from serving_config.settings import ModelSettings

    settings = replace(load_settings("dev"), model=ModelSettings(framework=framework))  # type: ignore[arg-type]
    job = JobInput(job_name="rec-4", role_arn=ROLE, model_package_arn=PACKAGE)
    request = build_request(job, settings, "s3://b/k.tar.gz", "")
    check_request(request)
    container = request["InputConfig"]["ContainerConfig"]
    assert (container["Framework"], container["FrameworkVersion"]) == (name, version)
