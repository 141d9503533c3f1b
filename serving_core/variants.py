"""The hosting variants: what kind of fleet serves the model, typed.

One class per hosting kind, each owning its rules, its fleet range and what it supports, and
one renderer of the SageMaker API's shapes (``ProductionVariant``, ``AsyncInferenceConfig``;
``DataCaptureConfig`` beside them) that the construct, the promotion function and the
rehearsal all use. CloudFormation's ``AWS::SageMaker::EndpointConfig`` takes the same shapes,
so the template and every promotion's ``CreateEndpointConfig`` cannot drift apart.

Nothing else branches on a kind: callers ask a variant what it supports
(:meth:`HostingVariant.supports`, :meth:`HostingVariant.why_not`) or let it render itself.
A new hosting kind is one class here (and :func:`variant_from_api_shape`'s reading of it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Kind = Literal["instance", "serverless", "async", "lambda"]
Capability = Literal[
    "sagemaker_endpoint",  # the model runs on a SageMaker endpoint (else: in a Lambda function)
    "autoscaling",  # target tracking on invocations (``scaling:``)
    "async_invocation",  # requests queued in S3, scaled on the backlog down to zero
    "data_capture",
    "monitoring",  # drift and quality on the captured traffic
    "vpc",
    "network_isolation",
    "stepped_traffic_shifting",  # canary and linear steps of whole instances
]
#: Serverless memory sizes SageMaker offers (MB).
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
#: NVIDIA GPU families (CUDA): they serve the ``-gpu`` framework image.
_GPU_FAMILY = re.compile(r"^(p\d+[a-z]*|g\d+(dn|e|en)?)$")
#: AWS Inferentia/Trainium and AMD GPU families: the framework serving images do not run on
#: them (Inferentia and Trainium need Neuron images, g4ad has no CUDA).
_UNSUPPORTED_FAMILY = re.compile(r"^(inf\d+[a-z]*|trn\d+[a-z]*|g4ad)$")
_VARIANT_NAME = re.compile(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}")
#: Lambda's memory range (MB) and timeout limit (s); an alias's provisioned concurrency.
LAMBDA_MEMORY_MB = (128, 10_240)
LAMBDA_MAX_TIMEOUT_S = 900
#: The synchronous invocation's front door: API Gateway's integration timeout (s).
LAMBDA_API_TIMEOUT_S = 29
#: Lambda keeps this much of the account's concurrency unreserved: reservations (reserved
#: concurrency and provisioned concurrency alike) may use the rest.
LAMBDA_UNRESERVED_MINIMUM = 100
_NO_CAPTURE = "SageMaker does not support data capture on a serverless variant"
_SERVERLESS_NO_VPC = "a serverless variant cannot run in a VPC"


@dataclass(frozen=True)
class AsyncOutput:
    """Where an asynchronous endpoint writes results and failures (S3 URIs), the key that
    encrypts them, and the SNS topics it notifies (values may be deploy-time tokens)."""

    output_uri: Any
    failure_uri: Any
    key_arn: Any
    success_topic: Any
    error_topic: Any


class VariantError(ValueError):
    """A variant's settings break a rule; ``problems`` names each field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))


@dataclass(frozen=True)
class HostingVariant:
    """What every kind shares: its name, what it supports and why not, and its API shape."""

    name: str = "AllTraffic"
    kind: ClassVar[Kind]
    #: "an async", "a serverless": for messages about the kind.
    described: ClassVar[str]
    #: Capability -> why the kind lacks it (absent: supported).
    lacks: ClassVar[dict[Capability, str]] = {}
    #: The unit of the wait between traffic shifts (seconds): CodeDeploy counts whole minutes.
    shift_wait_unit_s: ClassVar[int] = 1

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise VariantError(problems)

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every rule broken; empty when valid."""
        if _VARIANT_NAME.fullmatch(self.name) is None:
            return [("name", f"{self.name!r} is not a valid SageMaker variant name")]
        return []

    def traffic_shifting_problem(self, traffic_shifting: str) -> str | None:
        """Why updates of this variant cannot shift traffic so (None: they can)."""
        return None

    @property
    def processor(self) -> Literal["cpu", "gpu"]:
        """Which framework image serves."""
        return "cpu"

    def supports(self, capability: Capability) -> bool:
        return capability not in self.lacks and self._lacks_for_instance(capability) is None

    def why_not(self, capability: Capability) -> str:
        """The reason the variant lacks ``capability`` ("" when it has it)."""
        return self.lacks.get(capability) or self._lacks_for_instance(capability) or ""

    def _lacks_for_instance(self, capability: Capability) -> str | None:
        return None

    @property
    def fleet_range(self) -> tuple[int, int]:
        """The fewest and most instances the fleet may have while it serves."""
        raise NotImplementedError

    @property
    def fleet_label(self) -> str:
        """The fleet's identity in the endpoint's name: a change of it replaces the endpoint."""
        raise NotImplementedError

    @property
    def shifts_all_at_once(self) -> bool:
        """Traffic moves at once on update (SageMaker's fallback where no whole-instance step
        exists), baked and guarded by the rollback alarms."""
        return not self.supports("stepped_traffic_shifting")

    @property
    def realtime_instance_types(self) -> list[str]:
        """The real-time instance types a registered model package declares for this variant."""
        return []

    @property
    def instance_metrics_type(self) -> str | None:
        """The instance type whose per-instance metrics (CPU, memory, disk) the alarms watch;
        None where there are no instances or the fleet may be empty."""
        return None

    @property
    def keeps_instances_on_update(self) -> bool:
        """An update keeps the instance count autoscaling set (RetainAllVariantProperties)."""
        return False

    @property
    def volume_key_allowed(self) -> bool:
        """Whether the endpoint config may name a KMS key for the variant's storage."""
        return True

    @property
    def promotion_services(self) -> dict[str, str]:
        """AWS services a promotion of this variant calls beyond the endpoint's (an interface
        endpoint each where the network is private): service -> why."""
        return {}

    def production_variant(self, model_name: Any) -> dict[str, Any]:
        """``ProductionVariant`` in the SageMaker API's shape (CloudFormation's is the same)."""
        raise NotImplementedError

    def async_inference_config(self, output: AsyncOutput | None) -> dict[str, Any] | None:
        """``AsyncInferenceConfig`` in the SageMaker API's shape (None: not asynchronous)."""
        if output is not None:
            raise VariantError([("async_output", self.why_not("async_invocation"))])
        return None


@dataclass(frozen=True)
class InstanceVariant(HostingVariant):
    """A provisioned fleet of ``instance_type``; ``fleet`` is the range autoscaling (and its
    schedules) may set, the initial count when none."""

    kind: ClassVar[Kind] = "instance"
    described: ClassVar[str] = "an instance"
    lacks: ClassVar[dict[Capability, str]] = {
        "async_invocation": "an instance variant answers in real time (kind async queues)",
    }
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    fleet: tuple[int, int] | None = None

    def problems(self) -> list[tuple[str, str]]:
        problems = super().problems()
        if not 1 <= self.initial_instance_count <= 100:
            problems.append(
                ("initial_instance_count", f"{self.initial_instance_count} is outside 1-100")
            )
            return problems
        if _UNSUPPORTED_FAMILY.match(self.family):
            problems.append(
                (
                    "instance_type",
                    f"{self.instance_type} needs a Neuron or ROCm image; the serving images "
                    "run on CPU and NVIDIA GPU instance types only",
                )
            )
        low, high = self.fleet_range
        if not low <= self.initial_instance_count <= high:
            problems.append(
                (
                    "initial_instance_count",
                    f"{self.initial_instance_count} is outside the fleet range "
                    f"{max(1, low)}-{high}",
                )
            )
        return problems

    def _lacks_for_instance(self, capability: Capability) -> str | None:
        if capability == "autoscaling":
            return self.burstable_reason
        return None

    @property
    def burstable_reason(self) -> str | None:
        """Why the fleet cannot scale (a burstable type), or None."""
        if self.instance_type.startswith("ml.t"):
            return f"SageMaker cannot autoscale burstable {self.instance_type}"
        return None

    @property
    def family(self) -> str:
        """``c5`` for ``ml.c5.xlarge``."""
        parts = self.instance_type.split(".")
        return parts[1] if len(parts) > 2 else ""

    @property
    def processor(self) -> Literal["cpu", "gpu"]:
        """Which framework image serves: ``gpu`` on NVIDIA GPU instances, else ``cpu``."""
        return "gpu" if _GPU_FAMILY.match(self.family) else "cpu"

    @property
    def volume_key_allowed(self) -> bool:
        """NVMe-backed types (m5d, g4dn, p4d, g5...) are encrypted in hardware: the
        CloudFormation reference says a KmsKeyId fails there, so none is set for them."""
        family = self.family
        nvme = re.fullmatch(r"[a-z]+\d+[a-z]*d[a-z]*", family) is not None
        return not (nvme or family in {"g5", "g6", "g6e", "p5", "p5e"})

    @property
    def fleet_range(self) -> tuple[int, int]:
        return self.fleet or (self.initial_instance_count, self.initial_instance_count)

    def traffic_shifting_problem(self, traffic_shifting: str) -> str | None:
        """SageMaker's LinearStepSize is 10-50% of the fleet; the steps are whole instances,
        so one step must fit every fleet size autoscaling may reach (the rule
        ``DeploymentPolicy.step_instances`` enforces at synth)."""
        low, high = self.fleet_range
        if traffic_shifting != "linear" or low < 2 or math.ceil(high * 0.1) <= low // 2:
            return None
        return (
            f"linear steps must be whole instances and 10-50% of the fleet; none fits every "
            f"fleet size from {low} to {high}: use canary, or narrow the scaling range"
        )

    @property
    def fleet_label(self) -> str:
        return self.instance_type.removeprefix("ml.").replace(".", "-")

    @property
    def keeps_instances_on_update(self) -> bool:
        return True

    @property
    def realtime_instance_types(self) -> list[str]:
        return [self.instance_type]

    @property
    def instance_metrics_type(self) -> str | None:
        return self.instance_type

    def production_variant(self, model_name: Any) -> dict[str, Any]:
        return {
            "VariantName": self.name,
            "ModelName": model_name,
            "InstanceType": self.instance_type,
            "InitialInstanceCount": self.initial_instance_count,
            "InitialVariantWeight": 1.0,
        }


@dataclass(frozen=True)
class AsyncVariant(InstanceVariant):
    """An instance fleet behind SageMaker's asynchronous queue, scaling on its backlog from
    ``min_capacity`` (0: to zero) to ``max_capacity``."""

    kind: ClassVar[Kind] = "async"
    described: ClassVar[str] = "an async"
    lacks: ClassVar[dict[Capability, str]] = {
        "autoscaling": "an async endpoint scales on its backlog (async_inference.min_capacity/"
        "max_capacity)",
        "data_capture": "data capture of asynchronous requests is not supported here",
        "monitoring": "the monitor reads captured real-time traffic",
        "stepped_traffic_shifting": "an async endpoint's fleet may be at zero instances, where "
        "no whole-instance step exists: its updates move all at once (baked and guarded by the "
        "rollback alarms)",
    }
    min_capacity: int = 0
    max_capacity: int = 2
    max_concurrent_invocations_per_instance: int | None = None

    def problems(self) -> list[tuple[str, str]]:
        problems = super().problems()
        if not 0 <= self.min_capacity <= self.max_capacity or self.max_capacity < 1:
            problems.append(
                (
                    "min_capacity",
                    f"need 0 <= min_capacity ({self.min_capacity}) <= max_capacity "
                    f"({self.max_capacity}) and max_capacity >= 1",
                )
            )
        limit = self.max_concurrent_invocations_per_instance
        if limit is not None and not 1 <= limit <= 1000:
            problems.append(
                ("max_concurrent_invocations_per_instance", f"{limit} is outside 1-1000")
            )
        if self.burstable_reason:  # it scales on its backlog
            problems.append(("instance_type", self.burstable_reason))
        return problems

    @property
    def fleet_range(self) -> tuple[int, int]:
        return self.min_capacity, self.max_capacity

    def traffic_shifting_problem(self, traffic_shifting: str) -> str | None:
        if traffic_shifting == "all_at_once":
            return None
        return f"{self.lacks['stepped_traffic_shifting']}; set all_at_once"

    @property
    def fleet_label(self) -> str:
        return f"async-{super().fleet_label}"  # switching kind replaces the endpoint

    @property
    def realtime_instance_types(self) -> list[str]:
        return []

    @property
    def instance_metrics_type(self) -> str | None:
        return None  # the fleet may be at zero instances

    def async_inference_config(self, output: AsyncOutput | None) -> dict[str, Any] | None:
        if output is None:
            raise VariantError([("async_output", "an async variant needs its output locations")])
        config: dict[str, Any] = {
            "OutputConfig": {
                "S3OutputPath": output.output_uri,
                "S3FailurePath": output.failure_uri,
                "KmsKeyId": output.key_arn,
                "NotificationConfig": {
                    "SuccessTopic": output.success_topic,
                    "ErrorTopic": output.error_topic,
                },
            }
        }
        if self.max_concurrent_invocations_per_instance is not None:
            config["ClientConfig"] = {
                "MaxConcurrentInvocationsPerInstance": self.max_concurrent_invocations_per_instance
            }
        return config


@dataclass(frozen=True)
class ServerlessVariant(HostingVariant):
    """SageMaker Serverless Inference: memory and concurrency, no instances; optionally
    ``provisioned_concurrency`` instances kept warm (billed while idle)."""

    kind: ClassVar[Kind] = "serverless"
    described: ClassVar[str] = "a serverless"
    lacks: ClassVar[dict[Capability, str]] = {
        "autoscaling": "autoscaling does not apply to a serverless variant",
        "async_invocation": "a serverless variant has no asynchronous queue",
        "data_capture": _NO_CAPTURE,
        "monitoring": "monitoring reads the data capture, which serverless endpoints do not "
        "support",
        "vpc": _SERVERLESS_NO_VPC,
        "network_isolation": "Serverless Inference does not support network isolation "
        "(SageMaker's feature exclusions); the model runs isolated on instance variants",
        "stepped_traffic_shifting": "a serverless variant shifts all at once (SageMaker's "
        "fallback)",
    }
    memory_mb: int = 2048
    max_concurrency: int = 5
    provisioned_concurrency: int | None = None

    def problems(self) -> list[tuple[str, str]]:
        problems = super().problems()
        if self.memory_mb not in SERVERLESS_MEMORY_MB:
            problems.append(("memory_mb", f"{self.memory_mb} is not one of {SERVERLESS_MEMORY_MB}"))
        if not 1 <= self.max_concurrency <= 200:
            problems.append(("max_concurrency", f"{self.max_concurrency} is outside 1-200"))
        provisioned = self.provisioned_concurrency
        if provisioned is not None and not 1 <= provisioned <= self.max_concurrency:
            problems.append(
                (
                    "provisioned_concurrency",
                    f"{provisioned} is outside 1-max_concurrency ({self.max_concurrency}): "
                    "SageMaker needs it at most MaxConcurrency",
                )
            )
        return problems

    @property
    def fleet_range(self) -> tuple[int, int]:
        return 1, 1  # no instances to count: one unit of traffic, shifted at once

    @property
    def fleet_label(self) -> str:
        return "serverless"

    def production_variant(self, model_name: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "MemorySizeInMB": self.memory_mb,
            "MaxConcurrency": self.max_concurrency,
        }
        if self.provisioned_concurrency is not None:
            config["ProvisionedConcurrency"] = self.provisioned_concurrency
        return {"VariantName": self.name, "ModelName": model_name, "ServerlessConfig": config}


_NOT_ON_SAGEMAKER = (
    "a lambda variant runs the model inside a Lambda function (onnxruntime), not on a "
    "SageMaker endpoint"
)


@dataclass(frozen=True)
class LambdaVariant(HostingVariant):
    """The model served inside an AWS Lambda function by onnxruntime (small models): memory
    (Lambda gives CPU in proportion), architecture, timeout, optionally reserved concurrency
    (a cap and a guarantee) and provisioned concurrency on the ``live`` alias (warm
    containers, billed while idle). Versions and the alias shift by CodeDeploy: canary and
    linear percentages of invocations, not whole instances."""

    kind: ClassVar[Kind] = "lambda"
    described: ClassVar[str] = "a lambda"
    lacks: ClassVar[dict[Capability, str]] = {
        "sagemaker_endpoint": _NOT_ON_SAGEMAKER,
        "autoscaling": "a Lambda function scales with its invocations (reserved_concurrency "
        "caps it; provisioned concurrency schedules keep containers warm), not with SageMaker's "
        "target tracking",
        "async_invocation": "the model function answers API Gateway synchronously; there is no "
        "SageMaker asynchronous queue",
        "network_isolation": "network isolation is a SageMaker model setting; the function "
        "reaches S3 and CloudWatch with its role (in the VPC when the network is private)",
    }
    shift_wait_unit_s: ClassVar[int] = 60
    memory_mb: int = 2048
    architecture: Literal["arm64", "x86_64"] = "arm64"
    timeout_s: int = 10

    @property
    def promotion_services(self) -> dict[str, str]:
        return {
            "lambda": "the promotion function: the model function's configuration, versions, alias",
            "codedeploy": "the promotion function: the alias's deployments",
        }

    reserved_concurrency: int | None = None
    provisioned_concurrency: int | None = None
    #: The most provisioned concurrency any schedule sets (must fit the reservation too).
    provisioned_concurrency_max: int | None = None

    def problems(self) -> list[tuple[str, str]]:
        problems = super().problems()
        low, high = LAMBDA_MEMORY_MB
        if not low <= self.memory_mb <= high:
            problems.append(("memory_mb", f"{self.memory_mb} is outside Lambda's {low}-{high} MB"))
        if self.architecture not in ("arm64", "x86_64"):
            problems.append(("architecture", f"{self.architecture!r} is not arm64 or x86_64"))
        if not 1 <= self.timeout_s <= LAMBDA_API_TIMEOUT_S:
            problems.append(
                (
                    "timeout_s",
                    f"{self.timeout_s} is outside 1-{LAMBDA_API_TIMEOUT_S} s (API Gateway's "
                    "integration timeout; Lambda's own limit is 900 s)",
                )
            )
        reserved = self.reserved_concurrency
        if reserved is not None and reserved < 1:
            problems.append(("reserved_concurrency", f"{reserved} must be at least 1"))
        problems += self._provisioned_problems()
        return problems

    def _provisioned_problems(self) -> list[tuple[str, str]]:
        """Provisioned concurrency is at least 1 and, on a function with reserved concurrency,
        at most the reservation (Lambda: "provisioned concurrency cannot exceed reserved
        concurrency"); every schedule's value too."""
        problems: list[tuple[str, str]] = []
        reserved = self.reserved_concurrency
        for name in ("provisioned_concurrency", "provisioned_concurrency_max"):
            value = getattr(self, name)
            if value is None:
                continue
            if value < 1:
                problems.append((name, f"{value} must be at least 1"))
            elif reserved is not None and value > reserved:
                problems.append(
                    (
                        name,
                        f"{value} is above reserved_concurrency ({reserved}): Lambda refuses "
                        "more provisioned concurrency than the function may reserve",
                    )
                )
        return problems

    @property
    def fleet_range(self) -> tuple[int, int]:
        return 1, 1  # no instances: one unit of traffic, shifted in percentages by CodeDeploy

    @property
    def fleet_label(self) -> str:
        return "lambda"

    @property
    def volume_key_allowed(self) -> bool:
        return False

    @property
    def shifts_all_at_once(self) -> bool:
        return False  # CodeDeploy shifts an alias in percentages of its invocations

    @property
    def warm_range(self) -> tuple[int, int]:
        """The fewest and most provisioned concurrency the alias may have (0: none)."""
        values = [v for v in (self.provisioned_concurrency, self.provisioned_concurrency_max) if v]
        return (self.provisioned_concurrency or 0, max(values, default=0))

    def production_variant(self, model_name: Any) -> dict[str, Any]:
        raise VariantError([("kind", self.why_not("sagemaker_endpoint"))])


Variant = InstanceVariant | AsyncVariant | ServerlessVariant | LambdaVariant
#: Each kind's class: what a kind lacks is known before a variant is built.
VARIANT_CLASSES: dict[Kind, type[HostingVariant]] = {
    cls.kind: cls for cls in (InstanceVariant, AsyncVariant, ServerlessVariant, LambdaVariant)
}


@dataclass(frozen=True)
class DataCapture:
    """What the endpoint captures (``percent`` 0: nothing), where, under which key."""

    percent: int
    destination_uri: Any
    key_arn: Any
    json_content_types: tuple[str, ...] = field(default=("application/json",))
    csv_content_types: tuple[str, ...] = field(default=("text/csv",))

    def api_shape(self) -> dict[str, Any] | None:
        """``DataCaptureConfig`` in the SageMaker API's shape (None when off)."""
        if self.percent == 0:
            return None
        return {
            "EnableCapture": True,
            "InitialSamplingPercentage": self.percent,
            "DestinationS3Uri": self.destination_uri,
            "KmsKeyId": self.key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {
                "JsonContentTypes": list(self.json_content_types),
                "CsvContentTypes": list(self.csv_content_types),
            },
        }


def variant_from_api_shape(
    production_variant: dict[str, Any], async_inference_config: dict[str, Any] | None = None
) -> Variant:
    """The variant a ``ProductionVariant`` (and ``AsyncInferenceConfig``) describes: how the
    promotion function, given the stack's shapes, knows what it promotes."""
    name = str(production_variant["VariantName"])
    serverless = production_variant.get("ServerlessConfig")
    if serverless is not None:
        return ServerlessVariant(
            name=name,
            memory_mb=int(serverless["MemorySizeInMB"]),
            max_concurrency=int(serverless["MaxConcurrency"]),
            provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
        )
    instance_type = str(production_variant["InstanceType"])
    count = int(production_variant["InitialInstanceCount"])
    if async_inference_config is not None:
        client = async_inference_config.get("ClientConfig") or {}
        return AsyncVariant(
            name=name,
            instance_type=instance_type,
            initial_instance_count=count,
            min_capacity=0,
            max_capacity=max(count, 1),
            max_concurrent_invocations_per_instance=client.get(
                "MaxConcurrentInvocationsPerInstance"
            ),
        )
    return InstanceVariant(name=name, instance_type=instance_type, initial_instance_count=count)
