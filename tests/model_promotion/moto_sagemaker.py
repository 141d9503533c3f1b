"""moto 5.2.5 has no SageMaker UpdateEndpoint: the tests use the rehearsal's emulator
(``rehearsal.moto_gaps.endpoint_updates``), reversibly, with updates that settle before the
call returns (a deployment that is over at once).

``installed()`` patches moto's SageMaker response and backend classes, in this process
(``mock_aws``) or in a moto server started from it, and yields the journal of accepted
requests (``deployment_configs(name)`` for assertions). ``set_status`` lets a test make the
endpoint busy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto.sagemaker.models import FakeEndpoint, sagemaker_backends

from rehearsal.moto_gaps import endpoint_updates
from rehearsal.moto_gaps.endpoint_updates import EndpointUpdates


@contextmanager
def installed() -> Iterator[EndpointUpdates]:
    """UpdateEndpoint for the block; moto as released afterwards."""
    with endpoint_updates.INSTALL.applied(EndpointUpdates(), settle_seconds=0) as updates:
        yield updates


def endpoint(name: str, account: str = "123456789012", region: str = "us-east-1") -> FakeEndpoint:
    """moto's endpoint object, to read its variants or change ``endpoint_status``."""
    return sagemaker_backends[account][region].endpoints[name]


def set_status(name: str, status: str) -> None:
    endpoint(name).endpoint_status = status
