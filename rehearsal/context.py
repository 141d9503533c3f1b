"""What the rehearsal's steps share: the run's settings, and what each step leaves for the next.

Attributes set by a step are declared without a default (``init=False``): reading one before
its step ran raises AttributeError, which names it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.artifacts import TrainedModel
from rehearsal.deployment import DeployedStack, SynthesizedStack
from serving_config import Settings

HeldOut = tuple[list[list[float]], list[int]]


@dataclass
class Rehearsal:
    """One run: inputs first, then what the steps produce, in step order."""

    args: argparse.Namespace
    settings: Settings
    workdir: Path
    config_dir: Path | None = None  # a run option's copy of the configuration (variants.py)
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    # train and synthesize
    stacks: list[SynthesizedStack] = field(init=False)
    models: dict[str, TrainedModel] = field(init=False)
    corrupt: Path = field(init=False)
    held_out: HeldOut = field(init=False)
    # local AWS and the deployments
    aws: Any = field(init=False)  # rehearsal.local_aws.LocalAws
    cdk: Any = field(init=False)  # rehearsal.cdk_cli.CdkCli
    data_stack: DeployedStack = field(init=False)
    serving_stack: DeployedStack = field(init=False)
    bucket: str = field(init=False)
    key_arn: str = field(init=False)
    initial_uri: str = field(init=False)
    endpoint_name: str = field(init=False)
    # serving, predicting, promoting
    #: What serves, followed: rehearsal.serving.EndpointMirror (an endpoint) or
    #: rehearsal.function_serving.ServedFunction (a Lambda-hosted model).
    mirror: Any = field(init=False)
    #: How the report names what a promotion moves: "endpoint config", "alias live".
    serving_label: str = "endpoint config"
    inference_fn: str | None = field(init=False)
    promotion_fn: str | None = field(init=False)
    promoted_config: str = field(init=False)
    promoted_uri: str = field(init=False)
    promoted_model: TrainedModel = field(init=False)  # the model the last promotion serves
    registered: str | None = None  # the model package version approved in step 7
    # the report
    emulated: int = field(init=False)
    resources: int = field(init=False)

    @property
    def account(self) -> str:
        assert self.settings.account is not None  # checked before the run starts
        return self.settings.account

    @property
    def region(self) -> str:
        assert self.settings.region is not None
        return self.settings.region

    @property
    def clients(self) -> Any:
        return self.aws.clients

    @property
    def encryption(self) -> dict[str, str]:
        """SSE-KMS with the stack's key, as every upload to the artifact bucket uses."""
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_arn}

    def endpoint(self) -> dict[str, Any]:
        """DescribeEndpoint of the deployed endpoint."""
        described: dict[str, Any] = self.clients.sagemaker.describe_endpoint(
            EndpointName=self.endpoint_name
        )
        return described

    def serving_config(self) -> str:
        """What serves now: the endpoint's config, or the version the model's alias names."""
        return str(self.mirror.current())

    def recorded_artifact(self) -> str:
        """The model artifact the SSM parameter names (what the next deploy serves)."""
        parameter = self.clients.ssm.get_parameter(Name=self.settings.artifact_parameter)
        return str(parameter["Parameter"]["Value"])
