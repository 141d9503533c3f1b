"""SageMaker's UpdateEndpoint for moto 5.2.5 (which has none): the one emulator the rehearsal
and the tests share.

As the SageMaker API reference documents UpdateEndpoint:

- the endpoint must exist and be InService (otherwise "Cannot update in-progress endpoint"),
  and the new endpoint config must exist;
- the endpoint is "Updating" while the old config keeps serving, then serves the new config,
  is "InService" again, and SageMaker publishes "SageMaker Endpoint State Change" to
  EventBridge (``settle_seconds`` later; 0 settles before the call returns, for tests that
  need a deployment that is over at once);
- RetainAllVariantProperties (default false) keeps each variant's instance count and weight
  (what autoscaling set) unless ExcludeRetainedVariantProperties names them; data capture
  follows the new config (its retention is "not currently supported");
- the blue/green DeploymentConfig (canary or linear steps, waits, alarm auto-rollback) is
  recorded in :class:`EndpointUpdates` and not simulated: traffic moves at once.

An update to the config the endpoint already uses is refused. CloudFormation updates an
AWS::SageMaker::Endpoint that keeps its name with UpdateEndpoint (moto deletes and recreates
it, losing the fleet); a new name replaces it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.responses import SageMakerResponse

from rehearsal.moto_gaps._patching import Installer, patch

#: How long an update stays "Updating" in the rehearsal (SageMaker: minutes).
UPDATE_SECONDS = 1.0
STATE_CHANGE = "SageMaker Endpoint State Change"
#: What RetainAllVariantProperties keeps unless excluded (VariantPropertyType -> fields).
_RETAINED = {
    "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
}
_lock = threading.Lock()


@dataclass(frozen=True)
class UpdateRequest:
    """One accepted UpdateEndpoint request."""

    endpoint_config_name: str
    deployment_config: dict[str, Any] | None = None
    retain_all_variant_properties: bool = False
    #: ExcludeRetainedVariantProperties' VariantPropertyTypes, sorted.
    excluded: tuple[str, ...] = ()


@dataclass
class EndpointUpdates:
    """Every UpdateEndpoint request each endpoint accepted, oldest first (a journal part)."""

    requests: dict[str, list[UpdateRequest]] = field(default_factory=dict)

    def of(self, endpoint_name: str) -> list[UpdateRequest]:
        return list(self.requests.get(endpoint_name, []))

    def last(self, endpoint_name: str) -> UpdateRequest | None:
        requests = self.requests.get(endpoint_name)
        return requests[-1] if requests else None

    def deployment_configs(self, endpoint_name: str) -> list[dict[str, Any] | None]:
        """The DeploymentConfig of each update, in order (None where the request had none)."""
        return [r.deployment_config for r in self.of(endpoint_name)]


def _refuse(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _begin(backend: Any, endpoint_name: str, request: UpdateRequest) -> tuple[Any, Any]:
    """Check the request as SageMaker does and mark the endpoint "Updating"; returns the
    endpoint and the new config (call with the lock held)."""
    from moto.core.utils import utcnow

    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = sagemaker_models.FakeEndpoint.arn_formatter(
            endpoint_name, backend.account_id, backend.region_name
        )
        raise _refuse(f'Could not find endpoint "{arn}".')
    if endpoint.endpoint_status != "InService":
        raise _refuse(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    if request.endpoint_config_name == endpoint.endpoint_config_name:
        raise _refuse("Cannot update endpoint to the endpoint config it already uses.")
    config = backend.describe_endpoint_config(request.endpoint_config_name)
    endpoint.endpoint_status = "Updating"
    endpoint.last_modified_time = utcnow()
    return endpoint, config


def _settle(backend: Any, endpoint: Any, config: Any, request: UpdateRequest) -> None:
    """The new config serves (with the retained variant properties); InService; the event."""
    from moto.core.utils import utcnow

    with _lock:
        old = {v["VariantName"]: v for v in endpoint.production_variants}
        variants = endpoint._process_production_variants(config["ProductionVariants"])
        if request.retain_all_variant_properties:
            for variant in variants:
                kept = old.get(variant["VariantName"], {})
                for kind, fields in _RETAINED.items():
                    if kind not in request.excluded:
                        variant.update({f: kept[f] for f in fields if f in kept})
        endpoint.endpoint_config_name = request.endpoint_config_name
        endpoint.production_variants = variants
        endpoint.data_capture_config = config.get("DataCaptureConfig")
        endpoint.last_modified_time = utcnow()
        endpoint.endpoint_status = "InService"
    _emit_state_change(backend.account_id, backend.region_name, endpoint)


def _emit_state_change(account_id: str, region: str, endpoint: Any) -> None:
    from moto.events.models import events_backends

    detail = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "EndpointStatus": "IN_SERVICE",
    }
    entry = {
        "Source": "aws.sagemaker",
        "DetailType": STATE_CHANGE,
        "Detail": json.dumps(detail),
        "Resources": [endpoint.arn],
    }
    events_backends[account_id][region].put_events([entry])


def _update_endpoint(updates: EndpointUpdates, settle_seconds: float) -> Callable[..., str]:
    """SageMakerModelBackend.update_endpoint, recording into ``updates``."""

    def update_endpoint(
        self: Any,
        endpoint_name: str,
        endpoint_config_name: str,
        retain_all_variant_properties: bool = False,
        deployment_config: dict[str, Any] | None = None,
        exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    ) -> str:
        excluded = {p["VariantPropertyType"] for p in exclude_retained_variant_properties or []}
        request = UpdateRequest(
            endpoint_config_name=endpoint_config_name,
            deployment_config=deployment_config,
            retain_all_variant_properties=bool(retain_all_variant_properties),
            excluded=tuple(sorted(excluded)),
        )
        with _lock:
            endpoint, config = _begin(self, endpoint_name, request)
            updates.requests.setdefault(endpoint_name, []).append(request)
        if settle_seconds <= 0:
            _settle(self, endpoint, config, request)
        else:
            timer = threading.Timer(settle_seconds, _settle, (self, endpoint, config, request))
            timer.daemon = True
            timer.start()
        return str(endpoint.arn)

    return update_endpoint


def _update_endpoint_response(self: Any) -> Any:
    """SageMakerResponse.update_endpoint: the API's parameters to the backend's."""
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=self._get_param("RetainAllVariantProperties", False),
        deployment_config=self._get_param("DeploymentConfig"),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
    )
    return ActionResult({"EndpointArn": arn})


def _update_from_template(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """FakeEndpoint.update_from_cloudformation_json: UpdateEndpoint while the name stays, with
    the template's DeploymentConfig and retained variant properties, as CloudFormation does."""
    properties = cloudformation_json["Properties"]
    name = properties.get("EndpointName") or original_resource.endpoint_name
    if name != original_resource.endpoint_name:
        cls.delete_from_cloudformation_json(
            original_resource.arn, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
    retain = str(properties.get("RetainAllVariantProperties", "")).lower().startswith("t")
    backend: Any = sagemaker_models.sagemaker_backends[account_id][region_name]
    backend.update_endpoint(
        endpoint_name=name,
        endpoint_config_name=properties["EndpointConfigName"],
        retain_all_variant_properties=retain,
        deployment_config=properties.get("DeploymentConfig"),
        exclude_retained_variant_properties=properties.get("ExcludeRetainedVariantProperties"),
    )
    return original_resource


def _apply(
    updates: EndpointUpdates | None = None, settle_seconds: float = UPDATE_SECONDS
) -> EndpointUpdates:
    """Add UpdateEndpoint to moto's SageMaker (API and CloudFormation); returns the journal
    part it records into."""
    updates = EndpointUpdates() if updates is None else updates
    patch(
        sagemaker_models.SageMakerModelBackend,
        "update_endpoint",
        _update_endpoint(updates, settle_seconds),
    )
    patch(SageMakerResponse, "update_endpoint", _update_endpoint_response)
    patch(
        sagemaker_models.FakeEndpoint,
        "update_from_cloudformation_json",
        classmethod(_update_from_template),
    )
    return updates


INSTALL = Installer(_apply)
