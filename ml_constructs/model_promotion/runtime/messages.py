"""What arrives on the promotion queue, parsed into typed requests with specific errors.

Four kinds of message: an S3 "Object Created" event (through EventBridge, or an S3
event notification) and a SageMaker "Model Package State Change" (an approval in the model
registry), which ask for a promotion, and a SageMaker endpoint state change or a CodeDeploy
deployment state change (a Lambda-hosted model), which ask to record what serves once a
deployment finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class MessageError(ValueError):
    """The message is not one this function handles; the text says why."""


@dataclass(frozen=True)
class UploadedArtifact:
    """One object version: the unit of idempotency."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None

    @property
    def identity(self) -> str:
        """Stable across redeliveries of the same version (falls back to the ETag)."""
        return f"s3://{self.bucket}/{self.key}?version={self.version_id or self.etag or ''}"

    @property
    def label(self) -> str:
        """How reports name it."""
        return self.key


@dataclass(frozen=True)
class PackageApproved:
    """A model package's approval status changed: promote it when it is Approved."""

    arn: str
    group: str
    status: str
    account: str

    @property
    def identity(self) -> str:
        """The package version's ARN: one promotion per package version."""
        return self.arn

    @property
    def label(self) -> str:
        return f"model package {self.arn.rsplit(':model-package/', 1)[-1]}"


@dataclass(frozen=True)
class EndpointSettled:
    """A SageMaker endpoint state change: reconcile the recorded artifact."""

    endpoint_name: str
    status: str


@dataclass(frozen=True)
class DeploymentSettled:
    """A CodeDeploy "Deployment State-change Notification": a Lambda-hosted model's alias
    shift ended (``SUCCESS``), failed or was stopped (the alias stays on the old version)."""

    application: str
    deployment_group: str
    deployment_id: str
    state: str


#: The deployment states that end a deployment (others: START, READY, ...).
DEPLOYMENT_ENDS = ("SUCCESS", "FAILURE", "STOP")
DEPLOYMENT_STATE_CHANGE = "CodeDeploy Deployment State-change Notification"

Request = UploadedArtifact | PackageApproved | EndpointSettled | DeploymentSettled


def parse_body(body: str) -> list[Request]:
    """An SQS message body -> the requests it carries."""
    try:
        message = json.loads(body)
    except (TypeError, json.JSONDecodeError) as error:
        raise MessageError(f"the message body is not JSON ({error})") from None
    if not isinstance(message, dict):
        raise MessageError("the message body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if isinstance(message.get("Records"), list):
        return [_from_notification(record) for record in message["Records"]]
    source = message.get("source")
    detail = message.get("detail")
    if not isinstance(detail, dict):
        raise MessageError(f"an event from {source!r} without a 'detail' object")
    if source == "aws.s3":
        return [_from_eventbridge(message.get("detail-type"), detail)]
    if source == "aws.sagemaker" and message.get("detail-type") == PACKAGE_STATE_CHANGE:
        return [_from_package_event(message, detail)]
    if source == "aws.codedeploy" and message.get("detail-type") == DEPLOYMENT_STATE_CHANGE:
        return [_from_deployment_event(detail)]
    if source == "aws.sagemaker":
        name = detail.get("EndpointName")
        if not isinstance(name, str) or not name:
            raise MessageError("a SageMaker event without EndpointName")
        return [EndpointSettled(endpoint_name=name, status=str(detail.get("EndpointStatus", "")))]
    raise MessageError(
        f"events from {source!r} are not handled (expected aws.s3, aws.sagemaker or aws.codedeploy)"
    )


PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


def _from_deployment_event(detail: dict[str, Any]) -> DeploymentSettled:
    fields = {key: detail.get(key) for key in ("application", "deploymentGroup", "deploymentId")}
    missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise MessageError(f"a CodeDeploy deployment event without {', '.join(missing)}")
    return DeploymentSettled(
        application=str(fields["application"]),
        deployment_group=str(fields["deploymentGroup"]),
        deployment_id=str(fields["deploymentId"]),
        state=str(detail.get("state", "")),
    )


def _from_package_event(message: dict[str, Any], detail: dict[str, Any]) -> PackageApproved:
    arn, group = detail.get("ModelPackageArn"), detail.get("ModelPackageGroupName")
    if not isinstance(arn, str) or ":model-package/" not in arn:
        raise MessageError("a model package event without a ModelPackageArn")
    if not isinstance(group, str) or not group:
        raise MessageError("a model package event without ModelPackageGroupName")
    return PackageApproved(
        arn=arn,
        group=group,
        status=str(detail.get("ModelApprovalStatus", "")),
        account=str(message.get("account", "")),
    )


def _from_eventbridge(detail_type: Any, detail: dict[str, Any]) -> UploadedArtifact:
    if detail_type != "Object Created":
        raise MessageError(f"S3 event {detail_type!r} is not 'Object Created'")
    bucket = (
        detail.get("bucket", {}).get("name") if isinstance(detail.get("bucket"), dict) else None
    )
    obj = detail.get("object")
    if not isinstance(bucket, str) or not isinstance(obj, dict) or not obj.get("key"):
        raise MessageError("an S3 event without bucket.name and object.key")
    return UploadedArtifact(
        bucket=bucket,
        key=str(obj["key"]),
        version_id=obj.get("version-id"),
        etag=obj.get("etag"),
    )


def _from_notification(record: Any) -> UploadedArtifact:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MessageError("a notification record that is not from aws:s3")
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        raise MessageError(f"S3 notification {record.get('eventName')!r} is not ObjectCreated")
    s3 = record.get("s3", {})
    try:
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = unquote_plus(obj["key"])  # notification keys are URL-encoded
    except (KeyError, TypeError):
        raise MessageError("an S3 notification without bucket.name and object.key") from None
    return UploadedArtifact(
        bucket=bucket, key=key, version_id=obj.get("versionId"), etag=obj.get("eTag")
    )
