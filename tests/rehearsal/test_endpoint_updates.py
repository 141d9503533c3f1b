"""The UpdateEndpoint emulator the rehearsal and the promotion tests share: SageMaker's
documented semantics, recorded in its journal, and moto as released once it is undone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rehearsal.moto_gaps import endpoint_updates
from rehearsal.moto_gaps.endpoint_updates import EndpointUpdates

VARIANT = {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large"}
CANARY = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 60,
        }
    }
}


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, EndpointUpdates]]:
    installed = endpoint_updates.INSTALL.applied(EndpointUpdates(), settle_seconds=0)
    with installed as updates, mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/k"},
        )
        for name, count in (("c1", 1), ("c2", 1), ("c3", 5)):
            client.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[{**VARIANT, "InitialInstanceCount": count}],
            )
        client.create_endpoint(EndpointName="e", EndpointConfigName="c1")
        yield client, updates


def grow_to(client: Any, count: int) -> None:
    """What Application Auto Scaling does when it scales out."""
    client.update_endpoint_weights_and_capacities(
        EndpointName="e",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": count}],
    )


def instances(client: Any) -> int:
    variant = client.describe_endpoint(EndpointName="e")["ProductionVariants"][0]
    return int(variant["DesiredInstanceCount"])


def test_the_new_config_serves_and_the_request_is_journaled(sagemaker) -> None:
    client, updates = sagemaker
    client.update_endpoint(EndpointName="e", EndpointConfigName="c2", DeploymentConfig=CANARY)
    described = client.describe_endpoint(EndpointName="e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "c2")
    (request,) = updates.of("e")
    assert request.deployment_config == CANARY
    assert updates.deployment_configs("e") == [CANARY]
    assert request.retain_all_variant_properties is False


def test_retained_variant_properties_keep_the_autoscaled_fleet(sagemaker) -> None:
    client, updates = sagemaker
    grow_to(client, 3)
    client.update_endpoint(EndpointName="e", EndpointConfigName="c3")
    assert instances(client) == 5  # the default: the new config's count
    grow_to(client, 3)
    retained = {"RetainAllVariantProperties": True}
    client.update_endpoint(EndpointName="e", EndpointConfigName="c2", **retained)
    assert instances(client) == 3
    client.update_endpoint(
        EndpointName="e",
        EndpointConfigName="c3",
        **retained,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    assert instances(client) == 5
    assert updates.last("e") is not None
    assert updates.last("e").excluded == ("DesiredInstanceCount",)  # type: ignore[union-attr]


def test_refusals_follow_sagemaker(sagemaker) -> None:
    client, updates = sagemaker
    with pytest.raises(client.exceptions.ClientError, match="already uses"):
        client.update_endpoint(EndpointName="e", EndpointConfigName="c1")
    with pytest.raises(client.exceptions.ClientError, match="Could not find endpoint"):
        client.update_endpoint(EndpointName="missing", EndpointConfigName="c2")
    with pytest.raises(client.exceptions.ClientError, match="Could not find endpoint config"):
        client.update_endpoint(EndpointName="e", EndpointConfigName="absent")
    assert client.describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService"
    assert updates.of("e") == []


def test_undone_moto_has_no_update_endpoint() -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    with endpoint_updates.INSTALL.applied(EndpointUpdates(), settle_seconds=0):
        assert "update_endpoint" in vars(SageMakerResponse)
    assert "update_endpoint" not in vars(SageMakerResponse)
    assert "update_endpoint" not in vars(SageMakerModelBackend)
    assert not endpoint_updates.INSTALL.installed
