"""The configuration schema: one frozen dataclass per concern, validated on load."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from serving_config._parsing import ConfigError, join, require
from serving_config.api import ApiSettings
from serving_config.async_inference import AsyncInferenceSettings
from serving_config.capacity import CapacitySettings
from serving_config.lambda_model import LambdaModelSettings, ProvisionedScheduleSettings
from serving_config.model_monitoring import ModelMonitorSettings, RetrainingSettings
from serving_config.monitoring import AlarmSettings
from serving_config.network import NetworkSettings
from serving_config.promotion import PromotionSettings
from serving_config.registry import RegistrySettings
from serving_config.scaling import ScheduleSettings, validate_time_zone
from serving_config.service_model import require_enumerated
from serving_core.deployment_policy import (
    DeploymentPolicy,
    DeploymentPolicyError,
    lambda_traffic_shifting,
)
from serving_core.frameworks import (
    DEFAULT_FRAMEWORK,
    FRAMEWORKS,
    Framework,
    FrameworkFacts,
    framework_facts,
)
from serving_core.image_tables import (
    SDK_DISTRIBUTION,
    ImageScope,
    ImageSpec,
    Processor,
    has_any_image_for,
    sdk_version,
)
from serving_core.variants import SERVERLESS_MEMORY_MB, Variant

__all__ = [
    "AlarmSettings",
    "ApiSettings",
    "AsyncInferenceSettings",
    "CapacitySettings",
    "ConfigError",
    "EndpointSettings",
    "LambdaModelSettings",
    "ModelMonitorSettings",
    "ModelSettings",
    "PromotionSettings",
    "ProvisionedScheduleSettings",
    "RegistrySettings",
    "RetrainingSettings",
    "ScalingSettings",
    "ScheduleSettings",
    "Settings",
]

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(role|user)/[\w+=,.@/-]{1,512}$")


@dataclass(frozen=True)
class ModelSettings:
    """Which model the endpoint serves first and what its input looks like.

    ``framework`` picks the serving and training images (``serving_core.frameworks``);
    ``framework_version`` (serving) and ``training_framework_version`` default to the
    framework's pinned versions and must be known to the SageMaker SDK's image tables."""

    framework: Framework = DEFAULT_FRAMEWORK
    framework_version: str = ""
    training_framework_version: str = ""
    feature_count: int = 30
    initial_artifact_key: str = "models/initial/model.tar.gz"
    artifact_parameter_name: str = ""

    def __post_init__(self) -> None:
        facts = framework_facts(self.framework)
        if not self.framework_version:
            object.__setattr__(self, "framework_version", facts.serving_version)
        if not self.training_framework_version:
            object.__setattr__(self, "training_framework_version", facts.training_version)

    @property
    def facts(self) -> FrameworkFacts:
        return FRAMEWORKS[self.framework]

    def image_spec(self, scope: ImageScope, processor: Processor = "cpu") -> ImageSpec:
        """The serving (``inference``) or training image of the configured versions."""
        version = (
            self.framework_version if scope == "inference" else self.training_framework_version
        )
        return ImageSpec(self.facts.sdk_table, version, scope, processor=processor)

    def validate(self, path: str) -> None:
        checked: tuple[tuple[ImageScope, str], ...] = (
            ("inference", "framework_version"),
            ("training", "training_framework_version"),
        )
        for scope, name in checked:
            try:
                self.image_spec(scope).version_entry()
            except ValueError as error:
                raise ConfigError(f"{join(path, name)}: {error}") from None
        require(
            1 <= self.feature_count <= 10_000,
            join(path, "feature_count"),
            f"{self.feature_count} is outside 1-10000",
        )
        require(
            self.initial_artifact_key.startswith("models/")
            and self.initial_artifact_key.endswith(".tar.gz"),
            join(path, "initial_artifact_key"),
            f"{self.initial_artifact_key!r} must be under models/ and end in .tar.gz",
        )
        require(
            self.artifact_parameter_name == ""
            or re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", self.artifact_parameter_name) is not None,
            join(path, "artifact_parameter_name"),
            f"{self.artifact_parameter_name!r} is not an SSM parameter path like /a/b",
        )


@dataclass(frozen=True)
class EndpointSettings:
    """The production variant: a provisioned instance fleet, a serverless variant, an
    instance fleet behind SageMaker's asynchronous queue (``async``: see
    ``async_inference``), or the model inside a Lambda function (``lambda``: see
    ``lambda_model``)."""

    kind: Literal["instance", "serverless", "async", "lambda"] = "instance"
    variant_name: str = "AllTraffic"
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    #: Serverless instances kept warm (no cold starts up to this concurrency; billed while
    #: idle). None: on-demand only.
    serverless_provisioned_concurrency: int | None = None
    data_capture_percent: int = 100

    def validate(self, path: str) -> None:
        require(
            re.fullmatch(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}", self.variant_name) is not None,
            join(path, "variant_name"),
            f"{self.variant_name!r} is not a valid SageMaker variant name",
        )
        require_enumerated(
            self.instance_type, join(path, "instance_type"), "endpoint.instance_type"
        )
        require(
            1 <= self.initial_instance_count <= 100,
            join(path, "initial_instance_count"),
            f"{self.initial_instance_count} is outside 1-100",
        )
        require(
            self.serverless_memory_mb in SERVERLESS_MEMORY_MB,
            join(path, "serverless_memory_mb"),
            f"{self.serverless_memory_mb} is not one of {SERVERLESS_MEMORY_MB}",
        )
        require(
            1 <= self.serverless_max_concurrency <= 200,
            join(path, "serverless_max_concurrency"),
            f"{self.serverless_max_concurrency} is outside 1-200",
        )
        provisioned = self.serverless_provisioned_concurrency
        require(
            provisioned is None or 1 <= provisioned <= self.serverless_max_concurrency,
            join(path, "serverless_provisioned_concurrency"),
            f"{provisioned} is outside 1-serverless_max_concurrency "
            f"({self.serverless_max_concurrency}): SageMaker needs it at most MaxConcurrency",
        )
        require(
            0 <= self.data_capture_percent <= 100,
            join(path, "data_capture_percent"),
            f"{self.data_capture_percent} is outside 0-100",
        )


@dataclass(frozen=True)
class ScalingSettings:
    """Target tracking on invocations per instance; optionally also on CPU utilization and on
    the high-resolution concurrency metric, and scheduled changes of the bounds."""

    min_capacity: int = 1
    max_capacity: int = 2
    target_invocations_per_instance: int = 1000
    scale_in_cooldown_s: int = 300
    scale_out_cooldown_s: int = 60
    #: A second target tracking policy: average CPU per instance, percent of all its vCPUs.
    cpu_target_percent: float | None = None
    #: A policy on ``SageMakerVariantConcurrentRequestsPerModelHighResolution`` (10-s data
    #: points: scales out faster than the per-minute invocations metric).
    concurrent_requests_target: float | None = None
    #: The IANA time zone the schedules' cron expressions are read in.
    time_zone: str = "UTC"
    schedules: tuple[ScheduleSettings, ...] = ()

    def validate(self, path: str) -> None:
        require(
            self.min_capacity >= 1,
            join(path, "min_capacity"),
            f"{self.min_capacity} must be at least 1",
        )
        require(
            self.max_capacity >= self.min_capacity,
            join(path, "max_capacity"),
            f"{self.max_capacity} is below min_capacity {self.min_capacity}",
        )
        require(
            self.max_capacity <= 100,
            join(path, "max_capacity"),
            f"{self.max_capacity} is above 100",
        )
        require(
            self.target_invocations_per_instance >= 1,
            join(path, "target_invocations_per_instance"),
            f"{self.target_invocations_per_instance} must be at least 1",
        )
        for name in ("scale_in_cooldown_s", "scale_out_cooldown_s"):
            value = getattr(self, name)
            require(0 <= value <= 3600, join(path, name), f"{value} is outside 0-3600")
        require(
            self.cpu_target_percent is None or 1 <= self.cpu_target_percent <= 100,
            join(path, "cpu_target_percent"),
            f"{self.cpu_target_percent} is outside 1-100 (percent of the instance's vCPUs)",
        )
        require(
            self.concurrent_requests_target is None or self.concurrent_requests_target > 0,
            join(path, "concurrent_requests_target"),
            f"{self.concurrent_requests_target} must be above 0",
        )
        validate_time_zone(self.time_zone, join(path, "time_zone"))
        names = [s.name for s in self.schedules]
        for i, schedule in enumerate(self.schedules):
            where = f"{join(path, 'schedules')}[{i}]"
            schedule.validate(where)
            require(
                names.count(schedule.name) == 1,
                join(where, "name"),
                f"{schedule.name!r} names more than one schedule",
            )
            self._validate_within_bounds(schedule, where)

    def _validate_within_bounds(self, schedule: ScheduleSettings, where: str) -> None:
        """A scheduled action replaces only the bounds it names; Application Auto Scaling
        refuses one whose new minimum would exceed the maximum in effect (or whose new
        maximum would fall below the minimum): "you must include both sizes to ensure that
        the new minimum capacity is not greater than the maximum capacity" ("Scheduled
        scaling for Application Auto Scaling"). In effect may be the scaling bounds or
        whatever another schedule set last."""
        others = [s for s in self.schedules if s is not schedule]
        if schedule.min_capacity is not None and schedule.max_capacity is None:
            highs = [self.max_capacity, *(s.max_capacity for s in others if s.max_capacity)]
            require(
                schedule.min_capacity <= min(highs),
                join(where, "min_capacity"),
                f"{schedule.min_capacity} is above the max_capacity {min(highs)} that may be "
                "in effect then (the scaling bounds' or another schedule's); set this "
                "schedule's max_capacity too",
            )
        if schedule.max_capacity is not None and schedule.min_capacity is None:
            lows = [self.min_capacity, *(s.min_capacity for s in others if s.min_capacity)]
            require(
                schedule.max_capacity >= max(lows),
                join(where, "max_capacity"),
                f"{schedule.max_capacity} is below the min_capacity {max(lows)} that may be "
                "in effect then (the scaling bounds' or another schedule's); set this "
                "schedule's min_capacity too",
            )

    @property
    def fleet_range(self) -> tuple[int, int]:
        """The fewest and most instances the fleet may have, schedules included."""
        lows = [self.min_capacity, *(s.min_capacity for s in self.schedules if s.min_capacity)]
        highs = [self.max_capacity, *(s.max_capacity for s in self.schedules if s.max_capacity)]
        return min(lows), max(highs)


@dataclass(frozen=True)
class Settings:
    """Everything that differs between environments.

    ``operators``: IAM roles or users (ARNs, this account) that upload datasets and models
    and publish the first model: the key policy lets them use the key through S3 only.
    ``deployer_trusted_roles``: IAM roles, usually in another account, that may assume the
    ``<prefix>-deployer`` role and nothing more (the delivery pipeline's publish and check
    steps; a pipeline stage adds its own role here).
    """

    name: str
    project: str = "mlserving"
    account: str | None = None
    region: str | None = None
    sandbox: bool = False
    removal_policy: Literal["retain", "destroy"] = "retain"
    auto_delete_objects: bool = False
    model: ModelSettings = field(default_factory=ModelSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    scaling: ScalingSettings | None = field(default_factory=ScalingSettings)
    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    promotion: PromotionSettings = field(default_factory=PromotionSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    model_monitor: ModelMonitorSettings = field(default_factory=ModelMonitorSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    async_inference: AsyncInferenceSettings = field(default_factory=AsyncInferenceSettings)
    lambda_model: LambdaModelSettings = field(default_factory=LambdaModelSettings)
    tags: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    deployer_trusted_roles: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        require(
            _PROJECT.match(self.project) is not None,
            join(path, "project"),
            f"{self.project!r} must be 2-20 lowercase letters, digits or hyphens",
        )
        require(
            self.account is None or _ACCOUNT.match(self.account) is not None,
            join(path, "account"),
            f"{self.account!r} is not a 12-digit AWS account id",
        )
        require(
            self.region is None or _REGION.match(self.region) is not None,
            join(path, "region"),
            f"{self.region!r} is not an AWS region name like eu-west-1",
        )
        require(
            not (self.account and not self.region),
            join(path, "region"),
            "an environment that names an account must name its region too",
        )
        require(
            self.removal_policy == "retain" or self.sandbox,
            join(path, "removal_policy"),
            "'destroy' (with auto-delete of objects) is allowed only when sandbox is true",
        )
        require(
            not self.auto_delete_objects or self.removal_policy == "destroy",
            join(path, "auto_delete_objects"),
            "auto-delete of objects needs removal_policy 'destroy'",
        )
        self._validate_hosting(path)
        self._validate_framework_images(path)
        self._validate_registry_accounts(path)
        self._validate_model_monitor(path)
        require(
            self.api.endpoint_type == "regional" or self.network.private,
            join(path, "api.endpoint_type"),
            "a private API is reached through the VPC's execute-api endpoint: set network.mode "
            "to 'create' or 'import'",
        )
        require(
            not self.network.private or self.variant.supports("vpc"),
            join(path, "network.mode"),
            f"{self.variant.why_not('vpc')}; use an instance variant or mode 'none'",
        )
        for i, tag in enumerate(self.tags):
            require("=" in tag, f"{join(path, 'tags')}[{i}]", f"{tag!r} is not KEY=VALUE")
        for i, arn in enumerate(self.operators):
            match = _PRINCIPAL_ARN.match(arn)
            require(
                match is not None,
                f"{join(path, 'operators')}[{i}]",
                f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME)",
            )
            assert match is not None
            require(
                self.account is None or match.group(1) == self.account,
                f"{join(path, 'operators')}[{i}]",
                f"{arn!r} is in account {match.group(1)}, not this environment's "
                f"{self.account}: the key's use by operators is limited to its own account",
            )
        for i, arn in enumerate(self.deployer_trusted_roles):
            require(
                _ROLE_ARN.match(arn) is not None,
                f"{join(path, 'deployer_trusted_roles')}[{i}]",
                f"{arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
            )

    def _validate_hosting(self, path: str) -> None:
        """The variant's own rules, then what it supports: autoscaling (``scaling:``), data
        capture, the traffic shifting of updates, and the scaling range it starts in."""
        from serving_config.hosting import build_variant

        variant = build_variant(self, path)
        self.__dict__["variant"] = variant  # the cached property's value
        require(
            self.scaling is None or variant.supports("autoscaling"),
            join(path, "scaling"),
            f"{variant.why_not('autoscaling')}; set scaling to null",
        )
        if self.scaling is not None:
            require(
                self.scaling.min_capacity
                <= self.endpoint.initial_instance_count
                <= self.scaling.max_capacity,
                join(path, "endpoint.initial_instance_count"),
                f"{self.endpoint.initial_instance_count} is outside scaling "
                f"{self.scaling.min_capacity}-{self.scaling.max_capacity}",
            )
        require(
            self.endpoint.data_capture_percent == 0 or variant.supports("data_capture"),
            join(path, "endpoint.data_capture_percent"),
            f"{variant.why_not('data_capture')}; set it to 0",
        )
        problem = variant.traffic_shifting_problem(self.promotion.traffic_shifting)
        require(problem is None, join(path, "promotion.traffic_shifting"), problem or "")
        if not variant.supports("sagemaker_endpoint"):
            self._validate_codedeploy_shifting(path)

    def _validate_codedeploy_shifting(self, path: str) -> None:
        """A Lambda-hosted model's alias shifts by CodeDeploy: the promotion policy must map
        to a CodeDeploy Lambda configuration (whole minutes between shifts)."""
        promotion = self.promotion
        policy = DeploymentPolicy(
            traffic_shifting=promotion.traffic_shifting,
            step_percent=promotion.canary_percent,
            wait_before_shift_s=promotion.wait_before_shift_s,
            termination_wait_s=promotion.termination_wait_s,
            max_execution_timeout_s=promotion.max_execution_timeout_s,
        )
        try:
            lambda_traffic_shifting(policy)
        except DeploymentPolicyError as error:
            name = str(error).split(" ", 1)[0]
            raise ConfigError(f"{join(path, 'promotion.' + name)}: {error}") from None

    def _validate_framework_images(self, path: str) -> None:
        """The serving image exists for the variant's processor (GPU instance types serve the
        GPU image; scikit-learn has none), and both images in the environment's region."""
        model, processor = self.model, self.variant.processor
        facts = model.facts
        serving = model.image_spec("inference", processor)
        if not serving.has_image_for(processor):
            if not has_any_image_for(facts.sdk_table, "inference", processor):
                raise ConfigError(
                    f"{join(path, 'endpoint.instance_type')}: {self.endpoint.instance_type} "
                    f"is a {processor.upper()} instance type, and SageMaker's {facts.title} "
                    f"images are {', '.join(serving.processors or []).upper()} only (no "
                    f"{processor.upper()} image in any version {SDK_DISTRIBUTION} lists): use "
                    "a CPU instance type (ml.m5, ml.c5...)"
                )
            raise ConfigError(
                f"{join(path, 'model.framework_version')}: {facts.title} "
                f"{model.framework_version} has no {processor.upper()} serving image for "
                f"{self.endpoint.instance_type} (only {', '.join(serving.processors or [])})"
            )
        if self.region is None:
            return
        for spec, name in (
            (serving, "framework_version"),
            (model.image_spec("training"), "training_framework_version"),
        ):
            require(
                self.region in spec.registries(),
                join(path, f"model.{name}"),
                f"{facts.title} {spec.version} {spec.scope} images are not published in "
                f"{self.region} ({SDK_DISTRIBUTION} {sdk_version()} lists "
                f"{len(spec.registries())} other regions)",
            )

    @property
    def scales(self) -> bool:
        """Something sets the fleet's size: autoscaling, or an async endpoint's backlog."""
        return self.scaling is not None or self.variant.supports("async_invocation")

    @cached_property
    def variant(self) -> Variant:
        """The hosting variant this configuration describes."""
        from serving_config.hosting import build_variant

        return build_variant(self)

    def _validate_registry_accounts(self, path: str) -> None:
        """Another account's group and its consumers are other accounts, not this one."""
        registry = self.registry
        require(
            self.account is None or self.account not in registry.consumer_accounts,
            join(path, "registry.consumer_accounts"),
            f"names this environment's own account {self.account}",
        )
        require(
            self.account is None
            or registry.source_account is None
            or registry.source_account != self.account,
            join(path, "registry.source_group_arn"),
            "is in this environment's own account: promote from the own group "
            "(registry.group_name) instead",
        )
        require(
            not registry.source_group_arn
            or self.region is None
            or f":sagemaker:{self.region}:" in registry.source_group_arn,
            join(path, "registry.source_group_arn"),
            f"is not in this environment's region {self.region} (approval events do not cross "
            "regions)",
        )

    def _validate_model_monitor(self, path: str) -> None:
        """Either monitor reads the endpoint's captured data, which serverless endpoints do not
        support ("Feature exclusions", Serverless Inference); Model Monitor supports neither."""
        monitor = self.model_monitor
        if not monitor.enabled:
            return
        require(
            self.variant.supports("monitoring"),
            join(path, "model_monitor.enabled"),
            f"{self.variant.why_not('monitoring')}; set it to false for "
            f"{self.variant.described} endpoint",
        )
        require(
            monitor.engine == "own" or self.variant.supports("sagemaker_endpoint"),
            join(path, "model_monitor.engine"),
            f"SageMaker Model Monitor watches a SageMaker endpoint; "
            f"{self.variant.why_not('sagemaker_endpoint')}: use engine 'own' (it reads the "
            "function's capture)",
        )
        require(
            self.endpoint.data_capture_percent > 0,
            join(path, "model_monitor.enabled"),
            "monitoring reads captured requests: set endpoint.data_capture_percent above 0",
        )
        unknown = [n for n in monitor.drift_features if n not in self.api.feature_names]
        require(
            not self.api.feature_names or not unknown,
            join(path, "model_monitor.drift_features"),
            f"{', '.join(unknown)} not among api.feature_names",
        )

    @property
    def model_package_group(self) -> str:
        """This environment's model package group name."""
        return self.registry.group_name or self.prefix

    @property
    def prefix(self) -> str:
        """Name prefix for every physical name: project and environment."""
        return f"{self.project}-{self.name}"

    @property
    def artifact_parameter(self) -> str:
        """SSM parameter holding the S3 URI of the model that currently serves."""
        return self.model.artifact_parameter_name or f"/{self.project}/{self.name}/model-data-url"
