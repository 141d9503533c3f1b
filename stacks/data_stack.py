"""Key, bucket and SageMaker roles: deployed first, before any model artifact exists."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from constructs import Construct

from ml_constructs.artifact_storage import ArtifactStorage, ArtifactStorageProps
from ml_constructs.encryption_key import EncryptionKey, EncryptionKeyProps
from ml_constructs.framework_image import FrameworkImage
from ml_constructs.model_registry import ModelRegistry, ModelRegistryProps
from ml_constructs.operator_access import OperatorAccess, OperatorAccessProps
from ml_constructs.private_network.construct import PrivateNetwork
from ml_constructs.sagemaker_roles import SageMakerRoles, SageMakerRolesProps
from serving_config import Settings
from stacks.construct_props import network_props
from stacks.outputs import add_outputs


def removal_policy(settings: Settings) -> RemovalPolicy:
    """Configuration value -> CDK removal policy."""
    return RemovalPolicy.DESTROY if settings.removal_policy == "destroy" else RemovalPolicy.RETAIN


class ModelDataStack(Stack):
    """Everything a model needs before it can serve: encryption, storage, roles."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        self._zone_count = settings.network.availability_zones
        super().__init__(scope, construct_id, **kwargs)
        self._encrypt_and_store(settings)
        self._private_network(settings)
        self._images(settings)
        self._access(settings)
        self.outputs = self._outputs(settings)

    def _encrypt_and_store(self, settings: Settings) -> None:
        """The project key, and the bucket it encrypts."""
        policy = removal_policy(settings)
        self.encryption = EncryptionKey(
            self,
            "Encryption",
            props=EncryptionKeyProps(
                prefix=settings.prefix,
                removal_policy=policy,
                operator_arns=settings.operators,
                # Model Monitor's failed executions reach the alarm topic through EventBridge.
                eventbridge_to_encrypted_topics=(
                    settings.model_monitor.enabled and settings.model_monitor.engine == "sagemaker"
                ),
            ),
        )
        self.storage = ArtifactStorage(
            self,
            "Storage",
            props=ArtifactStorageProps(
                encryption_key=self.encryption.key,
                removal_policy=policy,
                auto_delete_objects=settings.auto_delete_objects,
                async_retention_days=(
                    settings.async_inference.retention_days
                    if settings.variant.supports("async_invocation")
                    else None
                ),
            ),
        )

    def _private_network(self, settings: Settings) -> None:
        """network.mode create/import: the VPC, its endpoints and groups."""
        policy = removal_policy(settings)
        self.network: PrivateNetwork | None = None
        if settings.network.private:
            self.network = PrivateNetwork(
                self,
                "Network",
                props=network_props(
                    settings,
                    encryption_key=self.encryption.key,
                    bucket_arn=self.storage.bucket_arn,
                    removal_policy=policy,
                ),
            )

    def _images(self, settings: Settings) -> None:
        """The framework images (``model.framework``) that serve (CPU or GPU, by the variant)
        and train, and the serving container's environment."""
        self.serving_image_spec = settings.model.image_spec(
            "inference", processor=settings.variant.processor
        )
        self.serving_image = FrameworkImage(self, "ServingImage", spec=self.serving_image_spec)
        self.training_image_spec = settings.model.image_spec("training")
        self.training_image = FrameworkImage(self, "TrainingImage", spec=self.training_image_spec)

    def _access(self, settings: Settings) -> None:
        """SageMaker's roles, the model registry, and the operators' and deployer's access."""
        self.roles = SageMakerRoles(
            self,
            "SageMakerRoles",
            props=SageMakerRolesProps(
                prefix=settings.prefix,
                storage=self.storage,
                encryption_key=self.encryption.key,
                serving_image_repository_arn=self.serving_image.repository_arn,
                training_image_repository_arn=self.training_image.repository_arn,
                vpc_id=self.network.vpc.vpc_id if self.network else None,
            ),
        )
        self.registry = ModelRegistry(
            self,
            "Registry",
            props=ModelRegistryProps(
                prefix=settings.prefix,
                group_name=settings.model_package_group,
                storage=self.storage,
                encryption_key=self.encryption.key,
                consumer_accounts=settings.registry.consumer_accounts,
            ),
        )
        self.operators = OperatorAccess(
            self,
            "Operators",
            props=OperatorAccessProps(
                prefix=settings.prefix,
                storage=self.storage,
                encryption_key=self.encryption.key,
                artifact_parameter=settings.artifact_parameter,
                operator_arns=settings.operators,
                package_group_name=self.registry.group_name,
                trusted_role_arns=settings.deployer_trusted_roles,
            ),
        )

    def _outputs(self, settings: Settings) -> dict[str, CfnOutput]:
        """What operators, the launcher and a pipeline step read back from the stack."""
        return add_outputs(
            self,
            {
                "BucketName": (self.storage.bucket_name, "Upload datasets/ and models/ here"),
                "KeyArn": (self.encryption.key_arn, "KMS key for uploads (SSE-KMS)"),
                "ExecutionRoleArn": (self.roles.execution_role_arn, "SageMaker endpoint role"),
                "TrainingRoleArn": (self.roles.training_role_arn, "SageMaker training role"),
                "DeployerRoleArn": (
                    self.operators.role_arn,
                    "Assume it to upload datasets/models, publish the first model, register models",
                ),
                "ServingImageUri": (
                    self.serving_image.image_uri,
                    f"{settings.model.facts.serving_container} image",
                ),
                "TrainingImageUri": (
                    self.training_image.image_uri,
                    f"{settings.model.facts.title} training image",
                ),
                "ModelPackageGroup": (
                    self.registry.group_name,
                    "Register models here (python -m deploy_tools.register_model); approving "
                    "a version promotes it where registry.trigger allows",
                ),
                "ModelArtifactParameter": (
                    settings.artifact_parameter,
                    "SSM parameter naming the model that serves (written by publish and promotion)",
                ),
                **self._network_outputs(),
            },
        )

    @property
    def availability_zones(self) -> list[str]:
        """The region's first zones by ``Fn::GetAZs`` whether or not the environment names an
        account: a pinned stack would otherwise look them up with credentials at synth."""
        count = max(2, self._zone_count)
        return [Fn.select(i, Fn.get_azs()) for i in range(count)]

    def _network_outputs(self) -> dict[str, tuple[str, str]]:
        """Where the training launcher places its jobs (--subnet, --security-group-id)."""
        if self.network is None:
            return {}
        return {
            "PrivateSubnetIds": (
                Fn.join(",", self.network.subnet_ids),
                "Private subnets for SageMaker jobs (launch_training --subnet)",
            ),
            "SageMakerSecurityGroupIds": (
                Fn.join(",", self.network.sagemaker_security_group_ids),
                "Security groups for SageMaker jobs (launch_training --security-group-id)",
            ),
        }
