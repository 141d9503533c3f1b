"""SageMaker framework image URIs derived from the SageMaker SDK's own image configuration.

The SDK (``sagemaker-core``) ships ``image_uri_config/<framework>.json`` with the
registry account of every region. We read that file (without importing the SDK,
which costs over a second at synth) and emit a CloudFormation mapping keyed by
``AWS::Region``, so an environment-agnostic template resolves the right image in
whatever region it is deployed to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any, Literal

from aws_cdk import CfnMapping, Stack, Token
from constructs import Construct

ImageScope = Literal["inference", "training"]

_SDK_DISTRIBUTION = "sagemaker-core"


@cache
def sdk_image_config(framework: str) -> dict[str, Any]:
    """The SDK's image configuration for ``framework`` (e.g. ``tensorflow``)."""
    path = metadata.distribution(_SDK_DISTRIBUTION).locate_file(
        f"sagemaker/core/image_uri_config/{framework}.json"
    )
    with open(str(path), encoding="utf-8") as handle:
        config: dict[str, Any] = json.load(handle)
    return config


@dataclass(frozen=True)
class ImageSpec:
    """Which image: framework, MAJOR.MINOR version, scope and processor."""

    framework: str
    version: str
    scope: ImageScope
    processor: Literal["cpu", "gpu"] = "cpu"

    def version_config(self) -> dict[str, Any]:
        """The SDK's entry for this version, following its aliases (2.20 -> 2.20.0); raises
        when the SDK lists no such version, or none for this processor."""
        scoped = sdk_image_config(self.framework).get(self.scope)
        if scoped is None:
            raise ValueError(f"the SDK knows no {self.scope} images for {self.framework}")
        full = scoped.get("version_aliases", {}).get(self.version, self.version)
        versions = scoped["versions"]
        if full not in versions:
            known = ", ".join(sorted(scoped.get("version_aliases", {})))
            raise ValueError(
                f"{self.framework} {self.scope} image {self.version} is unknown to "
                f"{_SDK_DISTRIBUTION} {metadata.version(_SDK_DISTRIBUTION)}; known: {known}"
            )
        version_config: dict[str, Any] = versions[full]
        # As the SDK's image_uris.retrieve: the scope's processors, else the version's.
        processors = scoped.get("processors") or version_config.get("processors") or ["cpu"]
        if self.processor not in processors:
            raise ValueError(
                f"{self.framework} {self.scope} {self.version} has no {self.processor} image "
                f"in {_SDK_DISTRIBUTION} {metadata.version(_SDK_DISTRIBUTION)} (only "
                f"{', '.join(processors)})"
            )
        return version_config

    @property
    def repository(self) -> str:
        return str(self.version_config()["repository"])

    @property
    def tag(self) -> str:
        config = self.version_config()
        tag = f"{self.version}-{self.processor}"
        py_versions = config.get("py_versions") or []
        if py_versions:
            tag += f"-{py_versions[-1]}"
        return tag

    def registries(self) -> dict[str, str]:
        """Region -> registry account, as the SDK lists them."""
        return dict(self.version_config()["registries"])


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
