"""Start a SageMaker Inference Recommender job (``Default``: about 45 minutes, a handful of
instance types load-tested with the model's own sample payload) to choose the instance type.

The sample payload is the held-out rows, one ``{"instances": [[...]]}`` JSON file per row, in
one gzip-compressed tar archive uploaded (SSE-KMS, the project key) to the data stack's bucket
under ``inference-recommender/<job>/payload.tar.gz``, as ``RecommendationJobPayloadConfig``
requires. The model is a registered model package version (``--model-package-arn``) or a
SageMaker model (``--model-name``); ``ContainerConfig`` says what it is (TensorFlow, JSON in
and out, real-time). The request is checked against botocore's model of the API before it
is sent (``--dry-run`` stops there and prints it).

``python -m deploy_tools.recommend_instance --env dev --role-arn ARN --model-package-arn ARN``
``aws sagemaker describe-inference-recommendations-job --job-name NAME`` then shows the result.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ParamValidationError
from botocore.session import get_session
from botocore.validate import validate_parameters

from deploy_tools.capacity.plan import CapacityError, request_bodies
from deploy_tools.publish_model import BUCKET_OUTPUT, KEY_OUTPUT
from deploy_tools.stack_outputs import StackOutputsError, read_stack_outputs
from serving_config import ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROWS = REPO / ".rehearsal" / "data" / "test.csv"
PAYLOAD_PREFIX = "inference-recommender/"
JSON = "application/json"
# Patterns of the CreateInferenceRecommendationsJob request (SageMaker API Reference).
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/\S{1,2048}$"
)
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")


class RecommendError(ValueError):
    """Bad input; the message names the flag. Nothing was uploaded or started."""


@dataclass(frozen=True)
class JobInput:
    """What the job recommends for, validated."""

    job_name: str
    role_arn: str
    model_package_arn: str = ""
    model_name: str = ""
    instance_types: tuple[str, ...] = ()
    duration_s: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if not _JOB_NAME.match(self.job_name):
            problems.append(f"--job-name: {self.job_name!r} is not 1-64 letters, digits, hyphens")
        if len(self.role_arn) < 20 or not _ROLE_ARN.match(self.role_arn):
            problems.append(f"--role-arn: {self.role_arn!r} is not an IAM role ARN")
        if bool(self.model_package_arn) == bool(self.model_name):
            problems.append("give exactly one of --model-package-arn and --model-name")
        if self.model_package_arn and not _PACKAGE_ARN.match(self.model_package_arn):
            problems.append(
                f"--model-package-arn: {self.model_package_arn!r} is not a model package "
                "version ARN (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/N)"
            )
        if self.model_name and (
            len(self.model_name) > 63 or not _MODEL_NAME.match(self.model_name)
        ):
            problems.append(f"--model-name: {self.model_name!r} is not a SageMaker model name")
        bad = [t for t in self.instance_types if not _INSTANCE_TYPE.match(t)]
        if bad:
            problems.append(f"--instance-types: {', '.join(bad)} not like ml.m5.large")
        if self.duration_s is not None and self.duration_s < 1:
            problems.append(f"--duration-s: {self.duration_s} must be at least 1")
        if problems:
            raise RecommendError("; ".join(problems))


def payload_archive(bodies: Sequence[str]) -> bytes:
    """One JSON request per file, in a single .tar.gz (what SamplePayloadUrl must name)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for i, body in enumerate(bodies):
            data = body.encode()
            info = tarfile.TarInfo(f"payload-{i:04d}.json")
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_request(
    job: JobInput, settings: Settings, payload_url: str, key_arn: str
) -> dict[str, Any]:
    """The CreateInferenceRecommendationsJob request: a Default job for the real-time
    variant this stack deploys (the configured framework's container, JSON in and out)."""
    container: dict[str, Any] = {
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
        "Framework": settings.model.facts.recommender_framework,
        "FrameworkVersion": settings.model.framework_version,
        "PayloadConfig": {"SamplePayloadUrl": payload_url, "SupportedContentTypes": [JSON]},
        "SupportedEndpointType": "RealTime",
        "SupportedResponseMIMETypes": [JSON],
    }
    if job.instance_types:
        container["SupportedInstanceTypes"] = list(job.instance_types)
    model = (
        {"ModelPackageVersionArn": job.model_package_arn}
        if job.model_package_arn
        else {"ModelName": job.model_name}
    )
    input_config: dict[str, Any] = {**model, "ContainerConfig": container}
    if key_arn:  # the endpoints it load-tests encrypt their volumes with the project key
        input_config["VolumeKmsKeyId"] = key_arn
    if job.duration_s is not None:
        input_config["JobDurationInSeconds"] = job.duration_s
    request: dict[str, Any] = {
        "JobName": job.job_name,
        "JobType": "Default",
        "RoleArn": job.role_arn,
        "InputConfig": input_config,
        "JobDescription": f"Instance type for {settings.prefix} (deploy_tools.recommend_instance)",
        "Tags": [{"Key": "project", "Value": settings.project}],
    }
    return request


def check_request(request: dict[str, Any]) -> None:
    """botocore's own model of the API: required members, types, lengths, enums."""
    shape = (
        get_session()
        .get_service_model("sagemaker")
        .operation_model("CreateInferenceRecommendationsJob")
        .input_shape
    )
    assert shape is not None
    try:
        validate_parameters(request, shape)
    except ParamValidationError as error:
        raise RecommendError(f"AWS would refuse the request: {error}") from None


def start_job(
    job: JobInput,
    settings: Settings,
    bodies: Sequence[str],
    *,
    session: Any,
    endpoint_url: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Upload the payload, build and check the request, start the job (not with dry_run)."""
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    try:
        outputs = read_stack_outputs(
            cloudformation, f"{settings.prefix}-data", (BUCKET_OUTPUT, KEY_OUTPUT)
        )
    except StackOutputsError as error:
        raise RecommendError(str(error)) from None
    bucket, key_arn = outputs[BUCKET_OUTPUT], outputs[KEY_OUTPUT]
    key = f"{PAYLOAD_PREFIX}{job.job_name}/payload.tar.gz"
    request = build_request(job, settings, f"s3://{bucket}/{key}", key_arn)
    check_request(request)
    if dry_run:
        return request
    session.client("s3", endpoint_url=endpoint_url).put_object(
        Bucket=bucket,
        Key=key,
        Body=payload_archive(bodies),
        ContentType="application/gzip",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_arn,
    )
    answer = session.client(
        "sagemaker", endpoint_url=endpoint_url
    ).create_inference_recommendations_job(**request)
    return {**request, "JobArn": answer["JobArn"]}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy_tools.recommend_instance", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--env", required=True, help="environment (its data stack's bucket and key)"
    )
    parser.add_argument("--role-arn", required=True, help="role Inference Recommender acts as")
    parser.add_argument("--model-package-arn", default="", help="a registered model version")
    parser.add_argument("--model-name", default="", help="or a SageMaker model's name")
    parser.add_argument(
        "--instance-types", default="", help="comma-separated candidates (default: SageMaker's)"
    )
    parser.add_argument("--job-name", help="default: <prefix>-rec-<UTC time>")
    parser.add_argument("--duration-s", type=int, help="JobDurationInSeconds (default AWS's)")
    parser.add_argument("--rows", type=Path, default=DEFAULT_ROWS, help="held-out rows (CSV)")
    parser.add_argument("--samples", type=int, default=50, help="rows in the payload (1-1000)")
    parser.add_argument("--region", help="default: the environment's, else the session's")
    parser.add_argument("--endpoint-url", help="AWS endpoint override (a local moto server)")
    parser.add_argument("--dry-run", action="store_true", help="check and print; start nothing")
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 1000:
        parser.error(f"--samples: {args.samples} is outside 1-1000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.env)
        job = JobInput(
            job_name=args.job_name
            or f"{settings.prefix}-rec-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}",
            role_arn=args.role_arn,
            model_package_arn=args.model_package_arn,
            model_name=args.model_name,
            instance_types=tuple(t.strip() for t in args.instance_types.split(",") if t.strip()),
            duration_s=args.duration_s,
        )
        bodies = request_bodies(args.rows, settings.model.feature_count, limit=args.samples)
        session = boto3.session.Session(region_name=args.region or settings.region)
        result = start_job(
            job,
            settings,
            bodies,
            session=session,
            endpoint_url=args.endpoint_url,
            dry_run=args.dry_run,
        )
    except (ConfigError, RecommendError, CapacityError) as error:
        print(f"recommend_instance: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("recommend_instance: no AWS credentials found (AWS_PROFILE or keys)", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"recommend_instance: AWS said: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if not args.dry_run:
        print(
            f"started {result['JobArn']}; follow it with `aws sagemaker "
            f"describe-inference-recommendations-job --job-name {job.job_name}`"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
