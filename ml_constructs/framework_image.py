"""SageMaker framework image URIs derived from the SageMaker SDK's own image configuration.

The SDK (``sagemaker-core``) ships ``image_uri_config/<framework>.json`` with the
registry account of every region; ``serving_core.image_tables`` reads it (and builds the tag as
the SDK does), and we emit a CloudFormation mapping keyed by ``AWS::Region``, so an
environment-agnostic template resolves the right image in whatever region it is deployed to.
"""

from __future__ import annotations

from aws_cdk import CfnMapping, Stack, Token
from constructs import Construct

from serving_core.image_tables import ImageScope, ImageSpec, sdk_image_config

__all__ = [
    "FrameworkImage",
    "ImageScope",
    "ImageSpec",
    "ModelMonitorImage",
    "RegionalImage",
    "sdk_image_config",
]


class RegionalImage(Construct):
    """An AWS-owned image published in one registry account per region (as the SDK lists
    them): its URI and ECR repository ARN for the stack's region, through a mapping."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registries: dict[str, str],
        repository: str,
        tag: str | None,
        what: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = stack.region
        if not Token.is_unresolved(region) and region not in registries:
            raise ValueError(f"{what} images are not published in {region}")
        mapping = CfnMapping(
            self,
            "Registry",
            mapping={r: {"account": account} for r, account in sorted(registries.items())},
            lazy=True,
        )
        # Stack attributes, not Aws pseudo parameters: a pinned environment resolves at synth.
        self.registry_account = mapping.find_in_map(region, "account")
        self.repository_name = repository
        self.image_uri = (
            f"{self.registry_account}.dkr.ecr.{region}.{stack.url_suffix}/{repository}"
            + (f":{tag}" if tag else "")
        )
        self.repository_arn = (
            f"arn:{stack.partition}:ecr:{region}:{self.registry_account}:repository/{repository}"
        )


class FrameworkImage(RegionalImage):
    """Resolves an :class:`ImageSpec` to an image URI and its ECR repository ARN."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: ImageSpec) -> None:
        super().__init__(
            scope,
            construct_id,
            registries=spec.registries(),
            repository=spec.repository,
            tag=spec.tag,
            what=f"{spec.framework} {spec.version}",
        )


class ModelMonitorImage(RegionalImage):
    """SageMaker Model Monitor's analyzer (``sagemaker-model-monitor-analyzer``), from the SDK's
    ``model-monitor`` table; untagged, as ``image_uris.retrieve("model-monitor", ...)`` gives
    it (the service keeps one current analyzer per region)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        (entry,) = sdk_image_config("model-monitor")["versions"].values()
        super().__init__(
            scope,
            construct_id,
            registries=dict(entry["registries"]),
            repository=str(entry["repository"]),
            tag=None,
            what="Model Monitor analyzer",
        )
