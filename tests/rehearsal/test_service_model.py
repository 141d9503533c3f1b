"""The strict request check against botocore's real service models (moto accepts more than AWS)."""

from __future__ import annotations

import datetime
import io
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.model import OperationModel
from moto import mock_aws

from rehearsal.moto_gaps import service_model
from rehearsal.moto_gaps.service_model import (
    StrictRequestError,
    checked_operations,
    compile_pattern,
    input_patterns,
    request_problems,
    reset_checked,
    strict_requests,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/serving-model-role"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{uuid.UUID(int=1)}"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:serving-alarms"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.16-cpu"
ENDPOINT_CONFIG_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/serving-cfg-1"

# Every operation the runtime code calls, with a request AWS accepts.
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("sagemaker", "CreateModel"): {
        "ModelName": "serving-model-20250101-abc",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataUrl": "s3://artifacts-bucket/models/1/model.tar.gz",
            "Mode": "SingleModel",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "artifact", "Value": "s3://artifacts-bucket/models/1/model.tar.gz"}],
    },
    ("sagemaker", "CreateEndpointConfig"): {
        "EndpointConfigName": "serving-cfg-1",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "serving-model-20250101-abc",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
        "KmsKeyId": KMS_KEY,
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://capture-bucket/data-capture",
            "KmsKeyId": KMS_KEY,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
        "Tags": [{"Key": "promotion", "Value": "2025-01-01T00:00:00Z"}],
    },
    ("sagemaker", "UpdateEndpoint"): {
        "EndpointName": "serving-endpoint",
        "EndpointConfigName": "serving-cfg-1",
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 300,
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                },
                "TerminationWaitInSeconds": 120,
                "MaximumExecutionTimeoutInSeconds": 1800,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "serving-5xx-errors"}]},
        },
    },
    ("sagemaker", "DescribeEndpoint"): {"EndpointName": "serving-endpoint"},
    ("sagemaker", "AddTags"): {
        "ResourceArn": ENDPOINT_CONFIG_ARN,
        "Tags": [{"Key": "submitted", "Value": "2025-01-01T00:00:00Z"}],
    },
    ("sagemaker", "ListTags"): {"ResourceArn": ENDPOINT_CONFIG_ARN, "MaxResults": 50},
    ("sagemaker", "DeleteModel"): {"ModelName": "serving-model-20250101-abc"},
    ("sagemaker", "DeleteEndpointConfig"): {"EndpointConfigName": "serving-cfg-1"},
    ("sagemaker", "ListModels"): {
        "NameContains": "serving-model",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    },
    ("sagemaker", "ListEndpointConfigs"): {
        "NameContains": "serving-cfg",
        "CreationTimeBefore": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        "NextToken": "token",
    },
    ("s3", "PutObject"): {
        "Bucket": "artifacts-bucket",
        "Key": "models/1/model.tar.gz",
        "Body": io.BytesIO(b"data"),
        "ContentType": "application/gzip",
        "ServerSideEncryption": "aws:kms",
        "Metadata": {"source": "training"},
    },
    ("s3", "CopyObject"): {
        "Bucket": "artifacts-bucket",
        "Key": "models/2/model.tar.gz",
        "CopySource": "artifacts-bucket/models/1/model.tar.gz",
        "MetadataDirective": "COPY",
    },
    ("s3", "HeadObject"): {"Bucket": "artifacts-bucket", "Key": "models/1/model.tar.gz"},
    ("s3", "GetObject"): {
        "Bucket": "artifacts-bucket",
        "Key": "models/1/model.tar.gz",
        "Range": "bytes=0-99",
    },
    ("s3", "DeleteObject"): {"Bucket": "artifacts-bucket", "Key": "models/1/model.tar.gz"},
    ("ssm", "PutParameter"): {
        "Name": "/serving/model-artifact",
        "Value": "s3://artifacts-bucket/models/1/model.tar.gz",
        "Type": "String",
        "Overwrite": True,
        "Description": "S3 URI of the model artifact the endpoint serves (set by promotion)",
    },
    ("ssm", "GetParameter"): {"Name": "/serving/model-artifact", "WithDecryption": False},
    ("sns", "Publish"): {
        "TopicArn": TOPIC,
        "Subject": "[serving] Endpoint serving-endpoint now serves serving-cfg-1",
        "Message": '{"event": "promotion_completed"}',
    },
    ("sagemaker-runtime", "InvokeEndpoint"): {
        "EndpointName": "serving-endpoint",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": b'{"instances": [[1.0, 2.0]]}',
        "InferenceId": str(uuid.UUID(int=7)),
    },
}


@cache
def operation(service: str, name: str) -> OperationModel:
    """botocore's own model of the operation (the loader caches the service JSON)."""
    return _session().get_service_model(service).operation_model(name)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def problems(service: str, name: str, **overrides: Any) -> list[str]:
    params = {**VALID[(service, name)], **overrides}
    return request_problems(operation(service, name), params)


def tags(value: str) -> list[dict[str, str]]:
    return [{"Key": "artifact", "Value": value}]


@pytest.mark.parametrize(("service", "name"), list(VALID), ids=lambda v: str(v))
def test_valid_requests_pass(service: str, name: str) -> None:
    assert request_problems(operation(service, name), VALID[(service, name)]) == []


def test_every_pattern_of_the_used_operations_compiles() -> None:
    patterns = set().union(*(input_patterns(operation(s, n)) for s, n in VALID))
    assert len(patterns) > 20
    for pattern in patterns:
        assert compile_pattern(pattern) is not None, pattern
        assert pattern not in service_model.UNCOMPILABLE_PATTERNS
    assert not (patterns & set(service_model.UNCOMPILABLE_PATTERNS))


def test_tag_value_pattern_is_a_full_match() -> None:
    found = problems("sagemaker", "CreateModel", Tags=tags("s3://b/k?version=1"))
    assert len(found) == 1
    assert found[0].startswith("CreateModel.Tags[0].Value: pattern: ")
    assert "s3://b/k?version=1" in found[0]
    assert problems("sagemaker", "CreateModel", Tags=tags("s3://b/k")) == []


def test_tag_value_max_length() -> None:
    assert problems("sagemaker", "CreateModel", Tags=tags("a" * 256)) == []
    found = problems("sagemaker", "CreateModel", Tags=tags("a" * 257))
    assert found == ["CreateModel.Tags[0].Value: max length: 257 is above 256"]


@pytest.mark.parametrize(
    ("inference_id", "rule"),
    [("x" * 65, "max length: 65 is above 64"), (" leading-space", "pattern: ")],
)
def test_inference_id_rejected(inference_id: str, rule: str) -> None:
    found = problems("sagemaker-runtime", "InvokeEndpoint", InferenceId=inference_id)
    assert len(found) == 1
    assert found[0].startswith(f"InvokeEndpoint.InferenceId: {rule}")


def test_inference_id_uuid_and_printable_ascii_pass() -> None:
    for value in (str(uuid.uuid4()), "x" * 64, "a b~!"):
        assert problems("sagemaker-runtime", "InvokeEndpoint", InferenceId=value) == []
    # \p{Print} is ASCII in Java; the trailing \z forbids a final newline too.
    assert problems("sagemaker-runtime", "InvokeEndpoint", InferenceId="caf\u00e9")
    assert problems("sagemaker-runtime", "InvokeEndpoint", InferenceId="abc\n")


def test_traffic_routing_type_enum() -> None:
    deployment = VALID[("sagemaker", "UpdateEndpoint")]["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    bad = {
        **deployment,
        "BlueGreenUpdatePolicy": {
            **deployment["BlueGreenUpdatePolicy"],
            "TrafficRoutingConfiguration": {**routing, "Type": "SOMETIMES"},
        },
    }
    found = problems("sagemaker", "UpdateEndpoint", DeploymentConfig=bad)
    assert len(found) == 1
    path = "UpdateEndpoint.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type"
    assert found[0].startswith(f"{path}: enum: 'SOMETIMES' is not one of ")
    assert "ALL_AT_ONCE" in found[0]


def test_missing_required_and_unknown_members() -> None:
    params = dict(VALID[("sagemaker", "CreateEndpointConfig")])
    del params["ProductionVariants"]
    params["ProductionVariant"] = []
    found = request_problems(operation("sagemaker", "CreateEndpointConfig"), params)
    assert "CreateEndpointConfig.ProductionVariants: required: missing required member" in found
    assert any(
        p.startswith("CreateEndpointConfig.ProductionVariant: unknown member: ") for p in found
    )
    found = problems("sagemaker", "AddTags", Tags=[{"Key": "k"}])
    assert found == ["AddTags.Tags[0].Value: required: missing required member"]


def test_endpoint_name_with_underscore() -> None:
    found = problems("sagemaker", "DescribeEndpoint", EndpointName="serving_endpoint")
    assert len(found) == 1
    assert found[0].startswith("DescribeEndpoint.EndpointName: pattern: 'serving_endpoint'")
    found = problems("sagemaker-runtime", "InvokeEndpoint", EndpointName="serving_endpoint")
    assert found[0].startswith("InvokeEndpoint.EndpointName: pattern: ")


def test_nested_list_and_map_paths() -> None:
    container = dict(VALID[("sagemaker", "CreateModel")]["PrimaryContainer"])
    container["Environment"] = {"GOOD": "x", "BAD KEY": "y", "LONG": "v" * 1025}
    found = problems("sagemaker", "CreateModel", PrimaryContainer=container)
    assert "CreateModel.PrimaryContainer.Environment key 'BAD KEY': pattern: " in "\n".join(found)
    assert "CreateModel.PrimaryContainer.Environment['LONG']: max length: 1025 is above 1024" in (
        found
    )
    assert len(found) == 2

    variants = [
        dict(VALID[("sagemaker", "CreateEndpointConfig")]["ProductionVariants"][0]),
        {"VariantName": "Second", "InitialInstanceCount": "2", "InitialVariantWeight": -1},
    ]
    found = problems("sagemaker", "CreateEndpointConfig", ProductionVariants=variants)
    assert "CreateEndpointConfig.ProductionVariants[1].InitialInstanceCount: type: got str, " in (
        "\n".join(found)
    )
    assert "CreateEndpointConfig.ProductionVariants[1].InitialVariantWeight: min value: -1 is " in (
        "\n".join(found)
    )
    assert all(p.startswith("CreateEndpointConfig.ProductionVariants[1].") for p in found)


def test_other_rules() -> None:
    assert problems("sagemaker", "ListModels", MaxResults=101) == [
        "ListModels.MaxResults: max value: 101 is above 100"
    ]
    assert problems("sagemaker", "ListModels", MaxResults=True)[0].startswith(
        "ListModels.MaxResults: type: got bool"
    )
    assert problems("sagemaker", "CreateModel", Tags=[]) == []
    found = problems("sagemaker", "CreateModel", Tags=tags("v") * 51)
    assert found == ["CreateModel.Tags: max items: 51 is above 50"]
    found = problems("sagemaker-runtime", "InvokeEndpoint", Body=b"x" * (6 * 1024 * 1024 + 1))
    assert found == ["InvokeEndpoint.Body: max length (bytes): 6291457 is above 6291456"]
    found = problems("sagemaker", "ListEndpointConfigs", CreationTimeBefore="yesterday")
    assert found[0].startswith("ListEndpointConfigs.CreationTimeBefore: type: ")
    found = problems("ssm", "PutParameter", Type="Text")
    assert found[0].startswith("PutParameter.Type: enum: 'Text'")
    found = problems("s3", "GetObject", Key="")
    assert found == ["GetObject.Key: min length: 0 is below 1"]


@pytest.fixture
def not_installed() -> Iterator[None]:
    """The suite installs the checks for every test (tests/conftest.py): step outside it."""
    with service_model.suspended():
        yield


@pytest.mark.usefixtures("not_installed")
def test_installed_clients_check_every_request() -> None:
    reset_checked()
    assert not service_model.installed()
    with mock_aws(), strict_requests():
        assert service_model.installed()
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with pytest.raises(StrictRequestError) as raised:
            sagemaker.create_model(
                **{**VALID[("sagemaker", "CreateModel")], "Tags": tags("s3://b/k?version=1")}
            )
        assert raised.value.operation == "sagemaker.CreateModel"
        assert raised.value.problems[0].startswith("CreateModel.Tags[0].Value: pattern: ")
        assert sagemaker.list_models()["Models"] == []  # the bad request never reached moto

        sagemaker.create_model(**VALID[("sagemaker", "CreateModel")])
        assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [
            "serving-model-20250101-abc"
        ]

        ssm = boto3.Session(region_name=REGION).client("ssm")
        ssm.put_parameter(**VALID[("ssm", "PutParameter")])
        with pytest.raises(StrictRequestError):
            ssm.put_parameter(**{**VALID[("ssm", "PutParameter")], "Type": "Text"})

        # A client with its own endpoint is checked before anything is sent.
        local = boto3.client(
            "sagemaker-runtime", region_name=REGION, endpoint_url="http://127.0.0.1:9"
        )
        with pytest.raises(StrictRequestError, match=r"InvokeEndpoint\.InferenceId"):
            local.invoke_endpoint(
                **{**VALID[("sagemaker-runtime", "InvokeEndpoint")], "InferenceId": " x"}
            )
    assert not service_model.installed()
    assert checked_operations() == {
        "sagemaker.CreateModel": 2,
        "sagemaker.ListModels": 2,
        "ssm.PutParameter": 2,
        "sagemaker-runtime.InvokeEndpoint": 1,
    }

    # Uninstalled: the same client and new ones send the request (and moto accepts it).
    with mock_aws():
        bad = {**VALID[("sagemaker", "CreateModel")], "Tags": tags("s3://b/k?version=1")}
        sagemaker.create_model(**bad)
        boto3.client("sagemaker", region_name=REGION).create_model(
            **{**bad, "ModelName": "another-model"}
        )
    assert checked_operations()["sagemaker.CreateModel"] == 2


@pytest.mark.usefixtures("not_installed")
def test_install_is_idempotent_and_uninstall_restores() -> None:
    from botocore.client import ClientCreator

    original = ClientCreator.create_client
    service_model.install()
    try:
        patched = ClientCreator.create_client
        service_model.install()
        assert ClientCreator.create_client is patched is not original
        client = boto3.client("ssm", region_name=REGION)
        service_model.register(client)  # idempotent per client too
        with pytest.raises(StrictRequestError) as raised:
            client.get_parameter(Name="")
        assert len(raised.value.problems) == 1
    finally:
        service_model.uninstall()
    service_model.uninstall()
    assert ClientCreator.create_client is original


def test_journal_collects_checks_from_another_process(tmp_path: Any) -> None:
    """The rehearsal's Lambda workers journal their checks; the rehearsal reads them back."""
    journal = tmp_path / "requests.jsonl"
    with service_model.suspended():
        service_model.install(journal)
        try:
            client = boto3.client("ssm", region_name=REGION)
            with pytest.raises(StrictRequestError):
                client.get_parameter(Name="")
        finally:
            service_model.uninstall()
    counts, found = service_model.read_journal(journal)
    assert counts == {"ssm.GetParameter": 1}
    assert found == ["GetParameter.Name: min length: 0 is below 1"]


def test_the_suite_checks_every_request() -> None:
    """tests/conftest.py installs the checks for the whole session."""
    assert service_model.installed()
    with pytest.raises(StrictRequestError, match=r"CreateModel\.Tags\[0\]\.Value: pattern"):
        boto3.client("sagemaker", region_name=REGION).create_model(
            **{**VALID[("sagemaker", "CreateModel")], "Tags": tags("s3://b/k?version=1")}
        )
