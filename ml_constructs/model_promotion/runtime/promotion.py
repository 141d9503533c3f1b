"""One promotion: validate the uploaded version, then a guarded blue/green UpdateEndpoint.

Idempotency: the SageMaker Model and EndpointConfig are named after the object
version, and the config is tagged once SageMaker accepted the update; a redelivery
of that version finds the tag and changes nothing. The SSM parameter that the stack
resolves at deploy time is written only once the endpoint is InService on the new
config, so an automatic rollback never leaves the parameter naming a rejected model
(a later ``cdk deploy`` would otherwise ship it without any guardrail).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from serving_core import baseline
from serving_core.artifact import (
    ArtifactRejectedError,
    ArtifactReport,
    ArtifactRules,
    validate_artifact,
)
from serving_core.metric_names import (
    METRIC_CLEANED,
    METRIC_COMPLETED,
    METRIC_FAILED,
    METRIC_REJECTED,
    METRIC_STARTED,
    PROMOTION_METRICS,
)
from serving_core.tags import approval_description, ascii_text, package_tags, source_tags

from .config import PromotionConfig
from .messages import EndpointSettled, PackageApproved, UploadedArtifact
from .retention import Retention

#: What a promotion may be asked for: an uploaded object version or an approved package.
PromotionRequest = UploadedArtifact | PackageApproved
BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
SUBMITTED_TAG = "promotion:submitted-at"
SHA_TAG = "promotion:sha256"

#: SNS subjects: ASCII, no line breaks or control characters, under 100 characters.
_SUBJECT_LIMIT = 99


class EndpointBusyError(Exception):
    """The endpoint is being created or updated: try this message again later."""


class PromotionFailedError(Exception):
    """Something outside the artifact prevents the promotion (reported, not retried)."""


@dataclass
class Outcome:
    """What happened to one request; ``status`` is stable for tests and dashboards."""

    status: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **self.details}


class Promoter:
    """Turns requests into SageMaker, S3, SSM and SNS calls; clients are injected."""

    def __init__(self, config: PromotionConfig, clients: dict[str, Any]) -> None:
        self.config = config
        self.s3 = clients["s3"]
        self.sagemaker = clients["sagemaker"]
        self.ssm = clients["ssm"]
        self.sns = clients.get("sns")

    # -- uploads and approved packages ----------------------------------------------------

    def promote(self, upload: UploadedArtifact) -> Outcome:
        """Promote one uploaded version, or say why not. Raises EndpointBusyError to retry."""
        config = self.config
        if not upload.key.startswith(config.models_prefix):
            return Outcome("ignored", f"{upload.key} is outside {config.models_prefix}")
        for prefix, what in (
            (config.releases_prefix, "a release copy made by a promotion"),
            (config.registry_prefix, "a registered package's artifact (promoted on approval)"),
        ):
            if upload.key.startswith(prefix):
                return Outcome("ignored", f"{upload.key} is {what}")
        if upload.key.rsplit("/", 1)[-1] != config.artifact_file_name:
            return Outcome("ignored", f"{upload.key} is not a {config.artifact_file_name}")
        return self._promote(upload, upload, source_tags(upload))

    def promote_package(self, package: PackageApproved) -> Outcome:
        """Promote an approved model package of the configured group, or say why not."""
        config = self.config
        if config.package_group is None:
            return Outcome("ignored", "promotion from the model registry is not configured")
        expected_account = config.package_group_account
        if package.group != config.package_group or (
            expected_account is not None and package.account != expected_account
        ):
            return Outcome("ignored", f"{package.label} is not in group {config.package_group}")
        if package.status != "Approved":
            return Outcome("ignored", f"{package.label} is {package.status}, not Approved")
        try:
            described = self.sagemaker.describe_model_package(ModelPackageName=package.arn)
        except ClientError as error:
            message = str(error).lower()
            if _is_not_found(error) or "does not exist" in message or "not found" in message:
                raise PromotionFailedError(f"{package.label} no longer exists") from None
            if "AccessDenied" in _code(error):
                raise PromotionFailedError(
                    f"{package.label} cannot be read: the group's resource policy must let "
                    "this account describe its packages (registry.consumer_accounts of the "
                    "source environment)"
                ) from None
            raise
        if described.get("ModelApprovalStatus") != "Approved":
            return Outcome("ignored", f"{package.label} is no longer Approved")
        containers = described.get("InferenceSpecification", {}).get("Containers", [])
        url = str(containers[0].get("ModelDataUrl", "")) if containers else ""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not key:
            raise ArtifactRejectedError(
                "missing-model-data", f"{package.label} names no S3 ModelDataUrl"
            )
        artifact = UploadedArtifact(bucket=bucket, key=key, version_id=None, etag=None)
        return self._promote(package, artifact, package_tags(package), skip_if_serving=True)

    def _promote(
        self,
        request: PromotionRequest,
        artifact: UploadedArtifact,
        tags: list[dict[str, str]],
        skip_if_serving: bool = False,
    ) -> Outcome:
        config = self.config
        name = self.resource_name(request)
        if self._already_submitted(name):
            self.reconcile()
            return Outcome(
                "duplicate",
                f"{request.identity} was already promoted as {name}; nothing changed",
                {"name": name},
            )
        endpoint = self._require_ready_endpoint()
        report, release_uri = self._validated_release(artifact, request.identity)
        if skip_if_serving and release_uri == self._serving_artifact(endpoint):
            return Outcome(
                "unchanged",
                f"the endpoint already serves {request.label}",
                {"artifact": release_uri},
            )
        instances = self._current_instance_count(endpoint)
        self._create_model_and_config(name, tags, report, release_uri, instances)
        deployment = self.deployment_config(instances)
        self._update_endpoint(name, deployment)
        details: dict[str, Any] = {
            "name": name,
            "artifact": release_uri,
            "source": request.identity,
            "report": report.as_dict(),
        }
        if not config.require_metrics and report.roc_auc is None:
            details["quality_floor"] = "not checked: promotion.require_metrics is false"
        self.emit_metric(METRIC_STARTED)
        log("promotion_started", **details)
        recorded = self.reconcile()
        if recorded:
            details["recorded"] = recorded
        self.notify(
            "started",
            f"Promotion of {request.label} started",
            {**details, "deployment": deployment},
        )
        return Outcome("submitted", "UpdateEndpoint accepted", details)

    def resource_name(self, request: PromotionRequest) -> str:
        """``<prefix>-p-<16 hex of the request's identity>`` (object version or package
        version): unique per version, <= 63 chars."""
        digest = hashlib.sha256(request.identity.encode()).hexdigest()[:16]
        return f"{self.config.resource_prefix}{digest}"

    def reject(self, request: PromotionRequest, error: ArtifactRejectedError) -> Outcome:
        """Report a rejected artifact; the endpoint was not touched. A package of this
        environment's own group is also marked Rejected in the registry, with the reason."""
        details: dict[str, Any] = {"source": request.identity, "code": error.code}
        if isinstance(request, PackageApproved) and self.config.mark_rejected_packages:
            self.sagemaker.update_model_package(
                ModelPackageArn=request.arn,
                ModelApprovalStatus="Rejected",
                ApprovalDescription=approval_description(
                    f"Rejected by the promotion of {self.config.endpoint_name}: "
                    f"{error.code}: {error.reason}"
                ),
            )
            details["registry"] = "marked Rejected"
        self.emit_metric(METRIC_REJECTED)
        log("promotion_rejected", level="WARNING", reason=error.reason, **details)
        self.notify(
            "rejected",
            f"Model {request.label} rejected: {error.code}",
            {**details, "reason": error.reason},
        )
        return Outcome("rejected", error.reason, details)

    def fail(self, request: PromotionRequest, reason: str) -> Outcome:
        """Report a promotion that could not run for a reason outside the artifact."""
        self.emit_metric(METRIC_FAILED)
        log("promotion_failed", level="ERROR", reason=reason, source=request.identity)
        self.notify(
            "failed",
            f"Promotion of {request.label} failed",
            {"source": request.identity, "reason": reason},
        )
        return Outcome("failed", reason, {"source": request.identity})

    def _already_submitted(self, name: str) -> bool:
        try:
            arn = self.sagemaker.describe_endpoint_config(EndpointConfigName=name)[
                "EndpointConfigArn"
            ]
        except ClientError as error:
            if _is_not_found(error):
                return False
            raise
        tags = self.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
        return any(tag.get("Key") == SUBMITTED_TAG for tag in tags)

    def _require_ready_endpoint(self) -> dict[str, Any]:
        try:
            endpoint: dict[str, Any] = self.sagemaker.describe_endpoint(
                EndpointName=self.config.endpoint_name
            )
        except ClientError as error:
            if _is_not_found(error):
                raise PromotionFailedError(
                    f"endpoint {self.config.endpoint_name} does not exist; deploy the serving "
                    "stack before uploading models"
                ) from None
            raise
        status = endpoint.get("EndpointStatus", "")
        if status in BUSY_STATUSES:
            raise EndpointBusyError(f"endpoint {self.config.endpoint_name} is {status}")
        if status != "InService":
            raise PromotionFailedError(
                f"endpoint {self.config.endpoint_name} is {status}: "
                f"{endpoint.get('FailureReason', 'no reason given')}"
            )
        return endpoint

    def _current_instance_count(self, endpoint: dict[str, Any]) -> int | None:
        """Autoscaling may have grown the fleet: the green fleet starts at least that big."""
        name = self.config.production_variant.get("VariantName")
        for variant in endpoint.get("ProductionVariants", []):
            if variant.get("VariantName") == name:
                count = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount"))
                return int(count) if isinstance(count, int) else None
        return None

    def _head(self, upload: UploadedArtifact) -> tuple[UploadedArtifact, dict[str, Any]]:
        """HEAD the exact version. S3 event notifications URL-encode keys; AWS does not
        document whether EventBridge's do: a key that is not found is tried once decoded."""
        version = {"VersionId": upload.version_id} if upload.version_id else {}
        for key in dict.fromkeys((upload.key, unquote_plus(upload.key))):
            try:
                head = self.s3.head_object(Bucket=upload.bucket, Key=key, **version)
            except ClientError as error:
                if _is_not_found(error):
                    continue
                raise
            return replace(upload, key=key), head
        raise ArtifactRejectedError("missing-object", f"{upload.identity} no longer exists")

    def _validated_release(
        self, upload: UploadedArtifact, identity: str
    ) -> tuple[ArtifactReport, str]:
        """Download the exact version, validate it, copy it to an immutable release key of this
        environment's bucket (from another account's bucket: the validated bytes are uploaded,
        so serving never reads the other account's bucket)."""
        config = self.config
        upload, head = self._head(upload)
        version = {"VersionId": upload.version_id} if upload.version_id else {}
        size = int(head.get("ContentLength", 0))
        if size > config.max_artifact_bytes:  # reject before downloading it
            raise ArtifactRejectedError(
                "too-large", f"{size} bytes is above the limit of {config.max_artifact_bytes} bytes"
            )
        rules = ArtifactRules(
            max_bytes=config.max_artifact_bytes,
            min_auc=config.min_auc,
            feature_count=config.feature_count,
            require_metrics=config.require_metrics,
            api_max_rows=config.api_max_rows,
            api_feature_names=config.api_feature_names,
        )
        own_bucket = config.artifact_bucket or upload.bucket
        metadata = {"sha256": "", "source": ascii_text(identity, 1000)}
        with tempfile.TemporaryDirectory() as directory:
            local = str(Path(directory) / "model.tar.gz")
            self.s3.download_file(upload.bucket, upload.key, local, ExtraArgs=version or None)
            report = validate_artifact(local, rules)
            metadata["sha256"] = report.sha256
            release_key = (
                f"{config.releases_prefix}{report.sha256[:16]}/{config.artifact_file_name}"
            )
            if upload.bucket != own_bucket:
                self.s3.upload_file(
                    local, own_bucket, release_key, ExtraArgs={"Metadata": metadata}
                )
        if upload.bucket == own_bucket:
            self.s3.copy_object(
                Bucket=own_bucket,
                Key=release_key,
                CopySource={"Bucket": upload.bucket, "Key": upload.key, **version},
                MetadataDirective="REPLACE",
                Metadata=metadata,
            )
        release_dir = release_key.rsplit("/", 1)[0] + "/"
        baseline.store_beside_release(self.s3, own_bucket, release_dir, report.baseline)
        return report, f"s3://{own_bucket}/{release_key}"

    def _create_model_and_config(
        self,
        name: str,
        source: list[dict[str, str]],
        report: ArtifactReport,
        artifact_uri: str,
        instances: int | None = None,
    ) -> None:
        config = self.config
        tags = [*source, {"Key": SHA_TAG, "Value": report.sha256}]
        try:
            self.sagemaker.create_model(
                ModelName=name,
                ExecutionRoleArn=config.execution_role_arn,
                PrimaryContainer={
                    "Image": config.image_uri,
                    "ModelDataUrl": artifact_uri,
                    "Mode": "SingleModel",
                },
                EnableNetworkIsolation=config.network_isolation,
                Tags=tags,
                **({"VpcConfig": config.vpc_config} if config.vpc_config else {}),
            )
        except ClientError as error:
            if not _is_already_exists(error):
                raise
        variant = {**config.production_variant, "ModelName": name}
        if instances is not None and "InitialInstanceCount" in variant:
            variant["InitialInstanceCount"] = max(int(variant["InitialInstanceCount"]), instances)
        request: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": [variant],
            "Tags": tags,
        }
        if config.volume_kms_key_arn:
            request["KmsKeyId"] = config.volume_kms_key_arn
        if config.data_capture_config:
            request["DataCaptureConfig"] = config.data_capture_config
        if config.async_inference_config:
            request["AsyncInferenceConfig"] = config.async_inference_config
        try:
            self.sagemaker.create_endpoint_config(**request)
        except ClientError as error:
            if not _is_already_exists(error):
                raise

    def deployment_config(self, instances: int | None) -> dict[str, Any]:
        """The stack's blue/green policy for the fleet being replaced (its steps are whole
        instances of it): the same policy CloudFormation's DeploymentConfig uses. Serverless
        and asynchronous variants (whose fleet may be at zero) move all at once, as the stack's
        DeploymentConfig says."""
        variant = self.config.production_variant
        fleet = instances or int(variant.get("InitialInstanceCount", 1))
        at_once = self.config.variant.shifts_all_at_once
        return self.config.deployment_policy.deployment_config(fleet, all_at_once=at_once)

    def _update_endpoint(self, name: str, deployment: dict[str, Any]) -> None:
        try:
            self.sagemaker.update_endpoint(
                EndpointName=self.config.endpoint_name,
                EndpointConfigName=name,
                DeploymentConfig=deployment,
            )
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", "")).lower()
            if "in-progress" in message or "in progress" in message or "updating" in message:
                raise EndpointBusyError(f"UpdateEndpoint refused: {message}") from None
            raise
        arn = self.sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
        self.sagemaker.add_tags(
            ResourceArn=arn,
            Tags=[
                {"Key": SUBMITTED_TAG, "Value": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            ],
        )

    # -- reconciliation --------------------------------------------------------------------

    def settle(self, event: EndpointSettled) -> Outcome:
        """A state change of our endpoint: record what it serves once it is InService."""
        if event.endpoint_name != self.config.endpoint_name:
            return Outcome("ignored", f"event for another endpoint {event.endpoint_name}")
        recorded = self.reconcile()
        deleted = self.clean_up()
        details: dict[str, Any] = {"deleted": deleted} if deleted else {}
        if recorded:
            details["artifact"] = recorded
            return Outcome("recorded", f"the endpoint serves {recorded}", details)
        return Outcome("unchanged", "the recorded artifact already names what serves", details)

    def clean_up(self) -> list[str]:
        """Delete promotions older than the serving one and the ``keep_previous`` before it,
        once the endpoint is InService (never while a deployment runs). Returns what went."""
        deleted = Retention(
            self.config, self.sagemaker, self.s3, self._recorded_artifact
        ).clean_up()
        if deleted:
            self.emit_metric(METRIC_CLEANED, len(deleted))
            log("promotions_deleted", deleted=deleted, kept=self.config.keep_previous)
        return deleted

    def reconcile(self) -> str | None:
        """If the endpoint is InService on a promotion's config, point the SSM parameter at
        that config's artifact. Returns the newly recorded URI, or None if nothing changed."""
        endpoint = self.sagemaker.describe_endpoint(EndpointName=self.config.endpoint_name)
        config_name = str(endpoint.get("EndpointConfigName", ""))
        if endpoint.get("EndpointStatus") != "InService":
            return None
        if not config_name.startswith(self.config.resource_prefix):
            return None  # the stack's own config: the parameter already names its artifact
        uri = self._serving_artifact(endpoint)
        current = self._recorded_artifact()
        if current == uri:
            return None
        monitored = self._activate_baseline(uri)
        self.ssm.put_parameter(
            Name=self.config.artifact_parameter,
            Value=uri,
            Type="String",
            Overwrite=True,
            Description="S3 URI of the model artifact the endpoint serves (set by promotion)",
        )
        self.emit_metric(METRIC_COMPLETED)
        details: dict[str, Any] = {
            "artifact": uri,
            "previous": current,
            "endpoint_config": config_name,
        }
        if monitored is not None:
            details["monitoring_baseline"] = monitored
        log("promotion_recorded", **details)
        self.notify(
            "completed", f"Endpoint {self.config.endpoint_name} now serves {config_name}", details
        )
        return uri

    def _activate_baseline(self, uri: str) -> str | None:
        """The served model's baseline becomes the monitors' (before the parameter is written:
        a failure here is retried with the whole record). None when nothing is monitored."""
        prefix = self.config.monitoring_baseline_prefix
        if prefix is None:
            return None
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        release_dir = key.rsplit("/", 1)[0] + "/"
        if baseline.activate(self.s3, bucket, release_dir, prefix):
            return f"s3://{bucket}/{prefix}"
        log("baseline_missing", level="WARNING", artifact=uri, kept=f"s3://{bucket}/{prefix}")
        return "unchanged: the model carries no baseline"

    def _serving_artifact(self, endpoint: dict[str, Any]) -> str:
        """The ModelDataUrl of the model that the endpoint's config serves."""
        config_name = str(endpoint.get("EndpointConfigName", ""))
        variants = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)[
            "ProductionVariants"
        ]
        model = self.sagemaker.describe_model(ModelName=variants[0]["ModelName"])
        return str(model["PrimaryContainer"]["ModelDataUrl"])

    def _recorded_artifact(self) -> str | None:
        try:
            value = self.ssm.get_parameter(Name=self.config.artifact_parameter)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        return str(value["Parameter"]["Value"])

    # -- reporting -------------------------------------------------------------------------

    def notify(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        """Publish to the alarm topic; a notification problem never fails the promotion."""
        if self.sns is None or not self.config.topic_arn:
            return
        body = {"event": f"promotion_{kind}", "endpoint": self.config.endpoint_name, **details}
        try:
            self.sns.publish(
                TopicArn=self.config.topic_arn,
                Subject=sns_subject(f"[{self.config.name_prefix}] {subject}"),
                Message=json.dumps(body, indent=2, default=str),
            )
        except ClientError as error:
            log("notification_failed", level="ERROR", error=str(error))

    def emit_metric(self, name: str, value: int = 1) -> None:
        """CloudWatch embedded metric format on stdout: no PutMetricData permission needed."""
        if name not in PROMOTION_METRICS:
            raise ValueError(f"{name!r} is not one of the declared metrics {PROMOTION_METRICS}")
        print(
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": int(time.time() * 1000),
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.config.metrics_namespace,
                                "Dimensions": [["EndpointName"]],
                                "Metrics": [{"Name": name, "Unit": "Count"}],
                            }
                        ],
                    },
                    "EndpointName": self.config.endpoint_name,
                    name: value,
                }
            ),
            flush=True,
        )


def sns_subject(text: str) -> str:
    """SNS refuses subjects with line breaks, control or non-ASCII characters, or 100+
    characters; an object key may hold any of them."""
    return ascii_text(text, _SUBJECT_LIMIT) or "promotion"


def log(event: str, level: str = "INFO", **fields: Any) -> None:
    """One JSON line per event, so Logs Insights can filter on ``event`` and ``code``."""
    print(json.dumps({"level": level, "event": event, **fields}, default=str), flush=True)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_not_found(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return _code(error) in {"404", "NoSuchKey", "NotFound", "ParameterNotFound"} or (
        _code(error) == "ValidationException" and "could not find" in message
    )


def _is_already_exists(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return _code(error) == "ValidationException" and "already exist" in message
