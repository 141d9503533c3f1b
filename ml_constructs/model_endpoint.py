"""SageMaker Model, EndpointConfig and Endpoint for a framework serving container (TensorFlow
Serving, or a script-mode PyTorch, XGBoost or scikit-learn container with its environment).

L1 resources: the only L2 for SageMaker hosting is the alpha module
(``@aws-cdk/aws-sagemaker-alpha``), which has no data capture and no stable API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ml_constructs.checkov import skip
from ml_constructs.naming import endpoint_name, validate_prefix
from serving_core.deployment_policy import DeploymentPolicy
from serving_core.variants import AsyncOutput, DataCapture, Variant


@dataclass(frozen=True)
class ModelEndpointProps:
    """Everything the endpoint needs; ``model_data_url`` may be a deploy-time token."""

    prefix: str
    image_uri: str
    model_data_url: str
    execution_role: iam.IRole
    encryption_key: kms.IKey
    variant: Variant
    data_capture_s3_uri: str
    data_capture_percent: int = 100
    #: SageMaker's ``VpcConfig`` (``Subnets``, ``SecurityGroupIds``): the model's instances in
    #: the private subnets (None: no private networking).
    vpc_config: dict[str, list[str]] | None = None
    #: Where an asynchronous variant writes (required for, and only for, one).
    async_output: AsyncOutput | None = None
    #: The serving container's ``Environment`` (``serving_core.frameworks.
    #: container_environment``; empty: none, as TensorFlow Serving needs).
    container_environment: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        variant = self.variant
        problems = []
        if variant.supports("async_invocation") != (self.async_output is not None):
            problems.append(
                "async_output: an async variant needs it, and only an async variant may have it "
                f"({variant.why_not('async_invocation') or 'the queue writes there'})"
            )
        if not 0 <= self.data_capture_percent <= 100:
            problems.append(f"data_capture_percent: {self.data_capture_percent} is outside 0-100")
        elif self.data_capture_percent > 0 and not variant.supports("data_capture"):
            problems.append(f"data_capture_percent: {variant.why_not('data_capture')}")
        if self.vpc_config is not None and not variant.supports("vpc"):
            problems.append(f"vpc_config: {variant.why_not('vpc')}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def data_capture(self) -> DataCapture:
        return DataCapture(
            percent=self.data_capture_percent,
            destination_uri=self.data_capture_s3_uri,
            key_arn=self.encryption_key.key_arn,
        )


def production_variant(props: ModelEndpointProps, model_name: str) -> dict[str, Any]:
    """The ProductionVariant in the SageMaker API's shape, for the promotion function, which
    creates new endpoint configs with the same settings as the stack's."""
    return props.variant.production_variant(model_name)


def _struct(shape: Any) -> Any:
    """An API shape as the L1's struct literal: CloudFormation names each property as the API
    does (``MemorySizeInMB``), the L1 in camel case (``memorySizeInMb``). The L1 then renders,
    orders and validates it as its own."""
    if isinstance(shape, dict):
        return {_camel(key): _struct(value) for key, value in shape.items()}
    if isinstance(shape, list):
        return [_struct(item) for item in shape]
    return shape


def _camel(name: str) -> str:
    first, *rest = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().split("_")
    return first + "".join(word.title() for word in rest)


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
        self.variant = variant
        self.endpoint_name = endpoint_name(props.prefix, variant)
        self.variant_name = variant.name
        self.deployment_policy: DeploymentPolicy | None = None
        self.model = self._model()
        # The endpoint config's key encrypts the ML storage volume of instance variants, and
        # SageMaker's copy of the container image for serverless ones. NVMe instance storage
        # is encrypted in hardware: the CloudFormation reference says a KmsKeyId fails there
        # (the current API reference says it is ignored), so none is set for those types.
        volume_key = props.encryption_key.key_arn if variant.volume_key_allowed else None
        self.endpoint_config = self._endpoint_config(volume_key)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint_arn = self.endpoint.ref
        self.volume_encrypted_with_key = volume_key is not None

    def _endpoint_config(self, volume_key: str | None) -> sagemaker.CfnEndpointConfig:
        """The variant renders its shapes (the SageMaker API's, which CloudFormation shares):
        the promotion function's CreateEndpointConfig and the template come from one
        renderer."""
        props, variant = self.props, self.props.variant
        config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[_struct(variant.production_variant(self.model.attr_model_name))],
            kms_key_id=volume_key,
            data_capture_config=_struct(props.data_capture.api_shape()),
            async_inference_config=_struct(variant.async_inference_config(props.async_output)),
        )
        return config

    def _model(self) -> sagemaker.CfnModel:
        props = self.props
        isolated = props.variant.supports("network_isolation")
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=props.execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=props.image_uri,
                model_data_url=props.model_data_url,
                mode="SingleModel",
                environment=dict(props.container_environment) or None,
            ),
            enable_network_isolation=isolated,
            vpc_config=(
                sagemaker.CfnModel.VpcConfigProperty(
                    security_group_ids=props.vpc_config["SecurityGroupIds"],
                    subnets=props.vpc_config["Subnets"],
                )
                if props.vpc_config
                else None
            ),
        )
        if not isolated:
            skip(model, "CKV_AWS_370", props.variant.why_not("network_isolation") + ".")
        # SageMaker validates the role when it creates the model: its policy must exist first.
        default_policy = props.execution_role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            model.node.add_dependency(default_policy)
        return model

    def use_deployment_policy(self, policy: DeploymentPolicy, *, autoscaled: bool) -> None:
        """Blue/green updates by CloudFormation, with the promotions' policy and alarms.

        The variant's fleet range is the instance count the endpoint can have when it is
        updated: the traffic steps are whole instances valid for all of them. A variant that
        keeps its instances (RetainAllVariantProperties) keeps what autoscaling set on a
        redeploy; without autoscaling the configured instance count takes effect (excluded
        from retention). Data capture is not a retained property (SageMaker: DataCaptureConfig
        retention is "not currently supported"), so it always follows the configuration. A
        variant without whole-instance steps (serverless; async, whose fleet may be at zero)
        shifts all at once, baked and guarded by the alarms.
        """
        self.deployment_policy = policy
        variant = self.props.variant
        low, high = variant.fleet_range
        self.endpoint.add_property_override(
            "DeploymentConfig",
            policy.deployment_config(
                max(1, low), max(1, high), all_at_once=variant.shifts_all_at_once
            ),
        )
        if not variant.keeps_instances_on_update:
            return
        self.endpoint.retain_all_variant_properties = True
        if not autoscaled:
            self.endpoint.exclude_retained_variant_properties = [
                sagemaker.CfnEndpoint.VariantPropertyProperty(
                    variant_property_type="DesiredInstanceCount"
                )
            ]
