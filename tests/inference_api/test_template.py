"""The front door in the synthesized serving stack (dev, and prod where config differs)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from serving_config import load_settings
from tests.synth_cache import synth


@pytest.fixture(scope="module")
def dev() -> Any:
    return synth("dev")


def _one(template: Template, kind: str, props: dict[str, Any] | None = None) -> tuple[str, Any]:
    found = template.find_resources(kind, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {kind}, found {list(found)}"
    return next(iter(found.items()))


def _function(template: Template) -> tuple[str, dict[str, Any]]:
    """The inference function (other functions share the stack)."""
    name, resource = _one(
        template,
        "AWS::Lambda::Function",
        {"FunctionName": Match.string_like_regexp(r"-inference$")},
    )
    return name, resource["Properties"]


def test_predict_is_post_only_and_iam_authorized(dev: Any) -> None:
    methods = dev.serving.find_resources("AWS::ApiGateway::Method")
    assert methods, "no API methods"
    assert {m["Properties"]["AuthorizationType"] for m in methods.values()} == {"AWS_IAM"}
    assert [m["Properties"]["HttpMethod"] for m in methods.values()] == ["POST"]
    dev.serving.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "predict"})


def test_stage_throttles_logs_and_traces_from_configuration(dev: Any) -> None:
    api = load_settings("dev").api
    dev.serving.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(
                    r"\$context\.requestId.*\$context\.identity\.userArn"
                ),
            },
            "MethodSettings": [
                Match.object_like(
                    {
                        "ThrottlingRateLimit": api.throttle_rate_limit,
                        "ThrottlingBurstLimit": api.throttle_burst_limit,
                        "LoggingLevel": api.execution_log_level,
                        "DataTraceEnabled": False,
                        "HttpMethod": "*",
                        "ResourcePath": "/*",
                    }
                )
            ],
        },
    )


def test_request_bodies_are_validated_and_rejections_are_json(dev: Any) -> None:
    validator, _ = _one(
        dev.serving,
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )
    _, method = _one(dev.serving, "AWS::ApiGateway::Method")
    assert method["Properties"]["RequestValidatorId"] == {"Ref": validator}
    assert "application/json" in method["Properties"]["RequestModels"]
    _, model = _one(dev.serving, "AWS::ApiGateway::Model")
    assert model["Properties"]["Schema"]["required"] == ["instances"]
    dev.serving.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "BAD_REQUEST_BODY",
            "ResponseTemplates": {
                "application/json": Match.string_like_regexp("validationErrorString")
            },
        },
    )


def test_function_runtime_tracing_concurrency_and_timeout(dev: Any) -> None:
    api = load_settings("dev").api
    _, fn = _function(dev.serving)
    assert fn["Runtime"] == "python3.14"
    assert fn["TracingConfig"] == {"Mode": "Active"}
    # dev reserves nothing: a new account's quota may be 10, all of it unreservable.
    assert api.reserved_concurrency is None and "ReservedConcurrentExecutions" not in fn
    assert fn["MemorySize"] == api.function_memory_mb
    # The function outlives its SageMaker client's worst case (attempts, timeouts, backoff).
    env = fn["Environment"]["Variables"]
    attempts = int(env["INVOKE_MAX_ATTEMPTS"])
    connect, read = float(env["INVOKE_CONNECT_TIMEOUT_S"]), float(env["INVOKE_READ_TIMEOUT_S"])
    worst = attempts * (connect + read) + sum(min(2**i, 20) + 5 for i in range(attempts - 1))
    assert worst < fn["Timeout"] <= 29
    assert fn["Timeout"] == api.function_timeout_s


def test_function_environment_comes_from_config_and_the_endpoint(dev: Any) -> None:
    settings = load_settings("dev")
    _, fn = _function(dev.serving)
    _, endpoint = _one(dev.serving, "AWS::SageMaker::Endpoint")
    env = fn["Environment"]["Variables"]
    assert env["ENDPOINT_NAME"] == endpoint["Properties"]["EndpointName"]
    assert env["FEATURE_COUNT"] == str(settings.model.feature_count) == "30"
    assert env["MAX_ROWS"] == str(settings.api.max_rows)
    assert env["MAX_PAYLOAD_BYTES"] == str(settings.api.max_payload_bytes)


def test_powertools_layer_resolves_per_region_from_the_public_parameter(dev: Any) -> None:
    _, fn = _function(dev.serving)
    (layer,) = fn["Layers"]
    parameter = dev.serving_json["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    arch = fn.get("Architectures", ["x86_64"])[0]
    version = load_settings("dev").api.powertools_version
    assert parameter["Default"] == f"/aws/service/powertools/python/{arch}/python3.14/{version}"


def test_log_groups_have_retention_and_the_data_key(dev: Any) -> None:
    days = load_settings("dev").api.log_retention_days
    _, fn = _function(dev.serving)
    fn_logs = fn["LoggingConfig"]["LogGroup"]["Ref"]
    (stage,) = dev.serving.find_resources("AWS::ApiGateway::Stage").values()
    destination = json.dumps(stage["Properties"]["AccessLogSetting"]["DestinationArn"])
    groups = dev.serving.find_resources("AWS::Logs::LogGroup")
    (access_logs,) = [name for name in groups if f'"{name}"' in destination]
    for name in (fn_logs, access_logs):
        assert groups[name]["Properties"]["RetentionInDays"] == days
        assert "KmsKeyId" in groups[name]["Properties"]


def _role_statements(template: Template, role: str) -> list[dict[str, Any]]:
    statements = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_function_may_invoke_only_this_endpoint(dev: Any) -> None:
    _, fn = _function(dev.serving)
    role = fn["Role"]["Fn::GetAtt"][0]
    role_props = dev.serving.find_resources("AWS::IAM::Role")[role]["Properties"]
    assert role_props["RoleName"] == "mlserving-dev-inference-fn"  # the key trusts <prefix>-*
    assert "ManagedPolicyArns" not in role_props and "Policies" not in role_props
    endpoint, _ = _one(dev.serving, "AWS::SageMaker::Endpoint")
    statements = _role_statements(dev.serving, role)
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert [a for a in actions if a.startswith("sagemaker:")] == ["sagemaker:InvokeEndpoint"]
    (invoke,) = [s for s in statements if s["Action"] == "sagemaker:InvokeEndpoint"]
    assert invoke["Resource"] == {"Ref": endpoint}
    # Beyond the endpoint: only its own logs and X-Ray traces.
    assert set(actions) == {
        "sagemaker:InvokeEndpoint",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for s in statements:
        if s["Resource"] == "*":
            assert all(a.startswith("xray:") for a in s["Action"]), s
    assert "*" not in actions


def test_only_the_api_stage_method_may_invoke_the_function(dev: Any) -> None:
    permissions = dev.serving.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "apigateway.amazonaws.com"}}
    )
    assert len(permissions) == 1
    (permission,) = permissions.values()
    source = json.dumps(permission["Properties"]["SourceArn"])
    assert "/POST/predict" in source and "test-invoke-stage" not in source


def test_outputs_name_the_url_and_the_function(dev: Any) -> None:
    outputs = dev.serving_json["Outputs"]
    assert "InferenceApiUrl" in outputs and "InferenceFunctionName" in outputs
    assert "predict" in json.dumps(outputs["InferenceApiUrl"]["Value"])


def test_prod_takes_its_own_limits_from_its_yaml() -> None:
    prod = synth("prod")
    api = load_settings("prod").api
    _, fn = _function(prod.serving)
    assert fn["ReservedConcurrentExecutions"] == api.reserved_concurrency == 50
    prod.serving.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": [
                Match.object_like({"ThrottlingRateLimit": 200, "ThrottlingBurstLimit": 400})
            ]
        },
    )
    retention = {
        g["Properties"].get("RetentionInDays")
        for g in prod.serving.find_resources("AWS::Logs::LogGroup").values()
    }
    assert 365 == api.log_retention_days in retention


def test_function_waits_for_its_policy_but_states_no_redundant_role_dependency(dev: Any) -> None:
    name, fn = _function(dev.serving)
    role = fn["Role"]["Fn::GetAtt"][0]
    depends_on = dev.serving_json["Resources"][name]["DependsOn"]
    assert role not in depends_on  # already implied by GetAtt (cfn-lint W3005)
    policies = dev.serving.find_resources("AWS::IAM::Policy")
    assert [p for p in depends_on if {"Ref": role} in policies[p]["Properties"]["Roles"]]
