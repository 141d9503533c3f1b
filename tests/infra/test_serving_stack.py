"""The endpoint, its encryption, data capture and autoscaling, per environment."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.synth_cache import synth


@pytest.fixture(scope="module")
def serving() -> Template:
    return synth("dev").serving


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == kind]
    return resource["Properties"]


def test_endpoint_config_encrypts_the_volume_with_the_key(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"KmsKeyId": {"Fn::ImportValue": Match.string_like_regexp("EncryptionKey")}},
    )


def test_endpoint_config_captures_requests_and_responses() -> None:
    config = only(synth("dev").serving_json, "AWS::SageMaker::EndpointConfig")
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert "KmsKeyId" in capture
    assert json.dumps(capture["DestinationS3Uri"]).endswith('"/data-capture/"]]}')


def test_sampling_percentage_comes_from_configuration() -> None:
    config = only(synth("prod").serving_json, "AWS::SageMaker::EndpointConfig")
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20


def test_variant_instance_type_and_count_come_from_configuration() -> None:
    dev = only(synth("dev").serving_json, "AWS::SageMaker::EndpointConfig")
    prod = only(synth("prod").serving_json, "AWS::SageMaker::EndpointConfig")
    assert (
        dev["ProductionVariants"][0]["InstanceType"],
        dev["ProductionVariants"][0]["InitialInstanceCount"],
    ) == ("ml.m5.large", 1)
    assert (
        prod["ProductionVariants"][0]["InstanceType"],
        prod["ProductionVariants"][0]["InitialInstanceCount"],
    ) == ("ml.c5.xlarge", 2)


def test_model_serves_the_tensorflow_serving_image_of_the_deploy_region() -> None:
    model = only(synth("dev").serving_json, "AWS::SageMaker::Model")
    image = json.dumps(model["PrimaryContainer"]["Image"])
    assert '{"Fn::FindInMap": [' in image and '{"Ref": "AWS::Region"}, "account"]' in image
    assert image.endswith('"/tensorflow-inference:2.20-cpu-py312"]]}')
    assert model["EnableNetworkIsolation"] is True


def test_model_artifact_is_resolved_from_ssm_at_deploy_time() -> None:
    template = synth("dev").serving_json
    model = only(template, "AWS::SageMaker::Model")
    ref = model["PrimaryContainer"]["ModelDataUrl"]["Ref"]
    assert template["Parameters"][ref] == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/mlserving/dev/model-data-url",
    }


def test_endpoint_is_named_after_its_fleet(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::SageMaker::Endpoint", {"EndpointName": "mlserving-dev-m5-large"}
    )
    serving.has_output("EndpointName", {"Value": "mlserving-dev-m5-large"})


def test_scalable_target_bounds_come_from_configuration(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 1,
            "MaxCapacity": 2,
            "ResourceId": "endpoint/mlserving-dev-m5-large/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ServiceNamespace": "sagemaker",
            "RoleARN": {
                "Fn::Join": [
                    "",
                    Match.array_with(
                        [
                            Match.string_like_regexp(
                                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                            )
                        ]
                    ),
                ]
            },
        },
    )
    synth("prod").serving.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 8}
    )


def test_target_tracking_on_invocations_per_instance(serving: Template) -> None:
    from serving_config import load_settings

    scaling = load_settings("dev").scaling
    assert scaling is not None  # the target comes from configuration (measured: README)
    serving.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "TargetValue": scaling.target_invocations_per_instance,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )


def test_scaling_waits_for_the_endpoint() -> None:
    template = synth("dev").serving_json
    (endpoint_id,) = [
        k for k, v in template["Resources"].items() if v["Type"] == "AWS::SageMaker::Endpoint"
    ]
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget":
            assert endpoint_id in resource["DependsOn"]


def test_serverless_environment_has_no_fleet_to_scale_and_encrypts_the_image_copy() -> None:
    template = synth("lowtraffic").serving_json
    config = only(template, "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    assert "InstanceType" not in config["ProductionVariants"][0]
    # Serverless: the key encrypts SageMaker's copy of the container image (no volume).
    assert "EncryptionKey" in json.dumps(config["KmsKeyId"])
    assert "DataCaptureConfig" not in config
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::ApplicationAutoScaling::ScalableTarget" not in kinds


def test_serving_stack_reads_the_data_stack_through_imports() -> None:
    text = json.dumps(synth("dev").serving_json)
    assert "Fn::ImportValue" in text
    assert "Fn::GetStackOutput" not in text


def test_the_deployer_role_may_call_only_post_predict_of_this_api() -> None:
    """A deployment's prediction check runs as the deployer role (the pipeline's step assumes
    it); the grant is a policy of the serving stack, so the data stack depends on nothing."""
    template = synth("dev").serving_json
    (policy,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and "OperatorsDeployer" in json.dumps(r["Properties"])
    ]
    (role,) = policy["Roles"]
    assert role["Fn::ImportValue"].startswith("mlserving-dev-data:")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    parts = statement["Resource"]["Fn::Join"][1]
    api_ref, stage_ref = [p["Ref"] for p in parts if isinstance(p, dict) and "Ref" in p][-2:]
    assert template["Resources"][api_ref]["Type"] == "AWS::ApiGateway::RestApi"
    assert template["Resources"][stage_ref]["Type"] == "AWS::ApiGateway::Stage"
    assert parts[-1] == "/POST/predict"


def test_the_scaling_policy_is_named_after_the_endpoint(serving: Template) -> None:
    """Not after the construct path, which a pipeline stage would change."""
    serving.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"PolicyName": "mlserving-dev-m5-large-invocations-per-instance"},
    )
