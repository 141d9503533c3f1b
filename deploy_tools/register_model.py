"""Register a trained ``model.tar.gz`` as a version of the environment's model package group.

The version is created ``PendingManualApproval``: approving it (a person, or a policy) is what
promotes it, where ``registry.trigger`` allows. Before anything is written the artifact passes
the promotion's own validation, the group must exist and must not already hold the same bytes.
The artifact is stored, immutably, at ``models/registry/<sha256[:16]>/model.tar.gz`` with its
``metrics.json`` (and the Model Monitor baselines it carries) beside it; the package points at
them (``ModelMetrics``, ``DriftCheckBaselines``) and records the data set and git revision.

``python -m deploy_tools.register_model --env dev --artifact build/model.tar.gz``
``python -m deploy_tools.register_model --env dev --training-job NAME`` (after a SageMaker job)
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from deploy_tools.publish_model import BUCKET_OUTPUT, KEY_OUTPUT, access_hint, artifact_rules
from deploy_tools.stack_outputs import StackOutputsError, read_stack_outputs
from model_code.package import (
    BASELINE_MEMBERS,
    DATA_QUALITY_CONSTRAINTS,
    DATA_QUALITY_STATISTICS,
    MODEL_QUALITY_CONSTRAINTS,
    MODEL_QUALITY_STATISTICS,
)
from serving_config import ConfigError, Settings, load_settings
from serving_core.artifact import ArtifactRejectedError, validate_artifact
from serving_core.frameworks import container_environment
from serving_core.tags import tag_value

IMAGE_OUTPUT = "ServingImageUri"
GROUP_OUTPUT = "ModelPackageGroup"
REGISTRY_PREFIX = "models/registry/"
METRICS_MEMBER = "metrics.json"
JSON = "application/json"
#: What inference.py's input_handler and output_handler speak.
REQUEST_CONTENT_TYPES = ("application/json", "text/csv")
RESPONSE_CONTENT_TYPES = ("application/json",)
#: ModelPackageDescription: at most 1,024 characters, no control characters.
DESCRIPTION_LIMIT = 1024
#: Members carried to the registry beside the artifact, read from the validated archive.
DOCUMENT_LIMIT_BYTES = 16 * 1024 * 1024


class RegisterError(RuntimeError):
    """A problem the user must fix; nothing was registered."""


@dataclass(frozen=True)
class Provenance:
    """Where the model came from: recorded in the package's metadata."""

    dataset: str
    git_revision: str
    generated_by: str = "deploy_tools.register_model"
    description: str = ""


@dataclass(frozen=True)
class RegistryTarget:
    """What registration needs from the deployed data stack."""

    bucket_name: str
    key_arn: str
    image_uri: str
    group_name: str


@dataclass(frozen=True)
class Registration:
    """The created version."""

    arn: str
    artifact_uri: str
    sha256: str


def registry_target(cloudformation: Any, stack_name: str) -> RegistryTarget:
    """The data stack's bucket, key, serving image and group, or what to deploy first."""
    try:
        outputs = read_stack_outputs(
            cloudformation, stack_name, (BUCKET_OUTPUT, KEY_OUTPUT, IMAGE_OUTPUT, GROUP_OUTPUT)
        )
    except StackOutputsError as error:
        raise RegisterError(str(error)) from error
    return RegistryTarget(
        bucket_name=outputs[BUCKET_OUTPUT],
        key_arn=outputs[KEY_OUTPUT],
        image_uri=outputs[IMAGE_OUTPUT],
        group_name=outputs[GROUP_OUTPUT],
    )


def git_revision(directory: Path | None = None) -> str:
    """``git rev-parse HEAD`` of the checkout, or ``unknown`` outside one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def read_members(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The named regular-file members of a validated archive (``./`` prefixes ignored)."""
    found: dict[str, bytes] = {}
    with tarfile.open(path, mode="r|gz") as archive:
        for member in archive:
            name = member.name
            while name.startswith("./"):
                name = name[2:]
            if name in names and member.isfile():
                handle = archive.extractfile(member)
                data = handle.read(DOCUMENT_LIMIT_BYTES + 1) if handle else b""
                if len(data) > DOCUMENT_LIMIT_BYTES:
                    raise RegisterError(f"{name} is larger than {DOCUMENT_LIMIT_BYTES} bytes")
                found[name] = data
    return found


def check_artifact(path: Path, settings: Settings) -> str:
    """The promotion's validation; returns the artifact's sha256."""
    try:
        return validate_artifact(str(path), artifact_rules(settings)).sha256
    except ArtifactRejectedError as error:
        raise RegisterError(f"artifact is rejected: {error.code}: {error.reason}") from None


def description_of(sha256: str, provenance: Provenance) -> str:
    """One line naming the artifact's digest (how :func:`find_duplicate` recognizes it)."""
    text = " ".join(f"{provenance.description} sha256 {sha256}".split())
    return "".join(c for c in text if c.isprintable())[-DESCRIPTION_LIMIT:]


class Registrar:
    """Registers artifacts in one group, with the clients of one account and region."""

    def __init__(self, settings: Settings, target: RegistryTarget, clients: dict[str, Any]):
        self.settings = settings
        self.target = target
        self.sagemaker = clients["sagemaker"]
        self.s3 = clients["s3"]

    def register(self, artifact: Path, sha256: str, provenance: Provenance) -> Registration:
        """Check the group and duplicates, store the files, create the version (``artifact``
        passed :func:`check_artifact`, which gave ``sha256``)."""
        self.require_group()
        duplicate = self.find_duplicate(sha256)
        if duplicate is not None:
            raise RegisterError(
                f"{duplicate['ModelPackageArn']} ({duplicate.get('ModelApprovalStatus')}) "
                f"already holds this artifact (sha256 {sha256}); approve or reject that "
                "version instead of registering it again"
            )
        directory = f"{REGISTRY_PREFIX}{sha256[:16]}/"
        artifact_uri = self._upload(directory + "model.tar.gz", artifact)
        documents = read_members(
            artifact,
            (METRICS_MEMBER, *BASELINE_MEMBERS),
        )
        files = {
            name: (self._put(directory + name, data, JSON), data)
            for name, data in documents.items()
        }
        request = self.package_request(sha256, artifact_uri, files, provenance)
        arn = str(self.sagemaker.create_model_package(**request)["ModelPackageArn"])
        return Registration(arn=arn, artifact_uri=artifact_uri, sha256=sha256)

    def require_group(self) -> None:
        try:
            self.sagemaker.describe_model_package_group(
                ModelPackageGroupName=self.target.group_name
            )
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", "")).lower()
            if "does not exist" in message or "not found" in message:
                raise RegisterError(
                    f"model package group {self.target.group_name} does not exist in this "
                    f"account and region; deploy the data stack ({self.settings.prefix}-data) "
                    "first"
                ) from None
            raise

    def packages(self) -> Iterator[dict[str, Any]]:
        paginator = self.sagemaker.get_paginator("list_model_packages")
        for page in paginator.paginate(ModelPackageGroupName=self.target.group_name):
            yield from page["ModelPackageSummaryList"]

    def find_duplicate(self, sha256: str) -> dict[str, Any] | None:
        """A version of the group that holds the same bytes: named in its description (ours),
        or in its ``sha256`` metadata (described only for versions not registered here)."""
        for summary in self.packages():
            description = str(summary.get("ModelPackageDescription", ""))
            if f"sha256 {sha256}" in description:
                return summary
            if "sha256 " in description:
                continue  # registered by this tool, with other bytes
            described = self.sagemaker.describe_model_package(
                ModelPackageName=summary["ModelPackageArn"]
            )
            if described.get("CustomerMetadataProperties", {}).get("sha256") == sha256:
                return summary
        return None

    def package_request(
        self,
        sha256: str,
        artifact_uri: str,
        files: dict[str, tuple[str, bytes]],
        provenance: Provenance,
    ) -> dict[str, Any]:
        """The CreateModelPackage request."""
        settings = self.settings
        container: dict[str, Any] = {
            "Image": self.target.image_uri,
            "ModelDataUrl": artifact_uri,
            "Framework": settings.model.facts.recommender_framework,
            "FrameworkVersion": settings.model.framework_version,
        }
        # A script-mode container (PyTorch, XGBoost, scikit-learn) runs the artifact's
        # code/inference.py by these variables; TensorFlow Serving needs none.
        environment = container_environment(
            settings.model.framework, self.sagemaker.meta.region_name
        )
        if environment:
            container["Environment"] = environment
        inference: dict[str, Any] = {
            "Containers": [container],
            "SupportedContentTypes": list(REQUEST_CONTENT_TYPES),
            "SupportedResponseMIMETypes": list(RESPONSE_CONTENT_TYPES),
        }
        if settings.variant.realtime_instance_types:
            inference["SupportedRealtimeInferenceInstanceTypes"] = (
                settings.variant.realtime_instance_types
            )
        metadata = {
            "sha256": sha256,
            "dataset": tag_value(provenance.dataset) or "unknown",
            "git_revision": tag_value(provenance.git_revision) or "unknown",
        }
        if settings.model.feature_count is not None:
            metadata["feature_count"] = str(settings.model.feature_count)
        request: dict[str, Any] = {
            "ModelPackageGroupName": self.target.group_name,
            "ModelPackageDescription": description_of(sha256, provenance),
            "InferenceSpecification": inference,
            "ModelApprovalStatus": "PendingManualApproval",
            "MetadataProperties": {
                "CommitId": provenance.git_revision[:1024],
                "GeneratedBy": provenance.generated_by[:1024],
            },
            "CustomerMetadataProperties": metadata,
            "Domain": "MACHINE_LEARNING",
            "Task": "CLASSIFICATION",
        }
        metrics, baselines = _model_metrics(files)
        if metrics:
            request["ModelMetrics"] = metrics
        if baselines:
            request["DriftCheckBaselines"] = baselines
        return request

    def _encryption(self) -> dict[str, str]:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.target.key_arn}

    def _upload(self, key: str, path: Path) -> str:
        """A file of any size (multipart above 8 MiB), SSE-KMS with the project key."""
        self.s3.upload_file(str(path), self.target.bucket_name, key, ExtraArgs=self._encryption())
        return f"s3://{self.target.bucket_name}/{key}"

    def _put(self, key: str, body: bytes, content_type: str) -> str:
        self.s3.put_object(
            Bucket=self.target.bucket_name,
            Key=key,
            Body=body,
            ContentType=content_type,
            **self._encryption(),
        )
        return f"s3://{self.target.bucket_name}/{key}"


def _metric_file(files: dict[str, tuple[str, bytes]], name: str) -> dict[str, str] | None:
    if name not in files:
        return None
    uri, data = files[name]
    return {
        "ContentType": JSON,
        "S3Uri": uri,
        "ContentDigest": f"sha256:{hashlib.sha256(data).hexdigest()}",
    }


def _model_metrics(
    files: dict[str, tuple[str, bytes]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``ModelMetrics``: the held-out metrics (``metrics.json``), the model-quality floors and
    the data-quality baseline; ``DriftCheckBaselines``: the Model Monitor baselines the
    monitors compare traffic with (statistics and constraints of each kind)."""

    def pair(statistics: str, constraints: str) -> dict[str, Any]:
        found = {
            "Statistics": _metric_file(files, statistics),
            "Constraints": _metric_file(files, constraints),
        }
        return {k: v for k, v in found.items() if v}

    metrics = {
        "ModelQuality": pair(METRICS_MEMBER, MODEL_QUALITY_CONSTRAINTS),
        "ModelDataQuality": pair(DATA_QUALITY_STATISTICS, DATA_QUALITY_CONSTRAINTS),
    }
    baselines = {
        "ModelQuality": pair(MODEL_QUALITY_STATISTICS, MODEL_QUALITY_CONSTRAINTS),
        "ModelDataQuality": pair(DATA_QUALITY_STATISTICS, DATA_QUALITY_CONSTRAINTS),
    }
    return {k: v for k, v in metrics.items() if v}, {k: v for k, v in baselines.items() if v}


def training_job_artifact(sagemaker: Any, job_name: str) -> tuple[str, Provenance]:
    """The output and provenance of a completed training job."""
    try:
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as error:
        raise RegisterError(
            f"training job {job_name!r} cannot be read: {error.response['Error']['Message']}"
        ) from None
    status = job.get("TrainingJobStatus")
    if status != "Completed":
        raise RegisterError(f"training job {job_name} is {status}, not Completed")
    uri = str(job.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""))
    channels = {c["ChannelName"]: c for c in job.get("InputDataConfig", [])}
    train = channels.get("train", {}).get("DataSource", {}).get("S3DataSource", {})
    return uri, Provenance(
        dataset=str(train.get("S3Uri", "unknown")),
        git_revision="unknown",
        generated_by=str(job.get("TrainingJobArn", job_name)),
    )


def download(s3: Any, uri: str, directory: Path) -> Path:
    """An ``s3://`` artifact as a local file."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise RegisterError(f"{uri!r} is not an s3://bucket/key URI")
    local = directory / "model.tar.gz"
    try:
        s3.download_file(bucket, key, str(local))
    except ClientError as error:
        raise RegisterError(
            f"{uri} cannot be downloaded: {error.response['Error'].get('Message') or error}"
        ) from None
    return local


def register_model(
    settings: Settings,
    artifact: str,
    provenance: Provenance,
    *,
    target: RegistryTarget | None = None,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
) -> Registration:
    """Register ``artifact`` (a local path or an ``s3://`` URI) in the environment's group."""
    session = session or boto3.session.Session(region_name=settings.region)
    clients: dict[str, Any] = {
        name: session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        for name in ("s3", "sagemaker", "cloudformation")
    }
    with tempfile.TemporaryDirectory() as directory:
        if artifact.startswith("s3://"):
            local = download(clients["s3"], artifact, Path(directory))
        else:
            local = Path(artifact)
            if not local.is_file():
                raise RegisterError(f"artifact {artifact} does not exist")
        sha256 = check_artifact(local, settings)
        if target is None:
            target = registry_target(clients["cloudformation"], f"{settings.prefix}-data")
        return Registrar(settings, target, clients).register(local, sha256, provenance)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment name (serving_config)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--artifact", help="model.tar.gz: a local path or an s3:// URI")
    source.add_argument("--training-job", help="register this completed SageMaker job's output")
    parser.add_argument("--dataset", help="the training data (default: the job's train channel)")
    parser.add_argument("--git-revision", help="default: git rev-parse HEAD")
    parser.add_argument("--description", default="", help="one line for the registry")
    parser.add_argument("--endpoint-url", help="AWS endpoint override (e.g. a local moto server)")
    return parser


def _provenance(args: argparse.Namespace, settings: Settings) -> tuple[str, Provenance]:
    if args.training_job:
        session = boto3.session.Session(region_name=settings.region)
        sagemaker = session.client("sagemaker", endpoint_url=args.endpoint_url)
        artifact, provenance = training_job_artifact(sagemaker, args.training_job)
    else:
        artifact, provenance = args.artifact, Provenance(dataset="unknown", git_revision="")
    return artifact, Provenance(
        dataset=args.dataset or provenance.dataset,
        git_revision=args.git_revision or git_revision(),
        generated_by=provenance.generated_by,
        description=args.description,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env)
        artifact, provenance = _provenance(args, settings)
        registration = register_model(
            settings, artifact, provenance, endpoint_url=args.endpoint_url
        )
    except (ConfigError, RegisterError) as error:
        print(f"register failed: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print(
            "register failed: no AWS credentials found (set AWS_PROFILE or keys)", file=sys.stderr
        )
        return 2
    except ClientError as error:
        print(f"register failed: AWS said: {error}{access_hint(error, args.env)}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"register failed: AWS said: {error}", file=sys.stderr)
        return 1
    print(
        f"registered {registration.arn} (PendingManualApproval), artifact "
        f"{registration.artifact_uri}\napprove it to promote it: aws sagemaker "
        f"update-model-package --model-package-arn {registration.arn} "
        "--model-approval-status Approved"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
