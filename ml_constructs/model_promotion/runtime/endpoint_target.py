"""A SageMaker endpoint as the target: a Model and an EndpointConfig named after the promotion,
then a guarded blue/green UpdateEndpoint; settled on the endpoint's state change.

Idempotency: the SageMaker Model and EndpointConfig are named after the object version, and the
config is tagged once SageMaker accepted the update; a redelivery of that version finds the tag
and changes nothing. The SSM parameter that the stack resolves at deploy time is written only
once the endpoint is InService on the new config, so an automatic rollback never leaves the
parameter naming a rejected model (a later ``cdk deploy`` would otherwise ship it without any
guardrail).
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from serving_core.artifact import ArtifactReport
from serving_core.frameworks import container_environment
from serving_core.metric_names import METRIC_CLEANED

from .config import PromotionConfig
from .errors import EndpointBusyError, PromotionFailedError, is_already_exists, is_not_found
from .messages import DeploymentSettled, EndpointSettled
from .reporting import Reporter, log
from .retention import Retention
from .serving_record import ServingRecord
from .target import Outcome, Submission

BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
SUBMITTED_TAG = "promotion:submitted-at"
SHA_TAG = "promotion:sha256"


class EndpointTarget:
    """The stack's SageMaker endpoint (the config's ``endpoint_name``)."""

    what = "the endpoint"
    requires_onnx = False

    def __init__(
        self,
        config: PromotionConfig,
        sagemaker: Any,
        s3: Any,
        record: ServingRecord,
        reporter: Reporter,
    ) -> None:
        self.config = config
        self.sagemaker = sagemaker
        self.s3 = s3
        self.record = record
        self.reporter = reporter

    def already_submitted(self, name: str) -> bool:
        try:
            arn = self.sagemaker.describe_endpoint_config(EndpointConfigName=name)[
                "EndpointConfigArn"
            ]
        except ClientError as error:
            if is_not_found(error):
                return False
            raise
        tags = self.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
        return any(tag.get("Key") == SUBMITTED_TAG for tag in tags)

    def ready(self) -> dict[str, Any]:
        try:
            endpoint: dict[str, Any] = self.sagemaker.describe_endpoint(
                EndpointName=self.config.endpoint_name
            )
        except ClientError as error:
            if is_not_found(error):
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

    def serving_artifact(self, state: dict[str, Any]) -> str:
        """The ModelDataUrl of the model that the endpoint's config serves."""
        config_name = str(state.get("EndpointConfigName", ""))
        variants = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)[
            "ProductionVariants"
        ]
        model = self.sagemaker.describe_model(ModelName=variants[0]["ModelName"])
        return str(model["PrimaryContainer"]["ModelDataUrl"])

    def submit(
        self,
        name: str,
        tags: list[dict[str, str]],
        report: ArtifactReport,
        artifact_uri: str,
        state: dict[str, Any],
    ) -> Submission:
        instances = self._current_instance_count(state)
        self._create_model_and_config(name, tags, report, artifact_uri, instances)
        deployment = self.deployment_config(instances)
        self._update_endpoint(name, deployment)
        return Submission("UpdateEndpoint accepted", notice={"deployment": deployment})

    def _current_instance_count(self, endpoint: dict[str, Any]) -> int | None:
        """Autoscaling may have grown the fleet: the green fleet starts at least that big."""
        name = self.config.production_variant.get("VariantName")
        for variant in endpoint.get("ProductionVariants", []):
            if variant.get("VariantName") == name:
                count = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount"))
                return int(count) if isinstance(count, int) else None
        return None

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
                PrimaryContainer=self.primary_container(artifact_uri),
                EnableNetworkIsolation=config.network_isolation,
                Tags=tags,
                **({"VpcConfig": config.vpc_config} if config.vpc_config else {}),
            )
        except ClientError as error:
            if not is_already_exists(error):
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
            if not is_already_exists(error):
                raise

    def primary_container(self, artifact_uri: str) -> dict[str, Any]:
        """The stack's image with ``artifact_uri``, and the framework's container environment
        (the stack's model's: a script-mode container finds its handler by it; TensorFlow
        Serving's has none, and its request stays as it was)."""
        container: dict[str, Any] = {
            "Image": self.config.image_uri,
            "ModelDataUrl": artifact_uri,
            "Mode": "SingleModel",
        }
        region = self.sagemaker.meta.region_name
        environment = container_environment(self.config.framework, region)
        if environment:
            container["Environment"] = environment
        return container

    def deployment_config(self, instances: int | None) -> dict[str, Any]:
        """The stack's blue/green policy for the fleet being replaced (its steps are whole
        instances of it): the same policy CloudFormation's DeploymentConfig uses. Serverless
        and asynchronous variants (whose fleet may be at zero) move all at once, as the stack's
        DeploymentConfig says."""
        variant, policy = self.config.production_variant, self.config.deployment_policy
        if policy is None:  # from_env requires it for an endpoint
            raise PromotionFailedError("DEPLOYMENT_POLICY: an endpoint needs its blue/green policy")
        fleet = instances or int(variant.get("InitialInstanceCount", 1))
        at_once = self.config.variant.shifts_all_at_once
        return policy.deployment_config(fleet, all_at_once=at_once)

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

    # -- settling --------------------------------------------------------------------------

    def settle(self, event: EndpointSettled | DeploymentSettled) -> Outcome:
        """A state change of our endpoint: record what it serves once it is InService."""
        if not isinstance(event, EndpointSettled):
            return Outcome("ignored", "a CodeDeploy event, and this promotion serves an endpoint")
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
            self.config, self.sagemaker, self.s3, self.record.recorded_artifact
        ).clean_up()
        if deleted:
            self.reporter.emit_metric(METRIC_CLEANED, len(deleted))
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
        uri = self.serving_artifact(endpoint)
        current = self.record.recorded_artifact()
        if current == uri:
            return None
        self.record.record(
            uri,
            current,
            {"endpoint_config": config_name},
            f"Endpoint {self.config.endpoint_name} now serves {config_name}",
            "S3 URI of the model artifact the endpoint serves (set by promotion)",
        )
        return uri
