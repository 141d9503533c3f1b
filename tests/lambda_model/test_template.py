"""The lambda kind's serving stack as synthesized (``smallmodel``, one shared synth): the model
function and its layer, the ``live`` alias with provisioned concurrency and its schedules,
CodeDeploy's group rolled back on the alias's alarms, the API integrating the alias, no
SageMaker hosting, least-privilege IAM and the outputs. cdk-nag runs on the synth (an
unacknowledged finding fails it); cfn-lint, checkov and the preconditions run over every
environment in tests/infra."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_constructs.lambda_model.construct import REQUIREMENTS
from ml_constructs.lambda_model.dependencies import (
    TargetPlatform,
    cache_key,
    installed_requirements,
)
from tests.synth_cache import Synthesized, synth

ENV = "smallmodel"
NAME = "mlserving-smallmodel-model"


@pytest.fixture(scope="module")
def synthesized() -> Synthesized:
    return synth(ENV)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = of_type(template, kind).items()
    return item


def model_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (item,) = [
        (k, r)
        for k, r in of_type(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("FunctionName") == NAME
    ]
    return item


def test_no_sagemaker_hosting_is_created(synthesized: Synthesized) -> None:
    types = {r["Type"] for r in synthesized.serving_json["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::SageMaker::")}
    assert "AWS::ApplicationAutoScaling::ScalingPolicy" not in types  # no endpoint scaling
    alarms = [
        r["Properties"]
        for r in of_type(synthesized.serving_json, "AWS::CloudWatch::Alarm").values()
    ]
    assert not [a for a in alarms if a.get("Namespace") == "AWS/SageMaker"]


def test_the_function_is_configured_from_the_environment(synthesized: Synthesized) -> None:
    _, function = model_function(synthesized.serving_json)
    props = function["Properties"]
    assert props["Architectures"] == ["arm64"] and props["Runtime"] == "python3.13"
    assert (props["MemorySize"], props["Timeout"], props["ReservedConcurrentExecutions"]) == (
        1024,
        10,
        20,
    )
    assert props["Handler"] == "lambda_model.handler.lambda_handler"
    variables = props["Environment"]["Variables"]
    assert variables["ENDPOINT_NAME"] == NAME and variables["VARIANT_NAME"] == "AllTraffic"
    assert (variables["CAPTURE_PERCENT"], variables["CAPTURE_PREFIX"]) == ("20", "data-capture/")
    assert variables["CAPTURE_MAX_RECORDS"] == "10" and variables["FEATURE_COUNT"] == "30"
    # The serving model is whatever the SSM parameter names at deploy time (as the endpoint's).
    parameter = variables["MODEL_DATA_URL"]["Ref"]
    declared = synthesized.serving_json["Parameters"][parameter]
    assert declared["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert declared["Default"] == "/mlserving/smallmodel/model-data-url"
    (layer,) = props["Layers"]
    _, dependencies = only(synthesized.serving_json, "AWS::Lambda::LayerVersion")
    assert layer == {
        "Ref": next(iter(of_type(synthesized.serving_json, "AWS::Lambda::LayerVersion")))
    }
    assert dependencies["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert dependencies["Properties"]["CompatibleRuntimes"] == ["python3.13"]


def test_the_layer_holds_the_requirements_for_the_architecture(synthesized: Synthesized) -> None:
    """The synth's layer folder (cached: the same call returns it without pip)."""
    platform = TargetPlatform("arm64")
    folder = installed_requirements(REQUIREMENTS, platform)
    assert folder.name == cache_key(REQUIREMENTS, platform)
    installed = folder / "python"
    assert (installed / "onnxruntime").is_dir() and (installed / "numpy").is_dir()
    wheels = {p.name.split("-")[0] for p in installed.glob("*.dist-info")}
    assert {"onnxruntime", "numpy"} <= wheels
    libs = list((installed / "onnxruntime" / "capi").glob("onnxruntime_pybind11_state*.so"))
    assert libs and all("aarch64" in p.name or "cpython-313" in p.name for p in libs)
    size = sum(p.stat().st_size for p in installed.rglob("*") if p.is_file())
    assert size < 250 * 1024 * 1024  # Lambda's unzipped limit for function and layers


def test_the_alias_has_provisioned_concurrency_and_its_schedules(synthesized: Synthesized) -> None:
    template = synthesized.serving_json
    alias_id, alias = only(template, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {
        "ProvisionedConcurrentExecutions": 1
    }
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert props["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert (props["MinCapacity"], props["MaxCapacity"]) == (1, 4)
    assert [
        (a["ScheduledActionName"], a["Schedule"], a["Timezone"], a["ScalableTargetAction"])
        for a in props["ScheduledActions"]
    ] == [
        (
            "business-hours",
            "cron(0 8 ? * MON-FRI *)",
            "Europe/Berlin",
            {"MaxCapacity": 4, "MinCapacity": 4},
        ),
        (
            "evenings",
            "cron(0 19 ? * MON-FRI *)",
            "Europe/Berlin",
            {"MaxCapacity": 1, "MinCapacity": 1},
        ),
    ]
    assert alias_id in json.dumps(props["ResourceId"])


def test_codedeploy_shifts_the_alias_and_rolls_back_on_its_alarms(synthesized: Synthesized) -> None:
    template = synthesized.serving_json
    _, group = only(template, "AWS::CodeDeploy::DeploymentGroup")
    props = group["Properties"]
    assert props["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert props["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarms = {a["Name"]["Ref"] for a in props["AlarmConfiguration"]["Alarms"]}
    names = {
        k: r["Properties"]["AlarmName"]
        for k, r in of_type(template, "AWS::CloudWatch::Alarm").items()
    }
    assert {names[a] for a in alarms} == {
        f"mlserving-smallmodel-{n}"
        for n in ("function-errors", "function-throttles", "function-duration-p99")
    }
    for key, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        if key in alarms:  # the alias's metrics: FunctionName and Resource (fn:live)
            dimensions = {d["Name"] for d in alarm["Properties"]["Dimensions"]}
            assert dimensions == {"FunctionName", "Resource"}, names[key]


def test_the_lambda_alarms(synthesized: Synthesized) -> None:
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in of_type(synthesized.serving_json, "AWS::CloudWatch::Alarm").values()
    }
    concurrency = alarms["mlserving-smallmodel-function-concurrency"]
    assert (concurrency["MetricName"], concurrency["Threshold"]) == ("ConcurrentExecutions", 16)
    spillover = alarms["mlserving-smallmodel-provisioned-spillover"]
    assert spillover["MetricName"] == "ProvisionedConcurrencySpilloverInvocations"
    duration = alarms["mlserving-smallmodel-function-duration-p99"]
    assert duration["Threshold"] == 10 * 1000 * 0.8  # p99 near the 10 s timeout


def test_the_api_invokes_the_alias_with_iam_and_validation(synthesized: Synthesized) -> None:
    template = synthesized.serving_json
    alias_id, _ = only(template, "AWS::Lambda::Alias")
    _, method = only(template, "AWS::ApiGateway::Method")
    props = method["Properties"]
    assert props["AuthorizationType"] == "AWS_IAM" and "RequestValidatorId" in props
    assert {"Ref": alias_id} in props["Integration"]["Uri"]["Fn::Join"][1]
    _, permission = only(template, "AWS::Lambda::Permission")
    assert permission["Properties"]["FunctionName"] == {"Ref": alias_id}
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    _, stage = only(template, "AWS::ApiGateway::Stage")
    assert "AccessLogSetting" in stage["Properties"] and stage["Properties"]["TracingEnabled"]


def test_the_model_role_is_least_privilege(synthesized: Synthesized) -> None:
    template = synthesized.serving_json
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for k, r in of_type(template, "AWS::IAM::Policy").items()
        if k.startswith("LambdaModelFunctionRole")
    ]
    granted = {
        (s.get("Sid"), json.dumps(s["Action"]), json.dumps(s["Resource"])): s
        for s in policy["Statement"]
    }
    actions = sorted(json.dumps(s["Action"]) for s in policy["Statement"])
    assert actions == sorted(
        [
            '"s3:GetObject"',
            '"s3:PutObject"',
            '["kms:Decrypt", "kms:GenerateDataKey"]',
            '["logs:CreateLogStream", "logs:PutLogEvents"]',
            '["xray:PutTelemetryRecords", "xray:PutTraceSegments"]',
        ]
    )
    for (sid, _, resource), statement in granted.items():
        if sid == "ReadModels":
            assert resource.endswith('"/models/*"]]}')
        if sid == "WriteOwnCapture":
            assert resource.endswith(f'"/data-capture/{NAME}/*"]]}}')
        if sid == "ObjectsEncryption":
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
    _, role = next(
        (k, r)
        for k, r in of_type(template, "AWS::IAM::Role").items()
        if k.startswith("LambdaModelFunctionRole")
    )
    assert role["Properties"]["RoleName"] == "mlserving-smallmodel-model-fn"


def test_the_outputs(synthesized: Synthesized) -> None:
    outputs = set(synthesized.serving_json["Outputs"])
    assert {
        "InferenceApiUrl",
        "InferenceFunctionName",
        "ModelAliasArn",
        "DeploymentGroupName",
        "AlarmTopicArn",
        "DashboardName",
    } <= outputs
    assert "EndpointName" not in outputs
    assert "PromotionQueueUrl" in outputs  # uploads and approvals promote into the alias


def test_promotions_target_the_alias_through_its_deployment_group(
    synthesized: Synthesized,
) -> None:
    """The promotion function is configured for the Lambda target (no endpoint variables) and
    settles on CodeDeploy's state changes of this group, not SageMaker's endpoint events."""
    template = synthesized.serving_json
    (promotion,) = [
        r["Properties"]
        for r in of_type(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "mlserving-smallmodel-model-promotion"
    ]
    variables = promotion["Environment"]["Variables"]
    assert {"LAMBDA_FUNCTION_NAME", "LAMBDA_ALIAS_NAME", "CODEDEPLOY_APPLICATION"} <= set(variables)
    assert variables["ENDPOINT_NAME"] == "mlserving-smallmodel-model"  # the model's name
    assert "PRODUCTION_VARIANT" not in variables and "IMAGE_URI" not in variables
    patterns = [
        r["Properties"]["EventPattern"] for r in of_type(template, "AWS::Events::Rule").values()
    ]
    assert any(p.get("source") == ["aws.codedeploy"] for p in patterns)
    assert not any(
        p.get("source") == ["aws.sagemaker"] and "detail" in p and "EndpointName" in p["detail"]
        for p in patterns
    )


def test_the_drift_monitor_reads_the_functions_capture(synthesized: Synthesized) -> None:
    (monitor,) = [
        r["Properties"]
        for r in of_type(synthesized.serving_json, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "mlserving-smallmodel-drift-monitor"
    ]
    variables = monitor["Environment"]["Variables"]
    assert variables["CAPTURE_PREFIX"] == f"data-capture/{NAME}/"
    assert variables["ENDPOINT_NAME"] == NAME


def test_in_a_private_network_the_function_runs_in_the_vpc() -> None:
    """The lambda kind supports the VPC: with ``network.mode: create`` the model function is
    placed in the private subnets (and the preconditions and cdk-nag pass on the synth)."""
    from tests.synth_cache import variant_dir

    private = synth(ENV, variant_dir(ENV, {"network": {"mode": "create"}}, "vpc"))
    _, function = model_function(private.serving_json)
    vpc_config = function["Properties"]["VpcConfig"]
    assert len(vpc_config["SubnetIds"]) == 2 and vpc_config["SecurityGroupIds"]
    # The promotion function calls Lambda and CodeDeploy from inside: their interface endpoints
    # (the synth's VpcCallsHaveEndpoints rule fails without them).
    services = {
        str(r["Properties"]["ServiceName"]).rsplit(".", 1)[-1]
        for r in of_type(private.data_json, "AWS::EC2::VPCEndpoint").values()
        if isinstance(r["Properties"]["ServiceName"], str)
    } | {
        str(r["Properties"]["ServiceName"]["Fn::Join"][1][-1]).rsplit(".", 1)[-1]
        for r in of_type(private.data_json, "AWS::EC2::VPCEndpoint").values()
        if not isinstance(r["Properties"]["ServiceName"], str)
    }
    assert {"lambda", "codedeploy"} <= services, services
