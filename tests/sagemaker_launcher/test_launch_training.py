"""The SageMaker training launcher against moto: the CreateTrainingJob request it sends.

Needs the SageMaker SDK, which lives in its own environment: run
``scripts/test_sagemaker_launcher.sh``. The main suite skips this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sagemaker.train")
boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from model_code import launch_training  # noqa: E402
from model_code.metrics import METRIC_DEFINITIONS  # noqa: E402

REGION = "us-east-1"
BUCKET = "ml-artifacts-123456789012"
PREFIX = "training"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        # The SDK checks the role with iam:SimulatePrincipalPolicy, which moto lacks.
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with moto.mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
        role_arn = session.client("iam").create_role(
            RoleName="training-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        yield session, key_arn, role_arn


def test_image_versions_known_to_the_sdk() -> None:
    training = launch_training.training_image_uri(REGION)
    assert training == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.19-cpu-py312"
    )
    serving = launch_training.serving_image_uri(REGION)
    assert serving.endswith("/tensorflow-inference:2.20-cpu-py312")


def test_create_training_job_request(aws: Any, tmp_path: Path) -> None:
    session, key_arn, role_arn = aws
    requests: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        requests.append(params)

    session.events.register("provide-client-params.sagemaker.CreateTrainingJob", capture)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b,label\n1,2,0\n")
    (data / "test.csv").write_text("a,b,label\n3,4,1\n")

    config = launch_training.LaunchConfig(
        role_arn=role_arn,
        bucket=BUCKET,
        kms_key_id=key_arn,
        region=REGION,
        prefix=PREFIX,
        hyperparameters={"epochs": 50, "learning_rate": 0.003},
    )
    config = launch_training.upload_data(config, data, boto_session=session)
    sm_session = launch_training.make_session(config, boto_session=session)
    name = launch_training.launch(config, wait=False, session=sm_session)

    assert len(requests) == 1
    request = requests[0]
    assert request["TrainingJobName"] == name and name.startswith("binary-classifier")
    assert request["RoleArn"] == role_arn
    spec = request["AlgorithmSpecification"]
    assert spec["TrainingImage"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.19-cpu-py312"
    )
    assert spec["TrainingInputMode"] == "File"
    assert {(d["Name"], d["Regex"]) for d in spec["MetricDefinitions"]} == {
        (d["Name"], d["Regex"]) for d in METRIC_DEFINITIONS
    }
    output = request["OutputDataConfig"]
    assert output["S3OutputPath"] == f"s3://{BUCKET}/{PREFIX}/output"
    assert output["KmsKeyId"] == key_arn
    resources = request["ResourceConfig"]
    assert resources["VolumeKmsKeyId"] == key_arn
    assert resources["InstanceType"] == "ml.m5.large" and resources["InstanceCount"] == 1
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600

    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in request["InputDataConfig"]
    }
    assert channels["train"] == f"s3://{BUCKET}/{PREFIX}/data/train/"
    assert channels["test"] == f"s3://{BUCKET}/{PREFIX}/data/test/"
    assert "validation" not in channels
    assert {"code", "sm_drivers"} <= set(channels)  # the SDK's channels for source and driver
    assert all(uri.startswith(f"s3://{BUCKET}/") for uri in channels.values())

    hyperparameters = request["HyperParameters"]
    assert hyperparameters["epochs"] == "50" and hyperparameters["learning_rate"] == "0.003"

    # The code channel holds model_code's train.py and requirements.txt, KMS-encrypted.
    s3 = session.client("s3")
    code_prefix = channels["code"].removeprefix(f"s3://{BUCKET}/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=code_prefix)["Contents"]]
    names = {k.rsplit("/", 1)[-1] for k in keys}
    assert {"train.py", "inference.py", "data.py", "requirements.txt"} <= names
    assert "launch_training.py" not in names and not any("__pycache__" in k for k in keys)
    head = s3.head_object(Bucket=BUCKET, Key=next(k for k in keys if k.endswith("train.py")))
    assert head["ServerSideEncryption"] == "aws:kms"
    data_head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/data/train/train.csv")
    assert data_head["SSEKMSKeyId"] == key_arn

    job = session.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["RoleArn"] == role_arn
