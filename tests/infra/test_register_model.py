"""Registering a trained model: a PendingManualApproval version of the environment's group that
points at the validated artifact, its metrics and baselines, with the data set and git revision;
and a clear error for a missing group, a bad artifact, a duplicate or a job that did not finish."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy_tools.register_model import (
    Provenance,
    RegisterError,
    RegistryTarget,
    description_of,
    main,
    register_model,
    training_job_artifact,
)
from model_code.package import DATA_QUALITY_CONSTRAINTS
from serving_config import load_settings
from tests.model_promotion import artifacts

REGION = "us-east-1"
GROUP = "mlserving-dev"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.20-cpu"
PROVENANCE = Provenance(
    dataset="s3://artifacts/datasets/train/", git_revision="0123abcd" * 5, description="nightly"
)
# One session for the module: its loader caches the service models (SageMaker's is large), so
# each test's clients are cheap. moto intercepts clients created from it at any time.
SESSION = boto3.session.Session(region_name=REGION)


@dataclass
class Registry:
    target: RegistryTarget
    session: boto3.session.Session
    s3: Any
    sagemaker: Any


@pytest.fixture
def registry() -> Iterator[Registry]:
    with mock_aws():
        session = SESSION
        s3 = session.client("s3")
        s3.create_bucket(Bucket="artifacts")
        key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
        sagemaker = session.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        target = RegistryTarget("artifacts", key_arn, IMAGE, GROUP)
        yield Registry(target, session, s3, sagemaker)


def write(path: Path, data: bytes | None = None) -> str:
    path.write_bytes(artifacts.build() if data is None else data)
    return str(path)


def register(registry: Registry, artifact: str) -> Any:
    return register_model(
        load_settings("dev"),
        artifact,
        PROVENANCE,
        target=registry.target,
        session=registry.session,
    )


def test_registers_a_pending_version_with_artifact_metrics_and_provenance(
    registry: Registry, tmp_path: Path
) -> None:
    path = write(tmp_path / "model.tar.gz")
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    registration = register(registry, path)
    package = registry.sagemaker.describe_model_package(ModelPackageName=registration.arn)
    assert package["ModelPackageGroupName"] == GROUP
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["Image"] == IMAGE
    assert container["ModelDataUrl"] == f"s3://artifacts/models/registry/{sha[:16]}/model.tar.gz"
    spec = package["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["application/json", "text/csv"]
    assert spec["SupportedResponseMIMETypes"] == ["application/json"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == [
        load_settings("dev").endpoint.instance_type
    ]
    assert package["CustomerMetadataProperties"] == {
        "sha256": sha,
        "dataset": "s3://artifacts/datasets/train/",
        "git_revision": PROVENANCE.git_revision,
        "feature_count": "30",
    }
    assert package["MetadataProperties"]["CommitId"] == PROVENANCE.git_revision
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    metrics_key = f"models/registry/{sha[:16]}/metrics.json"
    assert statistics["S3Uri"] == f"s3://artifacts/{metrics_key}"
    stored = registry.s3.get_object(Bucket="artifacts", Key=metrics_key)
    body = stored["Body"].read()
    assert json.loads(body)["test"]["roc_auc"] == 0.97  # the artifact's own metrics.json
    assert statistics["ContentDigest"] == f"sha256:{hashlib.sha256(body).hexdigest()}"
    for key in (metrics_key, f"models/registry/{sha[:16]}/model.tar.gz"):
        head = registry.s3.head_object(Bucket="artifacts", Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == (
            "aws:kms",
            registry.target.key_arn,
        )
    assert "DriftCheckBaselines" not in package  # this artifact carries no baselines
    assert package["ModelPackageDescription"] == f"nightly sha256 {sha}"


def test_baselines_in_the_artifact_are_registered_as_data_quality_and_drift_baselines(
    registry: Registry, tmp_path: Path
) -> None:
    baseline = dict(artifacts.baseline_members())
    constraints = baseline[DATA_QUALITY_CONSTRAINTS]
    registration = register(registry, write(tmp_path / "m.tar.gz", artifacts.with_baseline()))
    package = registry.sagemaker.describe_model_package(ModelPackageName=registration.arn)
    data_quality = package["ModelMetrics"]["ModelDataQuality"]
    assert data_quality["Statistics"]["S3Uri"].endswith("/monitoring/data-quality/statistics.json")
    assert data_quality["Constraints"]["ContentDigest"] == (
        f"sha256:{hashlib.sha256(constraints).hexdigest()}"
    )
    assert package["DriftCheckBaselines"]["ModelDataQuality"] == data_quality
    drift_quality = package["DriftCheckBaselines"]["ModelQuality"]
    assert drift_quality["Statistics"]["S3Uri"].endswith(
        "/monitoring/model-quality/statistics.json"
    )
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith("/metrics.json")


@pytest.mark.parametrize("case", sorted(artifacts.malformed()))
def test_an_artifact_the_promotion_would_reject_is_not_registered(
    registry: Registry, tmp_path: Path, case: str
) -> None:
    data, code = artifacts.malformed()[case]
    with pytest.raises(RegisterError, match=rf"artifact is rejected: {code}: "):
        register(registry, write(tmp_path / "m.tar.gz", data))
    summaries = registry.sagemaker.list_model_packages(ModelPackageGroupName=GROUP)
    assert summaries["ModelPackageSummaryList"] == []
    assert "Contents" not in registry.s3.list_objects_v2(Bucket="artifacts")


def test_registering_the_same_bytes_again_names_the_existing_version(
    registry: Registry, tmp_path: Path
) -> None:
    first = register(registry, write(tmp_path / "m.tar.gz"))
    with pytest.raises(RegisterError, match=rf"{first.arn} \(PendingManualApproval\) already"):
        register(registry, write(tmp_path / "again.tar.gz"))
    other = artifacts.build(artifacts.replacing("metrics.json", artifacts.metrics(auc=0.98)))
    assert register(registry, write(tmp_path / "other.tar.gz", other)).arn.endswith("/2")


def test_a_version_registered_elsewhere_is_recognized_by_its_sha256_metadata(
    registry: Registry, tmp_path: Path
) -> None:
    path = write(tmp_path / "m.tar.gz")
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    existing = registry.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelPackageDescription="registered by a pipeline",
        InferenceSpecification={"Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://a/b"}]},
        CustomerMetadataProperties={"sha256": sha},
    )["ModelPackageArn"]
    with pytest.raises(RegisterError, match=rf"{existing} .*already holds this artifact"):
        register(registry, path)


def test_a_missing_group_says_to_deploy_the_data_stack(registry: Registry, tmp_path: Path) -> None:
    registry.target = replace(registry.target, group_name="mlserving-absent")
    with pytest.raises(RegisterError, match=r"group mlserving-absent does not exist.*-dev-data"):
        register(registry, write(tmp_path / "m.tar.gz"))
    assert "Contents" not in registry.s3.list_objects_v2(Bucket="artifacts")


def test_an_s3_artifact_is_downloaded_validated_and_registered(
    registry: Registry, tmp_path: Path
) -> None:
    registry.s3.put_object(Bucket="artifacts", Key="models/x/model.tar.gz", Body=artifacts.build())
    registration = register(registry, "s3://artifacts/models/x/model.tar.gz")
    assert registration.artifact_uri.startswith("s3://artifacts/models/registry/")
    with pytest.raises(RegisterError, match=r"s3://artifacts/models/absent.tar.gz cannot be"):
        register(registry, "s3://artifacts/models/absent.tar.gz")
    with pytest.raises(RegisterError, match=r"does not exist"):
        register(registry, str(tmp_path / "absent.tar.gz"))


def _training_job(sagemaker: Any, status: str) -> str:
    name = f"job-{status.lower()}"
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/training",
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://artifacts/datasets/train/",
                    }
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://artifacts/models/training-jobs"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    return name


def test_a_training_job_gives_the_artifact_dataset_and_job_arn(registry: Registry) -> None:
    name = _training_job(registry.sagemaker, "Completed")
    uri, provenance = training_job_artifact(registry.sagemaker, name)
    assert uri.startswith("s3://artifacts/models/training-jobs/") and uri.endswith("model.tar.gz")
    assert provenance.dataset == "s3://artifacts/datasets/train/"
    assert provenance.generated_by.endswith(f":training-job/{name}")
    with pytest.raises(RegisterError, match=r"training job 'absent' cannot be read"):
        training_job_artifact(registry.sagemaker, "absent")


def test_an_unfinished_training_job_is_refused() -> None:
    class Jobs:
        def describe_training_job(self, **request: str) -> dict[str, Any]:
            return {"TrainingJobStatus": "InProgress"}

    with pytest.raises(RegisterError, match=r"training job j is InProgress, not Completed"):
        training_job_artifact(Jobs(), "j")


def test_the_description_is_one_line_within_the_limit_and_keeps_the_digest() -> None:
    sha = "ab" * 32
    text = description_of(sha, Provenance("d", "r", description="line\none\x07" + "x" * 2000))
    assert len(text) == 1024 and text.endswith(f"sha256 {sha}")
    assert all(c.isprintable() for c in text)


def test_cli_reports_a_bad_artifact_before_reading_the_stack(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "m.tar.gz"
    bad.write_bytes(gzip.compress(b"not a tar"))
    with mock_aws():
        assert main(["--env", "dev", "--artifact", str(bad), "--git-revision", "abc"]) == 2
        assert "artifact is rejected: not-a-tar:" in capsys.readouterr().err
        good = write(tmp_path / "good.tar.gz")
        assert main(["--env", "dev", "--artifact", good, "--git-revision", "abc"]) == 2
        assert "stack mlserving-dev-data is not deployed" in capsys.readouterr().err


def test_cli_needs_an_artifact_or_a_training_job(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--env", "dev"])
    assert "one of the arguments --artifact --training-job is required" in capsys.readouterr().err


def _tar_member_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def test_the_registered_artifact_is_the_uploaded_bytes(registry: Registry, tmp_path: Path) -> None:
    path = write(tmp_path / "m.tar.gz")
    registration = register(registry, path)
    key = registration.artifact_uri.removeprefix("s3://artifacts/")
    stored = registry.s3.get_object(Bucket="artifacts", Key=key)["Body"].read()
    assert stored == Path(path).read_bytes()
    assert "metrics.json" in _tar_member_names(stored)


@pytest.mark.parametrize(
    ("framework", "name", "version", "environment"),
    [
        ("tensorflow", "TENSORFLOW", "2.20", None),
        ("pytorch", "PYTORCH", "2.6", "inference.py"),
        ("xgboost", "XGBOOST", "3.2-0", "inference.py"),
        ("sklearn", "SAGEMAKER-SCIKIT-LEARN", "1.9-0", "inference.py"),
    ],
)
def test_the_package_names_the_framework_and_its_container_environment(
    registry: Registry,
    tmp_path: Path,
    framework: str,
    name: str,
    version: str,
    environment: str | None,
) -> None:
    """The registered container is the environment's: its framework and serving version, and
    the script-mode variables a PyTorch, XGBoost or scikit-learn container needs (each with
    an artifact of its framework: the registration validates it as the promotion does)."""
    from serving_config.settings import ModelSettings

    requests: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        requests.append(params)

    settings = replace(load_settings("dev"), model=ModelSettings(framework=framework))  # type: ignore[arg-type]
    registry.session.events.register("provide-client-params.sagemaker.CreateModelPackage", capture)
    try:
        members = artifacts.valid_members() if environment is None else None
        artifact = artifacts.build(members or artifacts.script_mode_members(framework))
        register_model(
            settings,
            write(tmp_path / "model.tar.gz", artifact),
            PROVENANCE,
            target=registry.target,
            session=registry.session,
        )
    finally:
        registry.session.events.unregister(
            "provide-client-params.sagemaker.CreateModelPackage", capture
        )
    (container,) = requests[0]["InferenceSpecification"]["Containers"]
    assert (container["Framework"], container["FrameworkVersion"]) == (name, version)
    assert container.get("Environment", {}).get("SAGEMAKER_PROGRAM") == environment
    if environment:
        assert container["Environment"]["SAGEMAKER_REGION"] == REGION
