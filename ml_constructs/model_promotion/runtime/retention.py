"""Deletes old promotions: their EndpointConfig, Model and release copy.

Each promotion creates ``<prefix>-p-<id>`` (Model and EndpointConfig) and copies the artifact
to ``models/releases/<sha>/``. Kept: the config the endpoint serves, the ``keep_previous``
newest others (for a manual rollback), anything younger than a grace period (a promotion may
be creating it right now), and every release copy that a remaining model, the stack's own
model or the SSM parameter names. Runs only while the endpoint is InService, and touches only
resources with this stack's promotion prefix *and* the tag each promotion sets, never what
CloudFormation owns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from serving_core.baseline import ALL_MEMBERS

from .config import PromotionConfig

#: The tag every promotion sets on its Model and EndpointConfig (ownership marker).
OWNER_TAG = "promotion:sha256"
#: A promotion's resources are never deleted in their first minutes (the function's timeout).
GRACE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class _Config:
    name: str
    arn: str
    created: dt.datetime


class Retention:
    """One clean-up pass over the promotions of one endpoint."""

    def __init__(
        self,
        config: PromotionConfig,
        sagemaker: Any,
        s3: Any,
        recorded_artifact: Callable[[], str | None],
    ) -> None:
        self.config = config
        self.sagemaker = sagemaker
        self.s3 = s3
        self.recorded_artifact = recorded_artifact

    def clean_up(self, now: dt.datetime | None = None) -> list[str]:
        """Delete what is no longer kept; returns the names and keys that were deleted."""
        endpoint = self.sagemaker.describe_endpoint(EndpointName=self.config.endpoint_name)
        if endpoint.get("EndpointStatus") != "InService":
            return []
        serving = str(endpoint.get("EndpointConfigName", ""))
        now = now or dt.datetime.now(dt.UTC)
        configs = self._promotion_configs()
        others = [c for c in configs if c.name != serving]
        kept = {serving} | {c.name for c in others[: self.config.keep_previous]}
        kept |= {c.name for c in configs if now - c.created < GRACE}
        doomed = [c for c in others if c.name not in kept and self._owned(c.arn)]
        if not doomed:
            return []
        protected = self._protected_artifacts(kept)
        deleted: list[str] = []
        for config in doomed:
            models = self._models_of(config.name)
            if _gone_or_deleted(
                self.sagemaker.delete_endpoint_config, EndpointConfigName=config.name
            ):
                deleted.append(f"endpoint-config/{config.name}")
            for model, artifact in models:
                if not model.startswith(self.config.resource_prefix):
                    continue
                if _gone_or_deleted(self.sagemaker.delete_model, ModelName=model):
                    deleted.append(f"model/{model}")
                if artifact and artifact not in protected:
                    deleted.extend(self._delete_release(artifact))
                    protected.add(artifact)  # a second model of the same release: once
        return deleted

    def _promotion_configs(self) -> list[_Config]:
        """This stack's promotion configs, newest first."""
        prefix = self.config.resource_prefix
        found: list[_Config] = []
        paginator = self.sagemaker.get_paginator("list_endpoint_configs")
        for page in paginator.paginate(NameContains=prefix, SortBy="CreationTime"):
            for item in page.get("EndpointConfigs", []):
                name = str(item["EndpointConfigName"])
                if name.startswith(prefix):
                    created = item["CreationTime"]
                    if created.tzinfo is None:
                        created = created.replace(tzinfo=dt.UTC)
                    found.append(_Config(name, str(item["EndpointConfigArn"]), created))
        return sorted(found, key=lambda c: c.created, reverse=True)

    def _owned(self, arn: str) -> bool:
        tags = self.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
        keys = {tag.get("Key") for tag in tags}
        return OWNER_TAG in keys and "aws:cloudformation:stack-name" not in keys

    def _models_of(self, config_name: str) -> list[tuple[str, str | None]]:
        try:
            described = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError as error:
            if _not_found(error):  # another invocation deleted it meanwhile
                return []
            raise
        models = []
        for variant in described.get("ProductionVariants", []):
            name = str(variant.get("ModelName", ""))
            models.append((name, self._artifact_of(name)))
        return models

    def _artifact_of(self, model_name: str) -> str | None:
        try:
            model = self.sagemaker.describe_model(ModelName=model_name)
        except ClientError:
            return None
        url = model.get("PrimaryContainer", {}).get("ModelDataUrl")
        return str(url) if url else None

    def _protected_artifacts(self, kept: set[str]) -> set[str]:
        """Artifacts that must survive: of the kept configs, the stack's own model and the one
        the SSM parameter names (the next ``cdk deploy`` serves it)."""
        protected: set[str] = set()
        for name in kept:
            try:
                protected |= {a for _, a in self._models_of(name) if a}
            except ClientError:
                continue
        if self.config.stack_model_name:
            artifact = self._artifact_of(self.config.stack_model_name)
            if artifact:
                protected.add(artifact)
        recorded = self.recorded_artifact()
        if recorded:
            protected.add(recorded)
        return protected

    def _delete_release(self, artifact: str) -> list[str]:
        """Only release copies made by promotions are deleted, never an uploaded object."""
        bucket, _, key = artifact.removeprefix("s3://").partition("/")
        if not artifact.startswith("s3://") or not key.startswith(self.config.releases_prefix):
            return []
        self.s3.delete_object(Bucket=bucket, Key=key)
        release_dir = key.rsplit("/", 1)[0] + "/"
        for member in ALL_MEMBERS:  # the baseline kept beside it, if the model carried one
            self.s3.delete_object(Bucket=bucket, Key=f"{release_dir}{member}")
        return [f"s3://{bucket}/{key}"]


def _not_found(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return "could not find" in message or "not found" in message


def _gone_or_deleted(delete: Callable[..., Any], **request: str) -> bool:
    """Delete; True when this call deleted it, False when it was already gone (two
    invocations may clean up at once)."""
    try:
        delete(**request)
    except ClientError as error:
        if _not_found(error):
            return False
        raise
    return True
