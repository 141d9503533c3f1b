"""The synthesized async environment (batch.yaml): AsyncInferenceConfig with KMS and SNS, a
scalable target with minimum 0, the backlog policy and the wake-from-zero step policy; the
API's async routes and least-privilege roles. cdk-nag, cfn-lint and checkov run on it with
every environment (tests/infra/test_scanners.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serving_config import load_settings
from tests.synth_cache import synth

BUCKET_ARN = "ExportsOutputFnGetAttStorageArtifacts"
KEY_ARN = "ExportsOutputFnGetAttEncryptionKey"


@pytest.fixture(scope="module")
def batch() -> Any:
    return synth("batch")


def _resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = _resources(template, kind)
    assert len(found) == 1, f"expected one {kind}: {list(found)}"
    logical, resource = next(iter(found.items()))
    return logical, resource["Properties"]


def _joined(value: Any) -> str:
    """A Fn::Join of an import and a literal, as text (``<import-name>/async/output/``)."""
    return json.dumps(value)


def _statements(template: dict[str, Any], role_logical_id: str | None = None) -> list[Any]:
    out: list[Any] = []
    for policy in _resources(template, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        if role_logical_id is None or {"Ref": role_logical_id} in props.get("Roles", []):
            out += props["PolicyDocument"]["Statement"]
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_endpoint_config_has_async_inference_with_kms_and_sns(batch: Any) -> None:
    serving = batch.serving_json
    _, config = _one(serving, "AWS::SageMaker::EndpointConfig")
    asynchronous = config["AsyncInferenceConfig"]
    output = asynchronous["OutputConfig"]
    assert "/async/output/" in _joined(output["S3OutputPath"])
    assert "/async/failures/" in _joined(output["S3FailurePath"])
    assert KEY_ARN in _joined(output["KmsKeyId"])
    topics = _resources(serving, "AWS::SNS::Topic")
    notification = output["NotificationConfig"]
    assert {notification["SuccessTopic"]["Ref"], notification["ErrorTopic"]["Ref"]} <= set(topics)
    assert notification["SuccessTopic"] != notification["ErrorTopic"]
    limit = load_settings("batch").async_inference.max_concurrent_invocations_per_instance
    assert asynchronous["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": limit}
    # Instance variant, no serverless config, no data capture.
    (variant,) = config["ProductionVariants"]
    assert "ServerlessConfig" not in variant and variant["InstanceType"] == "ml.m5.large"
    assert "DataCaptureConfig" not in config


def test_notification_topics_are_kms_encrypted_and_deny_publishing_without_tls(
    batch: Any,
) -> None:
    serving = batch.serving_json
    _, config = _one(serving, "AWS::SageMaker::EndpointConfig")
    notification = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    policies = _resources(serving, "AWS::SNS::TopicPolicy").values()
    for topic_ref in (notification["SuccessTopic"], notification["ErrorTopic"]):
        topic = serving["Resources"][topic_ref["Ref"]]["Properties"]
        assert KEY_ARN in json.dumps(topic["KmsMasterKeyId"])
        (policy,) = [p for p in policies if topic_ref in p["Properties"]["Topics"]]
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Action"] == "sns:Publish"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_scalable_target_scales_to_zero_on_the_backlog(batch: Any) -> None:
    serving = batch.serving_json
    settings = load_settings("batch").async_inference
    endpoint_logical, endpoint = _one(serving, "AWS::SageMaker::Endpoint")
    name = endpoint["EndpointName"]
    target_logical, target = _one(serving, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] == 0 == settings.min_capacity
    assert target["MaxCapacity"] == settings.max_capacity
    assert target["ResourceId"] == f"endpoint/{name}/variant/AllTraffic"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policies = {
        p["Properties"]["PolicyType"]: p["Properties"]
        for p in _resources(serving, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert set(policies) == {"TargetTrackingScaling", "StepScaling"}
    tracking = policies["TargetTrackingScaling"]
    assert tracking["ScalingTargetId"] == {"Ref": target_logical}
    config = tracking["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == settings.target_backlog_per_instance
    assert config["CustomizedMetricSpecification"] == {
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "EndpointName", "Value": name}],
        "Statistic": "Average",
    }
    assert config["ScaleInCooldown"] == settings.scale_in_cooldown_s
    assert "PredefinedMetricSpecification" not in config
    assert endpoint_logical in serving["Resources"][target_logical].get("DependsOn", [])


def test_a_request_at_zero_instances_wakes_the_endpoint(batch: Any) -> None:
    serving = batch.serving_json
    _, endpoint = _one(serving, "AWS::SageMaker::Endpoint")
    steps = {
        k: p["Properties"]
        for k, p in _resources(serving, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if p["Properties"]["PolicyType"] == "StepScaling"
    }
    ((step_logical, step),) = steps.items()
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": load_settings("batch").async_inference.wake_cooldown_s,
        "MetricAggregationType": "Average",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    alarms = [
        a["Properties"]
        for a in _resources(serving, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "HasBacklogWithoutCapacity"
    ]
    (alarm,) = alarms
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint["EndpointName"]}]
    assert alarm["Statistic"] == "Average"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Ref": step_logical}]


def test_async_endpoint_moves_all_at_once_and_keeps_the_autoscaled_fleet(batch: Any) -> None:
    _, endpoint = _one(batch.serving_json, "AWS::SageMaker::Endpoint")
    assert endpoint["EndpointName"] == "mlserving-batch-async-m5-large"
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert "RollingUpdatePolicy" not in endpoint["DeploymentConfig"]
    assert endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert endpoint["RetainAllVariantProperties"] is True
    assert "ExcludeRetainedVariantProperties" not in endpoint


def test_execution_role_may_read_requests_write_results_and_notify_only(batch: Any) -> None:
    serving = batch.serving_json
    policies = [
        p["Properties"]
        for p in _resources(serving, "AWS::IAM::Policy").values()
        if any("RolesExecution" in json.dumps(r) for r in p["Properties"]["Roles"])
    ]
    (policy,) = policies
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(by_sid) == {"ReadAsyncRequests", "WriteAsyncResults", "NotifyAsyncOutcomes"}
    assert by_sid["ReadAsyncRequests"]["Action"] == "s3:GetObject"
    assert json.dumps(by_sid["ReadAsyncRequests"]["Resource"]).count("/async/input/*") == 1
    assert by_sid["WriteAsyncResults"]["Action"] == "s3:PutObject"
    written = json.dumps(by_sid["WriteAsyncResults"]["Resource"])
    assert "/async/output/*" in written and "/async/failures/*" in written
    assert "/async/input" not in written
    assert by_sid["NotifyAsyncOutcomes"]["Action"] == "sns:Publish"
    topics = set(_resources(serving, "AWS::SNS::Topic"))
    assert {r["Ref"] for r in by_sid["NotifyAsyncOutcomes"]["Resource"]} <= topics
    # The endpoint config waits for these grants.
    config_logical, _ = _one(serving, "AWS::SageMaker::EndpointConfig")
    policy_logical = next(
        k for k, p in _resources(serving, "AWS::IAM::Policy").items() if p["Properties"] is policy
    )
    assert policy_logical in serving["Resources"][config_logical]["DependsOn"]


def test_api_serves_predict_async_and_its_result_not_predict(batch: Any) -> None:
    serving = batch.serving_json
    paths = {
        r["Properties"]["PathPart"]
        for r in _resources(serving, "AWS::ApiGateway::Resource").values()
    }
    assert paths == {"predict-async", "{id}"}
    methods = [m["Properties"] for m in _resources(serving, "AWS::ApiGateway::Method").values()]
    assert sorted(m["HttpMethod"] for m in methods) == ["GET", "POST"]
    assert {m["AuthorizationType"] for m in methods} == {"AWS_IAM"}
    (get,) = [m for m in methods if m["HttpMethod"] == "GET"]
    assert get["RequestParameters"] == {"method.request.path.id": True}


def test_function_role_is_least_privilege_for_async(batch: Any) -> None:
    serving = batch.serving_json
    (function,) = [
        f["Properties"]
        for f in _resources(serving, "AWS::Lambda::Function").values()
        if str(f["Properties"].get("FunctionName", "")).endswith("-inference")
    ]
    variables = function["Environment"]["Variables"]
    assert variables["INVOCATION_MODE"] == "async"
    assert KEY_ARN in json.dumps(variables["ASYNC_KMS_KEY_ARN"])
    statements = _statements(serving, function["Role"]["Fn::GetAtt"][0])
    by_sid = {s.get("Sid"): s for s in statements}
    endpoint_logical, _ = _one(serving, "AWS::SageMaker::Endpoint")
    assert by_sid["InvokeThisEndpointOnly"]["Action"] == "sagemaker:InvokeEndpointAsync"
    assert by_sid["InvokeThisEndpointOnly"]["Resource"] == {"Ref": endpoint_logical}
    actions = {a for s in statements for a in _actions(s)}
    assert "sagemaker:InvokeEndpoint" not in actions
    assert actions == {
        "sagemaker:InvokeEndpointAsync",
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }

    def prefixes(sid: str) -> set[str]:
        text = json.dumps(by_sid[sid]["Resource"])
        return {p for p in ("input", "output", "failures", "requests") if f"/async/{p}/*" in text}

    assert prefixes("WriteAsyncRequests") == {"input", "requests"}
    assert prefixes("ReadAsyncOutcomes") == {"output", "failures", "requests"}
    listing = by_sid["ListAsyncOutcomes"]
    assert (
        BUCKET_ARN in json.dumps(listing["Resource"])
        and "/"
        not in json.dumps(listing["Resource"]).split("ImportValue")[1].split("}")[0].split(":")[-1]
    )
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["async/requests/*", "async/output/*", "async/failures/*"]}
    }


def test_promotion_copies_the_async_config(batch: Any) -> None:
    serving = batch.serving_json
    (function,) = [
        f["Properties"]
        for f in _resources(serving, "AWS::Lambda::Function").values()
        if "MIN_AUC" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    copied = json.dumps(function["Environment"]["Variables"]["ASYNC_INFERENCE_CONFIG"])
    for part in ("S3OutputPath", "S3FailurePath", "SuccessTopic", "ErrorTopic", "KmsKeyId"):
        assert part in copied


def test_real_time_environments_have_none_of_it() -> None:
    dev = synth("dev").serving_json
    _, config = _one(dev, "AWS::SageMaker::EndpointConfig")
    assert "AsyncInferenceConfig" not in config
    _, target = _one(dev, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] >= 1
    paths = {
        r["Properties"]["PathPart"] for r in _resources(dev, "AWS::ApiGateway::Resource").values()
    }
    assert paths == {"predict"}
    assert "ASYNC_INFERENCE_CONFIG" not in json.dumps(dev)


def test_async_objects_expire_and_real_time_buckets_keep_their_rules(batch: Any) -> None:
    def rules(template: dict[str, Any]) -> dict[str, Any]:
        _, bucket = next(
            (k, r["Properties"])
            for k, r in _resources(template, "AWS::S3::Bucket").items()
            if "Artifacts" in k
        )
        return {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}

    expiry = rules(batch.data_json)["expire-async-requests-and-results"]
    assert expiry["Prefix"] == "async/"
    assert expiry["ExpirationInDays"] == load_settings("batch").async_inference.retention_days
    assert expiry["Status"] == "Enabled"
    assert "expire-async-requests-and-results" not in rules(synth("dev").data_json)
