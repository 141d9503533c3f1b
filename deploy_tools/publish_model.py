"""Publish the first model artifact between the data stack and the serving stack.

An endpoint cannot be created before its artifact exists, so the deployment order is:
``cdk deploy <prefix>-data`` -> this command -> ``cdk deploy <prefix>-serving``.
It uploads the artifact to the configured initial key and writes the SSM parameter
that the serving stack resolves at deploy time (the same parameter every promotion
updates, so a later deploy never rolls a promoted model back).

``--if-missing`` (the delivery pipeline's step) publishes only while the parameter does not
exist: once a model serves, later runs leave it (and every promotion since) alone.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from deploy_tools.stack_outputs import StackOutputsError, read_stack_outputs
from serving_config import ConfigError, Settings, load_settings
from serving_core.artifact import (
    ArtifactRejectedError,
    ArtifactReport,
    ArtifactRules,
    validate_artifact,
)
from serving_core.baseline import monitoring_key

BUCKET_OUTPUT = "BucketName"
#: Where the monitoring job definitions read the served model's baseline (the data stack's
#: layout, ml_constructs.artifact_storage; not imported: that module needs aws_cdk).
MONITORING_BASELINE_PREFIX = "monitoring/baseline/"
KEY_OUTPUT = "KeyArn"


class PublishError(RuntimeError):
    """A problem the user must fix before the serving stack can be deployed."""


@dataclass(frozen=True)
class DataStackOutputs:
    """What publishing needs from the deployed data stack."""

    bucket_name: str
    key_arn: str


def artifact_rules(settings: Settings) -> ArtifactRules:
    """The promotion's own rules: the first model passes the same quality gate as every later
    one (size, archive safety, the framework's layout, metrics floor, input width, API limits)."""
    return ArtifactRules(
        max_bytes=settings.promotion.max_artifact_mb * 1024 * 1024,
        min_auc=settings.promotion.min_auc,
        feature_count=settings.model.feature_count,
        require_metrics=settings.promotion.require_metrics,
        api_max_rows=settings.api.max_rows,
        api_feature_names=settings.api.feature_names,
        framework=settings.model.framework,
    )


def check_artifact(path: Path, settings: Settings) -> ArtifactReport:
    """Refuse an artifact the promotion would reject (and SageMaker could not serve)."""
    if not path.is_file():
        raise PublishError(f"artifact {path} does not exist")
    try:
        return validate_artifact(str(path), artifact_rules(settings))
    except ArtifactRejectedError as error:
        raise PublishError(f"artifact {path} is rejected: {error.code}: {error.reason}") from None


def data_stack_outputs(cloudformation: Any, stack_name: str) -> DataStackOutputs:
    """Read the data stack's outputs; a clear message when it is not deployed yet."""
    try:
        outputs = read_stack_outputs(cloudformation, stack_name, (BUCKET_OUTPUT, KEY_OUTPUT))
    except StackOutputsError as error:
        raise PublishError(str(error)) from error
    return DataStackOutputs(bucket_name=outputs[BUCKET_OUTPUT], key_arn=outputs[KEY_OUTPUT])


def publish_initial_model(
    settings: Settings,
    artifact: Path,
    *,
    outputs: DataStackOutputs | None = None,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Upload ``artifact`` to the initial key and point the SSM parameter at it; returns the URI.
    Its Model Monitor baseline, if it carries one, becomes the monitors' (as a promotion's
    does once it serves)."""
    report = check_artifact(artifact, settings)
    session = session or boto3.session.Session(region_name=settings.region)
    clients: dict[str, Any] = {
        name: session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        for name in ("s3", "ssm", "cloudformation")
    }
    if outputs is None:
        outputs = data_stack_outputs(clients["cloudformation"], f"{settings.prefix}-data")
    key = settings.model.initial_artifact_key
    clients["s3"].upload_file(
        str(artifact),
        outputs.bucket_name,
        key,
        ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": outputs.key_arn},
    )
    uri = f"s3://{outputs.bucket_name}/{key}"
    for member, data in report.baseline.items():
        clients["s3"].put_object(
            Bucket=outputs.bucket_name,
            Key=monitoring_key(MONITORING_BASELINE_PREFIX, member),
            Body=data,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=outputs.key_arn,
        )
    clients["ssm"].put_parameter(
        Name=settings.artifact_parameter,
        Value=uri,
        Type="String",
        Overwrite=True,
        Description="S3 URI of the model artifact the endpoint serves (publish/promotion)",
    )
    return uri


def published_model(settings: Settings, ssm: Any) -> str | None:
    """The URI the environment's model parameter names, or None while it does not exist."""
    try:
        parameter = ssm.get_parameter(Name=settings.artifact_parameter)["Parameter"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return str(parameter["Value"])


def access_hint(error: ClientError, env: str) -> str:
    """What to do when the upload is denied: SSE-KMS needs the key as well as the bucket."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code not in ("AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException"):
        return ""
    return (
        f"\n  uploads are SSE-KMS with the project key: add your role or user ARN to "
        f"`operators:` in serving_config/environments/{env}.yaml and redeploy the data stack, "
        "or assume the data stack's DeployerRoleArn (it may upload, use the key through S3 and "
        "write the model parameter)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment name (serving_config)")
    parser.add_argument("--artifact", required=True, type=Path, help="path to model.tar.gz")
    parser.add_argument("--endpoint-url", help="AWS endpoint override (e.g. a local moto server)")
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="publish only if the model parameter does not exist yet (a model already serves)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env)
        if args.if_missing:
            session = boto3.session.Session(region_name=settings.region)
            ssm = session.client("ssm", endpoint_url=args.endpoint_url)
            serving = published_model(settings, ssm)
            if serving is not None:
                print(
                    f"not published: {settings.artifact_parameter} already names {serving} "
                    "(a model serves; promotions replace it)"
                )
                return 0
        uri = publish_initial_model(settings, args.artifact, endpoint_url=args.endpoint_url)
    except (ConfigError, PublishError) as error:
        print(f"publish failed: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("publish failed: no AWS credentials found (set AWS_PROFILE or keys)", file=sys.stderr)
        return 2
    except ClientError as error:
        print(f"publish failed: AWS said: {error}{access_hint(error, args.env)}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"publish failed: AWS said: {error}", file=sys.stderr)
        return 1
    print(f"published {uri}; parameter {settings.artifact_parameter} now names it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
