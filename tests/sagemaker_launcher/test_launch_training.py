"""The SageMaker training launcher against moto: the CreateTrainingJob request it sends.

Needs the SageMaker SDK, which lives in its own environment: run
``scripts/test_sagemaker_launcher.sh``. The main suite skips this module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sagemaker.train")
boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from botocore.awsrequest import AWSResponse  # noqa: E402

from model_code import launch_training  # noqa: E402
from model_code.metrics import METRIC_DEFINITIONS  # noqa: E402

REGION = "us-east-1"
BUCKET = "ml-artifacts-123456789012"
ROOT = Path(__file__).resolve().parents[2]
# What the stack's training role may use: read datasets/*, write models/*.
DATASETS = f"s3://{BUCKET}/datasets/"
MODELS = f"s3://{BUCKET}/models/"
TRAINING_JOBS = f"s3://{BUCKET}/models/training-jobs/"


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


def _launch(
    aws: Any, tmp_path: Path, **overrides: Any
) -> tuple[str, dict[str, Any], launch_training.LaunchConfig]:
    """Upload train.csv/test.csv and launch against moto; the CreateTrainingJob request."""
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
        hyperparameters={"epochs": 50, "learning_rate": 0.003},
        **overrides,
    )
    config = launch_training.upload_data(config, data, boto_session=session)
    sm_session = launch_training.make_session(config, boto_session=session)
    name = launch_training.launch(config, wait=False, session=sm_session)
    assert len(requests) == 1
    return name, requests[0], config


def _channels(request: dict[str, Any]) -> dict[str, str]:
    return {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in request["InputDataConfig"]
    }


def _keys(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_create_training_job_request(aws: Any, tmp_path: Path) -> None:
    session, key_arn, role_arn = aws
    name, request, _ = _launch(aws, tmp_path)

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
    assert output["S3OutputPath"] == f"s3://{BUCKET}/models/training-jobs"
    assert output["KmsKeyId"] == key_arn
    resources = request["ResourceConfig"]
    assert resources["VolumeKmsKeyId"] == key_arn
    assert resources["InstanceType"] == "ml.m5.large" and resources["InstanceCount"] == 1
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert "VpcConfig" not in request  # no network given: SageMaker's own

    channels = _channels(request)
    assert channels["train"] == f"{DATASETS}train/"
    assert channels["test"] == f"{DATASETS}test/"
    assert "validation" not in channels
    # The SDK's channels for the source code and its driver scripts, next to the job's output.
    assert channels["code"] == f"{TRAINING_JOBS}{name}/input/code"
    assert channels["sm_drivers"] == f"{TRAINING_JOBS}{name}/input/sm_drivers"

    hyperparameters = request["HyperParameters"]
    assert hyperparameters["epochs"] == "50" and hyperparameters["learning_rate"] == "0.003"

    # The code channel holds model_code's train.py and requirements.txt, KMS-encrypted.
    s3 = session.client("s3")
    keys = _keys(s3, channels["code"].removeprefix(f"s3://{BUCKET}/"))
    names = {k.rsplit("/", 1)[-1] for k in keys}
    assert {"train.py", "inference.py", "data.py", "requirements.txt"} <= names
    assert "launch_training.py" not in names and not any("__pycache__" in k for k in keys)
    head = s3.head_object(Bucket=BUCKET, Key=next(k for k in keys if k.endswith("train.py")))
    assert head["ServerSideEncryption"] == "aws:kms"
    data_head = s3.head_object(Bucket=BUCKET, Key="datasets/train/train.csv")
    assert data_head["SSEKMSKeyId"] == key_arn

    job = session.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["RoleArn"] == role_arn


def _s3_uris(value: Any) -> Iterator[str]:
    """Every ``s3://`` string anywhere in a request."""
    if isinstance(value, str):
        if "s3://" in value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _s3_uris(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _s3_uris(item)


def test_launch_keeps_to_what_the_training_role_may_use(aws: Any, tmp_path: Path) -> None:
    """The stack's training role reads datasets/* and writes models/*: the job's channels, its
    output and everything the launcher and the SDK upload stay there, the staged code under
    models/training-jobs/."""
    session, key_arn, _ = aws
    probes: list[dict[str, Any]] = []

    def record_probe(params: dict[str, Any], **_: Any) -> None:
        probes.append(params)

    def role_cannot_write_the_whole_bucket(**_: Any) -> Any:
        # What IAM answers for the stack's role (it writes models/* only) when asked about
        # s3:PutObject on arn:aws:s3:::<bucket>/*; 3.27.0's own ModelTrainer then stages under
        # the output path with the session's prefix a second time.
        result = {"EvalActionName": "s3:PutObject", "EvalDecision": "implicitDeny"}
        return AWSResponse("https://iam.amazonaws.com/", 200, {}, None), {
            "EvaluationResults": [result]
        }

    session.events.register("provide-client-params.iam.SimulatePrincipalPolicy", record_probe)
    session.events.register(
        "before-call.iam.SimulatePrincipalPolicy", role_cannot_write_the_whole_bucket
    )
    name, request, _ = _launch(aws, tmp_path)

    channels = _channels(request)
    data_channels = {k: v for k, v in channels.items() if k in launch_training.CHANNELS}
    assert set(data_channels) == {"train", "test"}
    assert all(uri.startswith(DATASETS) for uri in data_channels.values()), data_channels
    assert request["OutputDataConfig"]["S3OutputPath"].startswith(MODELS)
    assert request["OutputDataConfig"]["S3OutputPath"].rstrip("/") + "/" == TRAINING_JOBS

    # The source code the job reads: the SDK puts it in the "code" channel (the container's
    # /opt/ml/input/data/code), its drivers in "sm_drivers"; no other S3 URI in the request.
    sdk_channels = {k: v for k, v in channels.items() if k not in launch_training.CHANNELS}
    assert set(sdk_channels) == {"code", "sm_drivers"}
    assert all(uri.startswith(f"{TRAINING_JOBS}{name}/input/") for uri in sdk_channels.values())
    for section in ("HyperParameters", "Environment"):
        assert all(
            uri.startswith((DATASETS, TRAINING_JOBS)) for uri in _s3_uris(request.get(section))
        )
    assert set(_s3_uris(request)) == set(channels.values()) | {
        request["OutputDataConfig"]["S3OutputPath"]
    }

    # Everything uploaded during the launch: the data under datasets/, the rest under
    # models/training-jobs/<job-name>/, all with SSE-KMS under the stack's key.
    s3 = session.client("s3")
    keys = _keys(s3)
    assert {"datasets/train/train.csv", "datasets/test/test.csv"} <= set(keys)
    staged = [k for k in keys if not k.startswith("datasets/")]
    assert staged and all(k.startswith(f"models/training-jobs/{name}/input/") for k in staged), [
        k for k in keys if not k.startswith(("datasets/", f"models/training-jobs/{name}/input/"))
    ]
    assert any(k.endswith("/input/code/train.py") for k in staged)
    for key in keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn), key
    assert probes == []  # the launcher chose the staging location; the SDK does not probe IAM


def test_subnets_and_groups_put_the_job_in_the_private_network(aws: Any, tmp_path: Path) -> None:
    _, request, _ = _launch(
        aws,
        tmp_path,
        subnets=("subnet-0a", "subnet-0b"),
        security_group_ids=("sg-0a",),
    )
    assert request["VpcConfig"] == {
        "Subnets": ["subnet-0a", "subnet-0b"],
        "SecurityGroupIds": ["sg-0a"],
    }
    assert request["EnableInterContainerTrafficEncryption"] is True


def test_uri_overrides(aws: Any, tmp_path: Path) -> None:
    name, request, config = _launch(
        aws,
        tmp_path,
        train_s3_uri=f"s3://{BUCKET}/datasets/v2/train",
        output_s3_uri=f"s3://{BUCKET}/models/experiments/",
        code_s3_uri=f"s3://{BUCKET}/models/staging",
    )
    channels = _channels(request)
    assert channels["train"] == f"{DATASETS}v2/train/"
    assert channels["test"] == f"{DATASETS}test/"
    assert request["OutputDataConfig"]["S3OutputPath"] == f"{MODELS}experiments"
    assert config.output_uri == f"{MODELS}experiments"
    assert channels["code"] == f"{MODELS}staging/{name}/input/code"
    session = aws[0]
    keys = set(_keys(session.client("s3")))
    assert "datasets/v2/train/train.csv" in keys and "datasets/train/train.csv" not in keys
    assert all(k.startswith(("datasets/", f"models/staging/{name}/input/")) for k in keys)


def test_config_defaults() -> None:
    config = launch_training.LaunchConfig(role_arn="r", bucket=BUCKET, kms_key_id="k")
    assert config.input_uris == {"train": f"{DATASETS}train/"}
    assert [config.channel_uri(c) for c in launch_training.CHANNELS] == [
        f"{DATASETS}train/",
        f"{DATASETS}validation/",
        f"{DATASETS}test/",
    ]
    assert config.output_uri == f"s3://{BUCKET}/models/training-jobs"
    assert config.code_uri == f"s3://{BUCKET}/models/training-jobs"
    with pytest.raises(ValueError, match="needs a key prefix"):
        launch_training._staging_location(
            launch_training.LaunchConfig("r", BUCKET, "k", code_s3_uri=f"s3://{BUCKET}/")
        )
    with pytest.raises(ValueError, match="not an s3://"):
        launch_training.split_s3_uri("models/training-jobs")


def test_cli_flags_match_launch_config() -> None:
    parser = launch_training.build_parser()
    dests = {a.dest for a in parser._actions} - {"help"}
    fields = {f.name for f in dataclasses.fields(launch_training.LaunchConfig)}
    assert dests - fields == {"data_dir", "wait", "env"}
    assert fields <= dests

    args = parser.parse_args(
        [
            "--role-arn=arn:role",
            f"--bucket={BUCKET}",
            "--kms-key-id=key",
            f"--output-s3-uri={MODELS}experiments",
            "--hyperparameter=epochs=3",
            "--subnet=subnet-1",
            "--subnet=subnet-2",
            "--security-group-id=sg-1",
            "--volume-size-gb=50",
        ]
    )
    config = launch_training.config_from_args(args)
    assert config == launch_training.LaunchConfig(
        role_arn="arn:role",
        bucket=BUCKET,
        kms_key_id="key",
        output_s3_uri=f"{MODELS}experiments",
        hyperparameters={"epochs": "3"},
        subnets=("subnet-1", "subnet-2"),
        security_group_ids=("sg-1",),
        volume_size_gb=50,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--role-arn=r", f"--bucket={BUCKET}", "--kms-key-id=k", "--prefix=x"])


def test_after_a_job_the_registration_command_is_printed() -> None:
    """The launcher's environment has no project configuration: it names the command that
    registers the job's output (deploy_tools.register_model reads the job itself)."""
    hint = launch_training.registration_hint("binary-classifier-2026", "dev")
    assert hint.endswith(
        "python -m deploy_tools.register_model --env dev --training-job binary-classifier-2026"
    )
    assert "--env ENV " in launch_training.registration_hint("j", None)


_WARNINGS_SCRIPT = """
import json, warnings

import boto3, moto

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if {control!r}:
        import sagemaker.train.configs  # the deprecated shim itself
    else:
        from model_code import launch_training

        with moto.mock_aws():
            config = launch_training.LaunchConfig(
                role_arn="arn:aws:iam::123456789012:role/training",
                bucket="ml-artifacts-123456789012",
                kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k",
            )
            session = launch_training.make_session(config, boto3.Session(region_name="us-east-1"))
            launch_training.build_model_trainer(config, session)
print(json.dumps([
    {{"category": w.category.__name__, "message": str(w.message), "filename": w.filename}}
    for w in caught
    if issubclass(w.category, DeprecationWarning)
    and ("sagemaker" in str(w.message) or "sagemaker" in w.filename)
]))
"""


def _sagemaker_deprecations(control: bool) -> list[dict[str, str]]:
    """DeprecationWarnings from sagemaker in a fresh interpreter (an import warns only once)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        SAGEMAKER_VALIDATE_ROLE="false",
        PYTHONPATH=str(ROOT),
    )
    script = textwrap.dedent(_WARNINGS_SCRIPT.format(control=control))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: list[dict[str, str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_trainer_building_path_has_no_sagemaker_deprecation_warning() -> None:
    """The launcher imports Compute, InputData, ... from sagemaker.core.training.configs, not the
    deprecated sagemaker.train.configs; building the trainer in a fresh interpreter shows no
    DeprecationWarning from sagemaker (the detector does see the shim's own warning)."""
    assert _sagemaker_deprecations(control=False) == []
    shim = _sagemaker_deprecations(control=True)
    assert [w["category"] for w in shim] == ["DeprecationWarning"]
    assert "sagemaker.core.training.configs" in shim[0]["message"]


# -- each framework: its image and entry script, the same keys, network and role limits -------

#: The training image each framework's job runs in us-east-1 (the SDK's registries).
TRAINING_IMAGES = {
    "tensorflow": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.19-cpu-py312",
    "pytorch": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6-cpu-py312",
    "xgboost": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0",
    "sklearn": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3",
}
#: Every framework's job runs train.py (the one trainer that runs as a script in
#: /opt/ml/code); another framework than TensorFlow's carries ``framework=<name>``, which
#: SageMaker passes as ``--framework <name>`` to it.
FRAMEWORK_HYPERPARAMETER = {
    "tensorflow": None,
    "pytorch": "pytorch",
    "xgboost": "xgboost",
    "sklearn": "sklearn",
}


@pytest.fixture
def framework_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """model_code as the launcher stages it."""
    import shutil

    source = tmp_path / "model_code"
    shutil.copytree(
        launch_training.SOURCE_DIR,
        source,
        ignore=shutil.ignore_patterns(*launch_training.CODE_IGNORE_PATTERNS),
    )
    monkeypatch.setattr(launch_training, "SOURCE_DIR", source)
    return source


def _staged_driver_files(session: Any, name: str) -> tuple[dict[str, Any], str]:
    """The SDK's ``sm_drivers/sourcecode.json`` and ``sm_train.sh`` of job ``name``."""
    s3 = session.client("s3")
    prefix = f"models/training-jobs/{name}/input/sm_drivers/"
    source = s3.get_object(Bucket=BUCKET, Key=f"{prefix}sourcecode.json")["Body"].read()
    script = s3.get_object(Bucket=BUCKET, Key=f"{prefix}sm_train.sh")["Body"].read()
    return json.loads(source), script.decode()


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_HYPERPARAMETER))
def test_each_framework_trains_with_its_image_and_entry_script_under_the_same_limits(
    aws: Any, tmp_path: Path, framework_sources: Path, framework: str
) -> None:
    session, key_arn, role_arn = aws
    name, request, config = _launch(
        aws,
        tmp_path,
        framework=framework,
        subnets=("subnet-0a", "subnet-0b"),
        security_group_ids=("sg-0a",),
    )
    spec = request["AlgorithmSpecification"]
    assert spec["TrainingImage"] == TRAINING_IMAGES[framework]
    assert config.entry_script == "train.py"
    source, script = _staged_driver_files(session, name)
    # The SDK's driver (the job's container entry point) runs sourcecode.json's entry script.
    assert source["entry_script"] == "train.py"
    assert config.requirements_file == (
        "requirements.txt" if framework == "tensorflow" else f"requirements-{framework}.txt"
    )
    assert source["requirements"] == config.requirements_file
    hyperparameters = request["HyperParameters"]
    assert hyperparameters.get("framework") == FRAMEWORK_HYPERPARAMETER[framework]
    assert hyperparameters["epochs"] == "50"  # the given ones travel beside it
    assert "sm_drivers/distributed_drivers/basic_script_driver.py" in script
    assert spec["ContainerArguments"][-1].endswith("/opt/ml/input/data/sm_drivers/sm_train.sh")
    code = _channels(request)["code"].removeprefix(f"s3://{BUCKET}/")
    staged = {k.rsplit("/", 1)[-1] for k in _keys(session.client("s3"), code)}
    # train.py and the trainers it hands --framework to.
    trainers = {"train_pytorch.py", "train_xgboost.py", "train_sklearn.py"}
    assert {"train.py", "requirements.txt", *trainers} <= staged
    assert "launch_training.py" not in staged

    # The same encryption, network and role limits for every framework.
    assert request["RoleArn"] == role_arn
    assert request["OutputDataConfig"]["KmsKeyId"] == key_arn
    assert request["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/models/training-jobs"
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == key_arn
    assert request["VpcConfig"] == {
        "Subnets": ["subnet-0a", "subnet-0b"],
        "SecurityGroupIds": ["sg-0a"],
    }
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert "EnableNetworkIsolation" not in request  # as before: the job installs requirements
    assert all(uri.startswith((DATASETS, TRAINING_JOBS)) for uri in _channels(request).values())
    environment = request.get("Environment", {})
    assert environment == ({"TF_CPP_MIN_LOG_LEVEL": "2"} if framework == "tensorflow" else {})


@pytest.mark.parametrize(
    ("framework", "image"),
    [
        ("pytorch", "pytorch-training:2.6-gpu-py312"),
        ("xgboost", "sagemaker-xgboost:3.2-0"),  # one image for CPU and GPU
        ("tensorflow", "tensorflow-training:2.19-gpu-py312"),
    ],
)
def test_a_gpu_instance_trains_on_the_gpu_image(framework: str, image: str) -> None:
    uri = launch_training.training_image_uri(REGION, None, "ml.g5.xlarge", framework)
    assert uri.endswith(f"/{image}")


def test_scikit_learn_has_no_gpu_training_image() -> None:
    with pytest.raises(ValueError, match="processor"):
        launch_training.training_image_uri(REGION, None, "ml.g5.xlarge", "sklearn")


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_HYPERPARAMETER))
def test_serving_images_are_the_stacks(framework: str) -> None:
    """The launcher's serving image and the stack's (serving_core.image_tables) agree."""
    from serving_core.frameworks import framework_facts
    from serving_core.image_tables import ImageSpec

    facts = framework_facts(framework)
    spec = ImageSpec(facts.sdk_table, facts.serving_version, "inference")
    expected = (
        f"{spec.registries()[REGION]}.dkr.ecr.{REGION}.amazonaws.com/{spec.repository}:{spec.tag}"
    )
    assert launch_training.serving_image_uri(REGION, framework=framework) == expected


def test_a_missing_training_script_is_named(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(launch_training, "SOURCE_DIR", tmp_path)
    config = launch_training.LaunchConfig("r", BUCKET, "k", framework="xgboost")
    with pytest.raises(FileNotFoundError, match=r"train\.py is missing: the xgboost"):
        launch_training.build_model_trainer(config, session=object())


def test_a_contradicting_framework_hyperparameter_is_refused() -> None:
    with pytest.raises(ValueError, match=r"hyperparameters: framework=sklearn contradicts"):
        launch_training.LaunchConfig(
            "r", BUCKET, "k", framework="xgboost", hyperparameters={"framework": "sklearn"}
        )
    same = launch_training.LaunchConfig(
        "r", BUCKET, "k", framework="xgboost", hyperparameters={"framework": "xgboost"}
    )
    assert same.job_hyperparameters == {"framework": "xgboost"}


def test_an_unknown_framework_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown framework 'mxnet'; known: tensorflow, pytorch"):
        launch_training.LaunchConfig("r", BUCKET, "k", framework="mxnet")


def test_the_framework_flag() -> None:
    parser = launch_training.build_parser()
    required = ["--role-arn=r", f"--bucket={BUCKET}", "--kms-key-id=k"]
    config = launch_training.config_from_args(parser.parse_args([*required, "--framework=sklearn"]))
    assert (config.framework, config.training_version) == ("sklearn", "1.9-0")
    default = launch_training.config_from_args(parser.parse_args(required))
    assert (default.framework, default.training_version) == ("tensorflow", "2.19")
    pinned = parser.parse_args([*required, "--framework=pytorch", "--framework-version=2.5"])
    assert launch_training.config_from_args(pinned).training_version == "2.5"
    with pytest.raises(SystemExit):
        parser.parse_args([*required, "--framework=mxnet"])


@pytest.mark.parametrize("framework", ["pytorch", "xgboost", "sklearn"])
def test_the_container_environment_is_the_sdks_for_code_in_an_isolated_artifact(
    framework: str,
) -> None:
    """serving_core.frameworks.container_environment is what the SDK's own ModelBuilder sets
    for a script-mode model whose code is in the artifact: network isolation (the stack's
    instance variants) makes the SDK point SAGEMAKER_SUBMIT_DIRECTORY at /opt/ml/model/code."""
    import logging
    import types

    from sagemaker.serve.model_builder import ModelBuilder

    from serving_core.frameworks import container_environment

    builder = types.SimpleNamespace(
        env_vars={},
        uploaded_code=types.SimpleNamespace(
            script_name="inference.py", s3_prefix=f"s3://{BUCKET}/code/sourcedir.tar.gz"
        ),
        repacked_model_data=None,
        enable_network_isolation=lambda: True,
        container_log_level=logging.INFO,
        region="eu-west-1",
        to_string=str,
    )
    sdk = ModelBuilder._script_mode_env_vars(builder)
    assert container_environment(framework, "eu-west-1") == sdk
    assert sdk["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
