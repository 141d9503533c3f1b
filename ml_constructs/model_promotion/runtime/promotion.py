"""One promotion: validate the uploaded version or approved package, copy it to an immutable
release, then hand it to the target (``target.py``): a guarded blue/green UpdateEndpoint
(``endpoint_target.py``) or a CodeDeploy shift of a Lambda-hosted model's alias
(``lambda_target.py``). The target settles the deployment's end and writes the SSM parameter
the stack resolves at deploy time only once the new model serves.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import replace
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
from serving_core.metric_names import METRIC_FAILED, METRIC_REJECTED, METRIC_STARTED
from serving_core.tags import approval_description, ascii_text, package_tags, source_tags

from .config import PromotionConfig
from .endpoint_target import EndpointTarget
from .errors import EndpointBusyError, PromotionFailedError, error_code, is_not_found
from .messages import DeploymentSettled, EndpointSettled, PackageApproved, UploadedArtifact
from .reporting import Reporter, log, sns_subject
from .serving_record import ServingRecord
from .target import Outcome, Target

__all__ = [
    "EndpointBusyError",
    "Outcome",
    "Promoter",
    "PromotionFailedError",
    "log",
    "sns_subject",
]

#: What a promotion may be asked for: an uploaded object version or an approved package.
PromotionRequest = UploadedArtifact | PackageApproved


class Promoter:
    """Turns requests into S3, SSM and SNS calls and the target's; clients are injected."""

    def __init__(self, config: PromotionConfig, clients: dict[str, Any]) -> None:
        self.config = config
        self.s3 = clients["s3"]
        self.sagemaker = clients["sagemaker"]
        self.ssm = clients["ssm"]
        self.sns = clients.get("sns")
        self.reporter = Reporter(config, self.sns)
        self.record = ServingRecord(config, self.s3, self.ssm, self.reporter)
        self.target = self._target(clients)

    def _target(self, clients: dict[str, Any]) -> Target:
        if self.config.lambda_target is None:
            return EndpointTarget(self.config, self.sagemaker, self.s3, self.record, self.reporter)
        from .lambda_target import LambdaFunctionTarget  # only a Lambda target's function

        return LambdaFunctionTarget(
            self.config, clients["lambda"], clients["codedeploy"], self.record, self.reporter
        )

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
            if is_not_found(error) or "does not exist" in message or "not found" in message:
                raise PromotionFailedError(f"{package.label} no longer exists") from None
            if "AccessDenied" in error_code(error):
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
        config, target = self.config, self.target
        name = self.resource_name(request)
        if target.already_submitted(name):
            self.reconcile()
            return Outcome(
                "duplicate",
                f"{request.identity} was already promoted as {name}; nothing changed",
                {"name": name},
            )
        state = target.ready()
        report, release_uri = self._validated_release(artifact, request.identity)
        if skip_if_serving and release_uri == target.serving_artifact(state):
            return Outcome(
                "unchanged",
                f"{target.what} already serves {request.label}",
                {"artifact": release_uri},
            )
        submission = target.submit(name, tags, report, release_uri, state)
        details: dict[str, Any] = {
            "name": name,
            "artifact": release_uri,
            "source": request.identity,
            "report": report.as_dict(),
            **submission.details,
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
            {**details, **submission.notice},
        )
        return Outcome("submitted", submission.reason, details)

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

    def _head(self, upload: UploadedArtifact) -> tuple[UploadedArtifact, dict[str, Any]]:
        """HEAD the exact version. S3 event notifications URL-encode keys; AWS does not
        document whether EventBridge's do: a key that is not found is tried once decoded."""
        version = {"VersionId": upload.version_id} if upload.version_id else {}
        for key in dict.fromkeys((upload.key, unquote_plus(upload.key))):
            try:
                head = self.s3.head_object(Bucket=upload.bucket, Key=key, **version)
            except ClientError as error:
                if is_not_found(error):
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
            require_onnx=self.target.requires_onnx,
            framework=config.framework,
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

    # -- settling and reporting -------------------------------------------------------------

    def settle(self, event: EndpointSettled | DeploymentSettled) -> Outcome:
        """A deployment ended (the endpoint's state change, or CodeDeploy's): record it."""
        return self.target.settle(event)

    def reconcile(self) -> str | None:
        """Record what serves if a promotion's deployment finished; the new URI or None."""
        return self.target.reconcile()

    def clean_up(self) -> list[str]:
        """Delete old promotions beyond ``keep_previous``; returns what went."""
        return self.target.clean_up()

    def deployment_config(self, instances: int | None) -> dict[str, Any]:
        """The endpoint's blue/green DeploymentConfig for a fleet of ``instances``."""
        if not isinstance(self.target, EndpointTarget):
            raise TypeError("a Lambda target's traffic shifting is its deployment group's")
        return self.target.deployment_config(instances)

    def notify(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        self.reporter.notify(kind, subject, details)

    def emit_metric(self, name: str, value: int = 1) -> None:
        self.reporter.emit_metric(name, value)
