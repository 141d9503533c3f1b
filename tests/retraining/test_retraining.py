"""Retraining (moto): a model alarm starts the launcher's training job with the stack's image,
role, key and channels; one at a time, never within the cool-down; every start, skip and
outcome on the topic; anything else ignored or refused."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ml_constructs.retraining.construct import PACKAGE, TRAINING_CODE, bundle_dir
from ml_constructs.retraining.runtime import handler
from ml_constructs.retraining.runtime.retraining import (
    ConfigurationError,
    Retrainer,
    RetrainingConfig,
    source_archive,
)
from model_code import launch_training
from model_code.metrics import METRIC_DEFINITIONS

REGION = "us-east-1"
BUCKET = "mlserving-dev-artifacts"
PREFIX = "mlserving-dev"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.19-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/mlserving-dev-sagemaker-training"
NOW = dt.datetime(2026, 11, 28, 10, 30, tzinfo=dt.UTC)
CODE = Path(bundle_dir()) / PACKAGE / TRAINING_CODE


def environment(topic_arn: str, key_arn: str, **overrides: str) -> dict[str, str]:
    env = {
        "NAME_PREFIX": PREFIX,
        "ENVIRONMENT_NAME": "dev",
        "ARTIFACT_BUCKET": BUCKET,
        "KEY_ARN": key_arn,
        "TRAINING_ROLE_ARN": ROLE,
        "TRAINING_IMAGE_URI": IMAGE,
        "INSTANCE_TYPE": "ml.m5.large",
        "VOLUME_SIZE_GB": "30",
        "MAX_RUNTIME_S": "3600",
        "COOLDOWN_HOURS": "24",
        "TOPIC_ARN": topic_arn,
        "ALARM_NAME_PREFIXES": f"{PREFIX}-drift-,{PREFIX}-model-auc",
        "PROMOTES_UPLOADS": "true",
        "HYPERPARAMETERS": json.dumps({"epochs": "100"}),
        "METRIC_DEFINITIONS": json.dumps(METRIC_DEFINITIONS),
    }
    env.update(overrides)
    return env


@dataclass
class Account:
    s3: Any
    sagemaker: Any
    sns: Any
    sqs: Any
    inbox: str
    topic_arn: str
    key_arn: str

    def retrainer(self, **overrides: str) -> Retrainer:
        config = RetrainingConfig.from_env(environment(self.topic_arn, self.key_arn, **overrides))
        return Retrainer(
            config, {"s3": self.s3, "sagemaker": self.sagemaker, "sns": self.sns}, CODE
        )

    def notifications(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


# One session for the module: its loader caches the service models (SageMaker's is large), so
# each test's clients are cheap. moto intercepts clients created from it at any time.
SESSION = boto3.Session(region_name=REGION)


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        session = SESSION
        s3, sns, sqs = session.client("s3"), session.client("sns"), session.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
        topic = sns.create_topic(Name=f"{PREFIX}-alarms")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
        yield Account(s3, session.client("sagemaker"), sns, sqs, inbox, topic, key_arn)


def alarm(name: str = f"{PREFIX}-drift-mean_radius", state: str = "ALARM") -> dict[str, Any]:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": name, "state": {"value": state, "reason": "drift 0.81 > 0.1"}},
    }


def test_a_model_alarm_starts_the_launchers_training_job(account: Account) -> None:
    account.s3.put_object(Bucket=BUCKET, Key="datasets/test/test.csv", Body=b"x")
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob",
        lambda params, **kwargs: sent.append(params),
    )
    outcome = account.retrainer().on_alarm(f"{PREFIX}-drift-mean_radius", "drift", NOW)
    (request,) = sent
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == METRIC_DEFINITIONS
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["Tags"] == [{"Key": "retraining:alarm", "Value": f"{PREFIX}-drift-mean_radius"}]
    assert outcome.status == "started" and outcome.job == f"{PREFIX}-retrain-2611280000"
    job = account.sagemaker.describe_training_job(TrainingJobName=outcome.job)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["RoleArn"] == ROLE
    hyper = job["HyperParameters"]
    code = f"models/training-jobs/{outcome.job}/input/code/sourcedir.tar.gz"
    assert hyper["sagemaker_program"] == "train.py" and hyper["epochs"] == "100"
    assert hyper["sagemaker_submit_directory"] == f"s3://{BUCKET}/{code}"
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]
    }
    assert channels == {
        "train": f"s3://{BUCKET}/datasets/train/",
        "test": f"s3://{BUCKET}/datasets/test/",
    }
    output = job["OutputDataConfig"]
    assert output["S3OutputPath"] == f"s3://{BUCKET}/models/retrained-20261128-103000"
    assert output["KmsKeyId"] == account.key_arn
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == account.key_arn
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    staged = account.s3.get_object(Bucket=BUCKET, Key=code)
    assert staged["SSEKMSKeyId"] == account.key_arn
    with tarfile.open(fileobj=io.BytesIO(staged["Body"].read())) as archive:
        names = set(archive.getnames())
    expected = {
        p.name
        for p in launch_training.SOURCE_DIR.iterdir()
        if p.is_file()
        and p.suffix in (".py", ".txt")
        and p.name not in ("launch_training.py", "local_server.py")
    }
    assert names == expected  # what the launcher stages, no more
    (notice,) = account.notifications()
    assert notice["event"] == "retraining_started" and notice["job"] == outcome.job


def test_no_test_channel_without_test_data(account: Account) -> None:
    outcome = account.retrainer().on_alarm(f"{PREFIX}-model-auc", "auc 0.7", NOW)
    job = account.sagemaker.describe_training_job(TrainingJobName=outcome.job)
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train"]


def test_in_a_private_network_the_job_runs_in_the_private_subnets(account: Account) -> None:
    vpc = {"Subnets": ["subnet-0a", "subnet-0b"], "SecurityGroupIds": ["sg-0a"]}
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob",
        lambda params, **kwargs: sent.append(params),
    )
    account.retrainer(VPC_CONFIG=json.dumps(vpc)).on_alarm(f"{PREFIX}-model-auc", "auc", NOW)
    (request,) = sent
    assert request["VpcConfig"] == vpc
    assert request["EnableInterContainerTrafficEncryption"] is True


def test_never_two_at_a_time_nor_within_the_cooldown(account: Account) -> None:
    from moto.sagemaker.models import sagemaker_backends

    retrainer = account.retrainer()
    first = retrainer.on_alarm(f"{PREFIX}-drift-mean_radius", "drift", NOW)
    backend = sagemaker_backends["123456789012"][REGION]
    backend.training_jobs[first.job].training_job_status = "InProgress"
    later = NOW + dt.timedelta(days=3)
    running = retrainer.on_alarm(f"{PREFIX}-drift-mean_area", "drift", later)
    assert running.status == "skipped" and f"{first.job} is still running" in running.detail
    backend.training_jobs[first.job].training_job_status = "Completed"
    creation = backend.training_jobs[first.job].creation_time
    soon = creation.replace(tzinfo=dt.UTC) + dt.timedelta(hours=5)
    cooling = retrainer.on_alarm(f"{PREFIX}-drift-mean_area", "drift", soon)
    assert cooling.status == "skipped" and "cool-down until" in cooling.detail
    after = creation.replace(tzinfo=dt.UTC) + dt.timedelta(hours=25)
    assert retrainer.on_alarm(f"{PREFIX}-drift-mean_area", "drift", after).status == "started"
    events = [n["event"] for n in account.notifications()]
    assert events == [
        "retraining_started",
        "retraining_skipped",
        "retraining_skipped",
        "retraining_started",
    ]


def test_a_second_start_in_the_same_window_is_refused_by_sagemaker(account: Account) -> None:
    retrainer = account.retrainer()
    stubber = Stubber(retrainer.sagemaker)
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    stubber.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    stubber.add_client_error("create_training_job", "ResourceInUse", "Training job exists")
    with stubber:
        outcome = retrainer.on_alarm(f"{PREFIX}-drift-mean_radius", "drift", NOW)
    assert outcome.status == "skipped" and "started for this window already" in outcome.detail


def test_outcomes_are_reported_with_what_happens_next(account: Account) -> None:
    retrainer = account.retrainer()
    done = {
        "TrainingJobName": f"{PREFIX}-retrain-2611280000",
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/models/retrained-x/o/model.tar.gz"},
    }
    assert retrainer.on_job_state(done).status == "reported"
    failed = {**done, "TrainingJobStatus": "Failed", "FailureReason": "AlgorithmError: bad data"}
    retrainer.on_job_state(failed)
    registry_only = account.retrainer(PROMOTES_UPLOADS="false")
    registry_only.on_job_state(done)
    completed, failure, register = account.notifications()
    assert (
        completed["event"] == "retraining_completed" and "promotion takes it" in completed["next"]
    )
    assert failure["event"] == "retraining_failed" and failure["reason"].startswith(
        "AlgorithmError"
    )
    assert f"register_model --env dev --training-job {done['TrainingJobName']}" in register["next"]
    other = {"TrainingJobName": "someone-else", "TrainingJobStatus": "Completed"}
    assert retrainer.on_job_state(other).status == "ignored"


def test_other_alarms_states_and_events_change_nothing(account: Account) -> None:
    retrainer = account.retrainer()
    assert handler.handle(alarm(state="OK"), retrainer).status == "ignored"
    assert handler.handle(alarm(name=f"{PREFIX}-endpoint-5xx"), retrainer).status == "ignored"
    assert handler.handle({"detail-type": "x", "detail": {}}, retrainer).status == "ignored"
    with pytest.raises(ValueError, match="EventBridge event with a detail object"):
        handler.handle({"Records": []}, retrainer)
    assert account.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    assert handler.handle(alarm(), retrainer).status == "started"


def test_configuration_problems_name_the_variable(tmp_path: Path) -> None:
    env = environment("arn:aws:sns:us-east-1:123456789012:t", "k")
    with pytest.raises(ConfigurationError, match="COOLDOWN_HOURS: 'soon' is not an integer"):
        RetrainingConfig.from_env({**env, "COOLDOWN_HOURS": "soon"})
    with pytest.raises(ConfigurationError, match="HYPERPARAMETERS: not valid JSON"):
        RetrainingConfig.from_env({**env, "HYPERPARAMETERS": "{"})
    config = RetrainingConfig.from_env(env)
    with pytest.raises(ConfigurationError, match=r"holds no train\.py"):
        Retrainer(config, {"s3": None, "sagemaker": None, "sns": None}, tmp_path)


def test_the_staged_code_is_the_same_bytes_for_the_same_code() -> None:
    assert source_archive(CODE) == source_archive(CODE)


def test_another_frameworks_job_runs_its_training_script(account: Account) -> None:
    """``model.framework: pytorch``: the job runs the bundled ``train.py`` (the one script
    that runs as SageMaker's entry script in /opt/ml/code) with the hyperparameter
    ``framework=pytorch``, which SageMaker passes as ``--framework pytorch``, in the stack's
    training image; ``train.py`` hands that flag to the PyTorch trainer."""
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6-cpu-py312"
    env = environment(
        account.topic_arn,
        account.key_arn,
        HYPERPARAMETERS=json.dumps({"epochs": "100", "framework": "pytorch"}),
        TRAINING_IMAGE_URI=image,
        TRAINING_REQUIREMENTS="requirements-pytorch.txt",
    )
    config = RetrainingConfig.from_env(env)
    assert RetrainingConfig.from_env(config.to_env()) == config
    assert "ENTRY_SCRIPT" not in config.to_env()
    tensorflow = RetrainingConfig.from_env(environment("t", "k"))
    assert "TRAINING_REQUIREMENTS" not in tensorflow.to_env()  # TensorFlow's as it was
    clients = {"s3": account.s3, "sagemaker": account.sagemaker, "sns": account.sns}
    outcome = Retrainer(config, clients, CODE).on_alarm(f"{PREFIX}-drift-mean_radius", "x", NOW)
    job = account.sagemaker.describe_training_job(TrainingJobName=outcome.job)
    assert job["HyperParameters"]["sagemaker_program"] == "train.py"
    assert job["HyperParameters"]["framework"] == "pytorch"
    assert job["AlgorithmSpecification"]["TrainingImage"] == image
    assert (CODE / "train_pytorch.py").is_file()  # what train.py hands --framework to
    # The toolkit installs requirements.txt only: it holds the framework's (ONNX export) too.
    key = job["HyperParameters"]["sagemaker_submit_directory"].split(f"{BUCKET}/", 1)[1]
    staged = account.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(staged), mode="r:gz") as archive:
        member = archive.extractfile("requirements.txt")
        assert member is not None
        requirements = member.read().decode()
    assert "onnxruntime==" in requirements and "scikit-learn==" in requirements
    assert "-r requirements.txt" not in requirements
    with pytest.raises(ConfigurationError, match=r"TRAINING_REQUIREMENTS: '../x.txt' is not"):
        RetrainingConfig.from_env({**env, "TRAINING_REQUIREMENTS": "../x.txt"})
