"""moto 5.2.5 has no SageMaker UpdateEndpoint; this adds a faithful-enough one, reversibly.

``installed()`` (or ``install``/``uninstall``) patches moto's SageMaker response and
backend classes, in this process (``mock_aws``) or in a moto server started from it.
UpdateEndpoint checks the endpoint and config exist, refuses while the endpoint is not
InService (as SageMaker does), records the request's DeploymentConfig on the endpoint
(``deployments`` list, for assertions) and switches the endpoint to the new config.
``set_status`` lets a test make the endpoint busy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse


def _update_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    deployment_config: dict[str, Any] | None,
) -> FakeEndpoint:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
    config = self.describe_endpoint_config(endpoint_config_name)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.deployments = [*getattr(endpoint, "deployments", []), deployment_config]
    return endpoint


def _update_endpoint_response(self: SageMakerResponse) -> TYPE_RESPONSE:
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    import json

    return 200, {}, json.dumps({"EndpointArn": endpoint.arn})


def install() -> None:
    """Add UpdateEndpoint to moto's SageMaker (idempotent); undo with :func:`uninstall`."""
    SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = _update_endpoint_response  # type: ignore[attr-defined]


def uninstall() -> None:
    """Leave moto as released, so other tests (the rehearsal's moto gaps) see it unpatched."""
    for cls, patch in (
        (SageMakerModelBackend, _update_endpoint),
        (SageMakerResponse, _update_endpoint_response),
    ):
        if vars(cls).get("update_endpoint") is patch:
            delattr(cls, "update_endpoint")


@contextmanager
def installed() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()


def endpoint(name: str, account: str = "123456789012", region: str = "us-east-1") -> FakeEndpoint:
    """moto's endpoint object, to read ``deployments`` or change ``endpoint_status``."""
    return sagemaker_backends[account][region].endpoints[name]


def set_status(name: str, status: str) -> None:
    endpoint(name).endpoint_status = status
