"""The configuration builds the hosting variant: the one place a kind string becomes a typed
variant (``serving_core.variants``), whose rules then speak for the configuration's fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from serving_config._parsing import ConfigError, join
from serving_core.variants import (
    VARIANT_CLASSES,
    AsyncVariant,
    InstanceVariant,
    LambdaVariant,
    ServerlessVariant,
    Variant,
    VariantError,
)

if TYPE_CHECKING:
    from serving_config.settings import Settings

#: A variant's field -> the configuration field it comes from.
CONFIG_FIELDS = {
    "name": "endpoint.variant_name",
    "instance_type": "endpoint.instance_type",
    "initial_instance_count": "endpoint.initial_instance_count",
    "memory_mb": "endpoint.serverless_memory_mb",
    "max_concurrency": "endpoint.serverless_max_concurrency",
    "provisioned_concurrency": "endpoint.serverless_provisioned_concurrency",
    "min_capacity": "async_inference.min_capacity",
    "architecture": "lambda_model.architecture",
    "timeout_s": "lambda_model.timeout_s",
    "reserved_concurrency": "lambda_model.reserved_concurrency",
    "provisioned_concurrency_max": "lambda_model.schedules",
    "max_concurrent_invocations_per_instance": (
        "async_inference.max_concurrent_invocations_per_instance"
    ),
}


def _no_provisioned_concurrency(settings: Settings) -> None:
    if settings.endpoint.serverless_provisioned_concurrency is not None:
        raise VariantError(
            [("provisioned_concurrency", "applies to a serverless variant only (kind: serverless)")]
        )


def _instance(settings: Settings) -> Variant:
    endpoint = settings.endpoint
    _no_provisioned_concurrency(settings)
    return InstanceVariant(
        name=endpoint.variant_name,
        instance_type=endpoint.instance_type,
        initial_instance_count=endpoint.initial_instance_count,
        fleet=settings.scaling.fleet_range if settings.scaling is not None else None,
    )


def _async(settings: Settings) -> Variant:
    endpoint, backlog = settings.endpoint, settings.async_inference
    _no_provisioned_concurrency(settings)
    return AsyncVariant(
        name=endpoint.variant_name,
        instance_type=endpoint.instance_type,
        initial_instance_count=endpoint.initial_instance_count,
        min_capacity=backlog.min_capacity,
        max_capacity=backlog.max_capacity,
        max_concurrent_invocations_per_instance=backlog.max_concurrent_invocations_per_instance,
    )


def _serverless(settings: Settings) -> Variant:
    endpoint = settings.endpoint
    return ServerlessVariant(
        name=endpoint.variant_name,
        memory_mb=endpoint.serverless_memory_mb,
        max_concurrency=endpoint.serverless_max_concurrency,
        provisioned_concurrency=endpoint.serverless_provisioned_concurrency,
    )


def _lambda(settings: Settings) -> Variant:
    endpoint, function = settings.endpoint, settings.lambda_model
    _no_provisioned_concurrency(settings)
    try:
        return LambdaVariant(
            name=endpoint.variant_name,
            memory_mb=function.memory_mb,
            architecture=function.architecture,
            timeout_s=function.timeout_s,
            reserved_concurrency=function.reserved_concurrency,
            provisioned_concurrency=function.provisioned_concurrency,
            provisioned_concurrency_max=function.provisioned_concurrency_max,
        )
    except VariantError as error:  # the section's own fields, not the serverless ones
        raise VariantError(
            [(_LAMBDA_FIELDS.get(name, name), message) for name, message in error.problems]
        ) from None


#: A lambda variant's fields that share a name with the serverless variant's.
_LAMBDA_FIELDS = {
    "memory_mb": "lambda_model.memory_mb",
    "provisioned_concurrency": "lambda_model.provisioned_concurrency",
}

BUILDERS: dict[str, Callable[[Settings], Variant]] = {
    "instance": _instance,
    "async": _async,
    "serverless": _serverless,
    "lambda": _lambda,
}


def build_variant(settings: Settings, path: str = "") -> Variant:
    """``settings``' variant; a broken rule is a ConfigError naming the configuration field."""
    try:
        return BUILDERS[settings.endpoint.kind](settings)
    except VariantError as error:
        name, message = error.problems[0]
        raise ConfigError(f"{join(path, CONFIG_FIELDS.get(name, name))}: {message}") from None


def kind_overrides(kind: str) -> dict[str, Any]:
    """What an environment file changes to host on ``kind``: the kind, and off whatever the
    kind lacks (autoscaling, data capture, monitoring, stepped traffic shifting). The
    rehearsal's ``--kind`` applies it; the result is validated like any environment. Where the
    kind counts the wait between shifts in a coarser unit, the wait becomes one unit."""
    variant_class = VARIANT_CLASSES[kind]  # type: ignore[index]
    lacks = variant_class.lacks
    endpoint: dict[str, Any] = {"kind": kind}
    changed: dict[str, Any] = {"endpoint": endpoint}
    if "autoscaling" in lacks:
        changed["scaling"] = None
    if "data_capture" in lacks:
        endpoint["data_capture_percent"] = 0
    if "monitoring" in lacks:
        changed["model_monitor"] = {"enabled": False, "retraining": {"enabled": False}}
    if "stepped_traffic_shifting" in lacks:
        changed["promotion"] = {"traffic_shifting": "all_at_once"}
    elif variant_class.shift_wait_unit_s > 1:
        # the shortest wait the kind can express (a Lambda alias: one minute, CodeDeploy's)
        changed["promotion"] = {"wait_before_shift_s": variant_class.shift_wait_unit_s}
    return changed
