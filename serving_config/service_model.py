"""Values AWS enumerates in its service models, read from botocore's copy of them (the source
AWS's API reference is generated from), so that a configuration value AWS would refuse at
deploy or run time (``ml.m5.larg``) fails synth with its field named.

:data:`ENUMERATED_FIELDS` lists every configuration field whose value lands in an enumerated
API member, with that member's shape; a test checks the list against the settings classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from botocore.loaders import Loader

from serving_config._parsing import require


@dataclass(frozen=True)
class EnumeratedField:
    """A configuration field (dotted path) and the API member it becomes: ``shape`` of
    ``service``'s model; ``to_api`` maps the configuration's spelling to the API's."""

    path: str
    service: str
    shape: str
    api_member: str
    to_api: Callable[[str], str] = str


ENUMERATED_FIELDS: tuple[EnumeratedField, ...] = (
    EnumeratedField(
        "endpoint.instance_type",
        "sagemaker",
        "ProductionVariantInstanceType",
        "CreateEndpointConfig ProductionVariants[].InstanceType",
    ),
    EnumeratedField(
        "model_monitor.instance_type",
        "sagemaker",
        "ProcessingInstanceType",
        "MonitoringClusterConfig.InstanceType",
    ),
    EnumeratedField(
        "model_monitor.retraining.instance_type",
        "sagemaker",
        "TrainingInstanceType",
        "CreateTrainingJob ResourceConfig.InstanceType",
    ),
    EnumeratedField(
        "promotion.traffic_shifting",
        "sagemaker",
        "TrafficRoutingConfigType",
        "BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type",
        str.upper,
    ),
    EnumeratedField("api.architecture", "lambda", "Architecture", "CreateFunction Architectures[]"),
    EnumeratedField(
        "lambda_model.architecture", "lambda", "Architecture", "CreateFunction Architectures[]"
    ),
    EnumeratedField(
        "api.endpoint_type",
        "apigateway",
        "EndpointType",
        "CreateRestApi endpointConfiguration.types[]",
        str.upper,
    ),
)
_BY_PATH = {f.path: f for f in ENUMERATED_FIELDS}


@cache
def _loader() -> Loader:
    return Loader()


@cache
def enum_values(service: str, shape: str) -> frozenset[str]:
    """The values ``shape`` of ``service``'s botocore model enumerates."""
    model = _loader().load_service_model(service, "service-2")
    return frozenset(model["shapes"][shape]["enum"])


def require_enumerated(value: str, path: str, field_path: str) -> None:
    """``value`` of the field ``field_path`` (an :data:`ENUMERATED_FIELDS` path) must be one
    AWS accepts; the error names the field at ``path`` and a few close values."""
    field = _BY_PATH[field_path]
    allowed = enum_values(field.service, field.shape)
    api_value = field.to_api(value)
    near = sorted(v for v in allowed if v.startswith(api_value[: api_value.rfind(".") + 1]))
    hint = f" (close: {', '.join(near[:6])})" if near and api_value not in allowed else ""
    require(
        api_value in allowed,
        path,
        f"{value!r} is not a value AWS accepts for {field.api_member} "
        f"({field.service} {field.shape}){hint}",
    )
