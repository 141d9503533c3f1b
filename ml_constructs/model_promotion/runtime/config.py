"""The promotion function's settings, read from its environment and validated at cold start.

The construct writes these variables from the stack's own values (variant, image,
role, key, alarms), so a promoted model gets exactly the stack's endpoint settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serving_core.deployment_policy import DeploymentPolicy, DeploymentPolicyError
from serving_core.frameworks import DEFAULT_FRAMEWORK, framework_facts
from serving_core.variants import Variant, variant_from_api_shape

_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def _dump_or_empty(dump: Callable[[Any], str], document: dict[str, Any] | None) -> str:
    return dump(document) if document else ""


class ConfigurationError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


#: The variables of a Lambda target (``LambdaTargetConfig``), in to_env's order.
LAMBDA_TARGET_VARIABLES = (
    "LAMBDA_FUNCTION_NAME",
    "LAMBDA_ALIAS_NAME",
    "CODEDEPLOY_APPLICATION",
    "CODEDEPLOY_DEPLOYMENT_GROUP",
)
#: What only an endpoint target reads (a Lambda target's environment has none of them).
ENDPOINT_VARIABLES = (
    "PRODUCTION_VARIANT",
    "IMAGE_URI",
    "EXECUTION_ROLE_ARN",
    "VOLUME_KMS_KEY_ARN",
    "DATA_CAPTURE_CONFIG",
    "NETWORK_ISOLATION",
    "DEPLOYMENT_POLICY",
    "STACK_MODEL_NAME",
    "VPC_CONFIG",
    "ASYNC_INFERENCE_CONFIG",
)


@dataclass(frozen=True)
class LambdaTargetConfig:
    """A Lambda-hosted model (``endpoint.kind: lambda``): the function whose $LATEST a
    promotion re-configures and publishes, the alias that serves, and the CodeDeploy group that
    shifts the alias (its deployment config and rollback alarms apply)."""

    function_name: str
    alias_name: str
    application_name: str
    deployment_group_name: str

    def as_env(self) -> dict[str, str]:
        values = (
            self.function_name,
            self.alias_name,
            self.application_name,
            self.deployment_group_name,
        )
        return dict(zip(LAMBDA_TARGET_VARIABLES, values, strict=True))


@dataclass(frozen=True, kw_only=True)
class PromotionConfig:
    """Everything a promotion needs to know about the stack it promotes into. The endpoint
    settings (variant, image, role, key, capture, policy) are an endpoint target's; a Lambda
    target (``lambda_target``) has none of them."""

    endpoint_name: str
    name_prefix: str
    production_variant: dict[str, Any] = field(default_factory=dict)
    image_uri: str = ""
    execution_role_arn: str = ""
    volume_kms_key_arn: str | None = None
    data_capture_config: dict[str, Any] | None = None
    network_isolation: bool = False
    deployment_policy: DeploymentPolicy | None = None
    min_auc: float
    require_metrics: bool
    max_artifact_bytes: int
    feature_count: int | None
    api_max_rows: int | None
    api_feature_names: tuple[str, ...]
    keep_previous: int
    stack_model_name: str | None = None
    artifact_parameter: str
    topic_arn: str | None
    metrics_namespace: str
    artifact_bucket: str | None = None
    package_group: str | None = None
    package_group_account: str | None = None
    mark_rejected_packages: bool = False
    monitoring_baseline_prefix: str | None = None
    vpc_config: dict[str, Any] | None = None
    #: The stack's AsyncInferenceConfig (an asynchronous endpoint), copied into every
    #: promotion's EndpointConfig; None for real-time and serverless endpoints.
    async_inference_config: dict[str, Any] | None = None
    models_prefix: str = "models/"
    releases_prefix: str = "models/releases/"
    registry_prefix: str = "models/registry/"
    artifact_file_name: str = "model.tar.gz"
    #: The Lambda-hosted model a promotion deploys into, instead of the endpoint.
    lambda_target: LambdaTargetConfig | None = None
    #: ``model.framework``: the artifact layout the validator requires, and the container
    #: environment every promoted SageMaker Model gets (``serving_core.frameworks``).
    framework: str = DEFAULT_FRAMEWORK

    @property
    def resource_prefix(self) -> str:
        """Models and endpoint configs of promotions are ``<prefix>-p-<id>`` (IAM scope)."""
        return f"{self.name_prefix}-p-"

    @property
    def variant(self) -> Variant:
        """The stack's variant, read back from its shapes (what it supports decides how a
        promotion shifts traffic)."""
        return variant_from_api_shape(self.production_variant, self.async_inference_config)

    def to_env(self, dump: Callable[[Any], str] = json.dumps) -> dict[str, str]:
        """The environment :meth:`from_env` reads; ``dump`` writes JSON documents (the
        construct passes one that keeps deploy-time tokens)."""
        variables = {
            "ENDPOINT_NAME": self.endpoint_name,
            "NAME_PREFIX": self.name_prefix,
            "PRODUCTION_VARIANT": json.dumps(self.production_variant, sort_keys=True),
            "IMAGE_URI": self.image_uri,
            "EXECUTION_ROLE_ARN": self.execution_role_arn,
            "VOLUME_KMS_KEY_ARN": self.volume_kms_key_arn or "",
            "DATA_CAPTURE_CONFIG": dump(self.data_capture_config)
            if self.data_capture_config
            else "",
            "NETWORK_ISOLATION": str(self.network_isolation).lower(),
            "DEPLOYMENT_POLICY": dump(self.deployment_policy.as_dict())
            if self.deployment_policy
            else "",
            "MIN_AUC": repr(self.min_auc),
            "REQUIRE_METRICS": str(self.require_metrics).lower(),
            "MAX_ARTIFACT_BYTES": str(self.max_artifact_bytes),
            "FEATURE_COUNT": "" if self.feature_count is None else str(self.feature_count),
            "API_MAX_ROWS": "" if self.api_max_rows is None else str(self.api_max_rows),
            "API_FEATURE_NAMES": ",".join(self.api_feature_names),
            "KEEP_PREVIOUS": str(self.keep_previous),
            "STACK_MODEL_NAME": self.stack_model_name or "",
            "ARTIFACT_PARAMETER": self.artifact_parameter,
            "TOPIC_ARN": self.topic_arn or "",
            "METRICS_NAMESPACE": self.metrics_namespace,
            "ARTIFACT_BUCKET": self.artifact_bucket or "",
        }
        if self.package_group:
            variables["PACKAGE_GROUP"] = self.package_group
            variables["PACKAGE_GROUP_ACCOUNT"] = self.package_group_account or ""
            variables["MARK_REJECTED_PACKAGES"] = str(self.mark_rejected_packages).lower()
        if self.monitoring_baseline_prefix:
            variables["MONITORING_BASELINE_PREFIX"] = self.monitoring_baseline_prefix
        if self.framework != DEFAULT_FRAMEWORK:  # the default's environment stays as it was
            variables["MODEL_FRAMEWORK"] = self.framework
        if self.vpc_config:
            variables["VPC_CONFIG"] = dump(self.vpc_config)
        if self.async_inference_config:
            variables["ASYNC_INFERENCE_CONFIG"] = dump(self.async_inference_config)
        if self.lambda_target is not None:
            for name in ENDPOINT_VARIABLES:
                variables.pop(name, None)
            variables |= self.lambda_target.as_env()
        return variables

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PromotionConfig:
        """Parse the environment; every problem names the variable."""
        reader = _Reader(env)
        common: dict[str, Any] = {
            "endpoint_name": reader.text("ENDPOINT_NAME"),
            "name_prefix": reader.text("NAME_PREFIX"),
            "min_auc": reader.number("MIN_AUC", 0.0, 1.0),
            "require_metrics": reader.boolean("REQUIRE_METRICS"),
            "max_artifact_bytes": reader.integer("MAX_ARTIFACT_BYTES", 1, 10 * 1024**3),
            "feature_count": reader.optional_integer("FEATURE_COUNT"),
            "api_max_rows": reader.optional_integer("API_MAX_ROWS"),
            "api_feature_names": reader.names("API_FEATURE_NAMES"),
            "keep_previous": reader.integer("KEEP_PREVIOUS", 0, 50),
            "artifact_parameter": reader.text("ARTIFACT_PARAMETER"),
            "topic_arn": reader.optional("TOPIC_ARN"),
            "metrics_namespace": reader.text("METRICS_NAMESPACE"),
            "artifact_bucket": reader.optional("ARTIFACT_BUCKET"),
            "package_group": reader.optional("PACKAGE_GROUP"),
            "package_group_account": reader.optional("PACKAGE_GROUP_ACCOUNT"),
            "mark_rejected_packages": reader.optional_boolean("MARK_REJECTED_PACKAGES"),
            "monitoring_baseline_prefix": reader.optional("MONITORING_BASELINE_PREFIX"),
            "framework": reader.framework("MODEL_FRAMEWORK"),
        }
        if reader.optional(LAMBDA_TARGET_VARIABLES[0]) is not None:
            config = cls(lambda_target=reader.lambda_target(), **common)
            _check_common(config)
            return config
        config = cls(
            production_variant=reader.json_object("PRODUCTION_VARIANT"),
            image_uri=reader.text("IMAGE_URI"),
            execution_role_arn=reader.text("EXECUTION_ROLE_ARN"),
            volume_kms_key_arn=reader.optional("VOLUME_KMS_KEY_ARN"),
            data_capture_config=reader.optional_json_object("DATA_CAPTURE_CONFIG"),
            network_isolation=reader.boolean("NETWORK_ISOLATION"),
            deployment_policy=reader.deployment_policy("DEPLOYMENT_POLICY"),
            stack_model_name=reader.optional("STACK_MODEL_NAME"),
            vpc_config=reader.optional_json_object("VPC_CONFIG"),
            async_inference_config=reader.optional_json_object("ASYNC_INFERENCE_CONFIG"),
            **common,
        )
        _check_common(config)
        if "VariantName" not in config.production_variant:
            raise ConfigurationError("PRODUCTION_VARIANT: VariantName is missing")
        vpc = config.vpc_config
        if vpc is not None and not (vpc.get("Subnets") and vpc.get("SecurityGroupIds")):
            raise ConfigurationError("VPC_CONFIG: needs Subnets and SecurityGroupIds")
        asynchronous = config.async_inference_config
        if asynchronous is not None and not asynchronous.get("OutputConfig", {}).get(
            "S3OutputPath"
        ):
            raise ConfigurationError("ASYNC_INFERENCE_CONFIG: OutputConfig.S3OutputPath is missing")
        try:
            variant = config.variant
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigurationError(f"PRODUCTION_VARIANT: {error}") from None
        if asynchronous is not None and not variant.supports("async_invocation"):
            raise ConfigurationError(
                "ASYNC_INFERENCE_CONFIG: SageMaker runs asynchronous inference on instance "
                f"variants only, and PRODUCTION_VARIANT is {variant.kind}"
            )
        return config


def _check_common(config: PromotionConfig) -> None:
    """What every target's settings must satisfy (each problem names its variable)."""
    if not _PREFIX.match(config.name_prefix):
        raise ConfigurationError(f"NAME_PREFIX: {config.name_prefix!r} is not a name prefix")
    if not config.artifact_parameter.startswith("/"):
        raise ConfigurationError("ARTIFACT_PARAMETER: must be a path like /project/env/name")
    prefix = config.monitoring_baseline_prefix
    if prefix is not None and not (prefix.endswith("/") and not prefix.startswith("/")):
        raise ConfigurationError(
            "MONITORING_BASELINE_PREFIX: a key prefix ending with / (monitoring/baseline/)"
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise ConfigurationError(f"{name}: required environment variable is not set")
        return value

    def _json(self, name: str, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{name}: not valid JSON ({error})") from None

    def json_object(self, name: str) -> dict[str, Any]:
        value = self._json(name, self.text(name))
        if not isinstance(value, dict):
            raise ConfigurationError(f"{name}: expected a JSON object")
        return value

    def optional_json_object(self, name: str) -> dict[str, Any] | None:
        return self.json_object(name) if self.optional(name) else None

    def names(self, name: str) -> tuple[str, ...]:
        """A comma-separated list (feature names contain no comma); empty when unset."""
        text = self.optional(name)
        return tuple(part.strip() for part in text.split(",")) if text else ()

    def optional_boolean(self, name: str) -> bool:
        return self.boolean(name) if self.optional(name) else False

    def boolean(self, name: str) -> bool:
        value = self.text(name).lower()
        if value not in ("true", "false"):
            raise ConfigurationError(f"{name}: {value!r} is not true or false")
        return value == "true"

    def framework(self, name: str) -> str:
        """A known framework; unset: the default (TensorFlow)."""
        value = self.optional(name) or DEFAULT_FRAMEWORK
        try:
            framework_facts(value)
        except ValueError as error:
            raise ConfigurationError(f"{name}: {error}") from None
        return value

    def lambda_target(self) -> LambdaTargetConfig:
        """Every variable of a Lambda target (the function's name starts it)."""
        return LambdaTargetConfig(*(self.text(name) for name in LAMBDA_TARGET_VARIABLES))

    def deployment_policy(self, name: str) -> DeploymentPolicy:
        try:
            return DeploymentPolicy.from_json(self.text(name))
        except DeploymentPolicyError as error:
            raise ConfigurationError(f"{name}: {error}") from None

    def integer(self, name: str, low: int, high: int) -> int:
        text = self.text(name)
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(f"{name}: {text!r} is not an integer") from None
        if not low <= value <= high:
            raise ConfigurationError(f"{name}: {value} is outside {low}-{high}")
        return value

    def optional_integer(self, name: str) -> int | None:
        return self.integer(name, 1, 1_000_000) if self.optional(name) else None

    def number(self, name: str, low: float, high: float) -> float:
        text = self.text(name)
        try:
            value = float(text)
        except ValueError:
            raise ConfigurationError(f"{name}: {text!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigurationError(f"{name}: {value} is outside {low}-{high}")
        return value
