"""SageMaker Model, EndpointConfig and Endpoint for a TensorFlow Serving model.

L1 resources: the only L2 for SageMaker hosting is the alpha module
(``@aws-cdk/aws-sagemaker-alpha``), which has no data capture and no stable API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ml_constructs.checkov import skip
from ml_constructs.model_promotion.runtime.deployment_policy import DeploymentPolicy
from ml_constructs.naming import endpoint_name, validate_prefix

VariantKind = Literal["instance", "serverless", "async"]


@dataclass(frozen=True)
class AsyncInferenceProps:
    """SageMaker's ``AsyncInferenceConfig``: where results and failures go (S3 URIs), the key
    that encrypts them, the SNS topics notified, and the requests one instance works on."""

    output_s3_uri: str
    failure_s3_uri: str
    kms_key_arn: str
    success_topic_arn: str
    error_topic_arn: str
    max_concurrent_invocations_per_instance: int | None = None

    def __post_init__(self) -> None:
        limit = self.max_concurrent_invocations_per_instance
        if limit is not None and not 1 <= limit <= 1000:
            raise ValueError(f"max_concurrent_invocations_per_instance {limit} is outside 1-1000")

    def api_shape(self) -> dict[str, Any]:
        """``AsyncInferenceConfig`` in the SageMaker API's shape (CloudFormation's is the same)."""
        config: dict[str, Any] = {
            "OutputConfig": {
                "S3OutputPath": self.output_s3_uri,
                "S3FailurePath": self.failure_s3_uri,
                "KmsKeyId": self.kms_key_arn,
                "NotificationConfig": {
                    "SuccessTopic": self.success_topic_arn,
                    "ErrorTopic": self.error_topic_arn,
                },
            }
        }
        if self.max_concurrent_invocations_per_instance is not None:
            config["ClientConfig"] = {
                "MaxConcurrentInvocationsPerInstance": self.max_concurrent_invocations_per_instance
            }
        return config


@dataclass(frozen=True)
class VariantProps:
    """The production variant: instance fleet, serverless, or an instance fleet behind
    SageMaker's asynchronous queue (``async``)."""

    name: str = "AllTraffic"
    kind: VariantKind = "instance"
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    serverless_provisioned_concurrency: int | None = None
    encrypt_volume_with_key: bool = True

    def __post_init__(self) -> None:
        if self.kind != "serverless" and self.initial_instance_count < 1:
            raise ValueError("initial_instance_count must be at least 1")
        provisioned = self.serverless_provisioned_concurrency
        if provisioned is not None and not 1 <= provisioned <= self.serverless_max_concurrency:
            raise ValueError(
                f"serverless_provisioned_concurrency {provisioned} must be 1-"
                f"serverless_max_concurrency ({self.serverless_max_concurrency})"
            )

    @property
    def network_isolation(self) -> bool:
        """Serverless Inference does not support network isolation (SageMaker rejects the
        model on a serverless endpoint), instance variants (async too) always run isolated."""
        return self.kind != "serverless"


@dataclass(frozen=True)
class ModelEndpointProps:
    """Everything the endpoint needs; ``model_data_url`` may be a deploy-time token."""

    prefix: str
    image_uri: str
    model_data_url: str
    execution_role: iam.IRole
    encryption_key: kms.IKey
    variant: VariantProps
    data_capture_s3_uri: str
    data_capture_percent: int = 100
    #: SageMaker's ``VpcConfig`` (``Subnets``, ``SecurityGroupIds``): the model's instances in
    #: the private subnets (None: no private networking).
    vpc_config: dict[str, list[str]] | None = None
    #: Required for (and only for) an ``async`` variant.
    async_inference: AsyncInferenceProps | None = None

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if (self.variant.kind == "async") != (self.async_inference is not None):
            raise ValueError(
                "async_inference: an async variant needs it, and only an async variant may "
                "have it (SageMaker: asynchronous inference runs on instance variants)"
            )
        if self.variant.kind == "async" and self.data_capture_percent > 0:
            raise ValueError("data_capture_percent: asynchronous traffic is not captured here")
        if self.vpc_config is not None and self.variant.kind == "serverless":
            raise ValueError("vpc_config: serverless variants do not support VPC configuration")
        if not 0 <= self.data_capture_percent <= 100:
            raise ValueError(f"data_capture_percent {self.data_capture_percent} is outside 0-100")
        if self.variant.kind == "serverless" and self.data_capture_percent > 0:
            raise ValueError("SageMaker does not support data capture on serverless variants")


def production_variant(props: ModelEndpointProps, model_name: str) -> dict[str, Any]:
    """The ProductionVariant in the SageMaker API's shape, for the promotion function, which
    creates new endpoint configs with the same settings as the stack's."""
    variant = props.variant
    spec: dict[str, Any] = {"VariantName": variant.name, "ModelName": model_name}
    if variant.kind == "serverless":  # (async variants are instance variants)
        spec["ServerlessConfig"] = {
            "MemorySizeInMB": variant.serverless_memory_mb,
            "MaxConcurrency": variant.serverless_max_concurrency,
        }
        if variant.serverless_provisioned_concurrency is not None:
            spec["ServerlessConfig"]["ProvisionedConcurrency"] = (
                variant.serverless_provisioned_concurrency
            )
    else:
        spec.update(
            InstanceType=variant.instance_type,
            InitialInstanceCount=variant.initial_instance_count,
            InitialVariantWeight=1.0,
        )
    return spec


def _variant_property(
    variant: VariantProps, model_name: str
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    if variant.kind == "serverless":
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.name,
            model_name=model_name,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=variant.serverless_memory_mb,
                max_concurrency=variant.serverless_max_concurrency,
                provisioned_concurrency=variant.serverless_provisioned_concurrency,
            ),
        )
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant.name,
        model_name=model_name,
        instance_type=variant.instance_type,
        initial_instance_count=variant.initial_instance_count,
        initial_variant_weight=1.0,
    )


class ModelEndpoint(Construct):
    """Model + EndpointConfig (KMS volume, data capture) + Endpoint named after its fleet.

    Call :meth:`use_deployment_policy` once the rollback alarms exist: every later update of
    the endpoint by CloudFormation then shifts traffic blue/green like a promotion and keeps
    the fleet that autoscaling set.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ModelEndpointProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        variant = props.variant
        self.endpoint_name = endpoint_name(
            props.prefix,
            kind=variant.kind,
            instance_type=variant.instance_type,
            variant_name=variant.name,
        )
        self.variant_name = variant.name
        self.deployment_policy: DeploymentPolicy | None = None

        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=props.execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=props.image_uri,
                model_data_url=props.model_data_url,
                mode="SingleModel",
            ),
            enable_network_isolation=props.variant.network_isolation,
            vpc_config=(
                sagemaker.CfnModel.VpcConfigProperty(
                    security_group_ids=props.vpc_config["SecurityGroupIds"],
                    subnets=props.vpc_config["Subnets"],
                )
                if props.vpc_config
                else None
            ),
        )
        if not props.variant.network_isolation:
            skip(
                self.model,
                "CKV_AWS_370",
                "Serverless Inference does not support network isolation (SageMaker's feature "
                "exclusions); the model runs isolated on instance variants.",
            )
        # SageMaker validates the role when it creates the model: its policy must exist first.
        default_policy = props.execution_role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            self.model.node.add_dependency(default_policy)

        capture = None
        if props.data_capture_percent > 0:
            capture = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=props.data_capture_percent,
                destination_s3_uri=props.data_capture_s3_uri,
                kms_key_id=props.encryption_key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    json_content_types=["application/json"],
                    csv_content_types=["text/csv"],
                ),
            )
        # The endpoint config's key encrypts the ML storage volume of instance variants, and
        # SageMaker's copy of the container image for serverless ones. NVMe instance storage
        # is encrypted in hardware: the CloudFormation reference says a KmsKeyId fails there
        # (the current API reference says it is ignored), so none is set for those types.
        volume_key = (
            props.encryption_key.key_arn
            if props.variant.kind == "serverless" or props.variant.encrypt_volume_with_key
            else None
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[_variant_property(props.variant, self.model.attr_model_name)],
            kms_key_id=volume_key,
            data_capture_config=capture,
            async_inference_config=self._async_property(),
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint_arn = self.endpoint.ref
        self.volume_encrypted_with_key = volume_key is not None

    def _async_property(self) -> sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | None:
        config = self.props.async_inference
        if config is None:
            return None
        limit = config.max_concurrent_invocations_per_instance
        return sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=config.output_s3_uri,
                s3_failure_path=config.failure_s3_uri,
                kms_key_id=config.kms_key_arn,
                notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                    success_topic=config.success_topic_arn,
                    error_topic=config.error_topic_arn,
                ),
            ),
            client_config=(
                sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                    max_concurrent_invocations_per_instance=limit
                )
                if limit is not None
                else None
            ),
        )

    def use_deployment_policy(
        self, policy: DeploymentPolicy, *, fleet_min: int, fleet_max: int, autoscaled: bool
    ) -> None:
        """Blue/green updates by CloudFormation, with the promotions' policy and alarms.

        ``fleet_min..fleet_max`` is the instance count the endpoint can have when it is
        updated (the autoscaling range): the traffic steps are whole instances valid for all of
        them. An instance variant keeps its current instance count and weight on update
        (RetainAllVariantProperties), so a redeploy keeps what autoscaling set; without
        autoscaling the configured instance count takes effect (excluded from retention).
        Data capture is not a retained property (SageMaker: DataCaptureConfig retention is
        "not currently supported"), so it always follows the configuration. A serverless
        variant shifts all at once (SageMaker's fallback), baked and guarded by the alarms. An
        async variant shifts all at once too: its fleet may be at zero instances, where no
        whole-instance step exists (``fleet_min`` 0 is allowed for it only).
        """
        self.deployment_policy = policy
        endpoint = self.endpoint
        kind = self.props.variant.kind
        serverless = kind == "serverless"
        if fleet_min < 1 and kind != "async":
            raise ValueError(f"fleet_min {fleet_min}: only an async variant may scale to zero")
        endpoint.add_property_override(
            "DeploymentConfig",
            policy.deployment_config(
                max(1, fleet_min), max(1, fleet_max), all_at_once=serverless or kind == "async"
            ),
        )
        if serverless:
            return
        endpoint.retain_all_variant_properties = True
        if not autoscaled:
            endpoint.exclude_retained_variant_properties = [
                sagemaker.CfnEndpoint.VariantPropertyProperty(
                    variant_property_type="DesiredInstanceCount"
                )
            ]
