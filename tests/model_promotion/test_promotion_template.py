"""The promotion pipeline in the synthesized dev template: rule -> queue -> function, IAM."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from ml_constructs.model_promotion.runtime.config import PromotionConfig
from serving_config import load_settings
from tests.synth_cache import synth, synth_monitored

PREFIX = "mlserving-dev"


@pytest.fixture(scope="module")
def serving() -> Template:
    return synth_monitored("dev").serving


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def function(template: dict[str, Any]) -> dict[str, Any]:
    (props,) = [
        p
        for p in resources(template, "AWS::Lambda::Function").values()
        if p.get("FunctionName") == f"{PREFIX}-model-promotion"
    ]
    return props


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = function(template)["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if p["Roles"] == [{"Ref": role_id}]
    ]
    found: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return found


def statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements(template) if s.get("Sid") == sid]
    return found


def rendered(value: Any) -> str:
    """A CloudFormation value as the function will see it, deploy-time tokens as TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(rendered(part) for part in parts)
    return "TOKEN"


def test_upload_rule_matches_model_archives_under_models_of_this_bucket(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {
                        "name": [{"Fn::ImportValue": Match.string_like_regexp("Artifacts")}]
                    },
                    "object": {"key": [{"wildcard": "models/*/model.tar.gz"}]},
                },
            },
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}})],
        },
    )


def test_endpoint_state_rule_reports_this_endpoint_back_in_service(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Endpoint State Change"],
                "detail": {
                    "EndpointName": [f"{PREFIX}-m5-large"],
                    "EndpointStatus": ["IN_SERVICE"],
                },
            }
        },
    )


def test_queue_and_dead_letter_queue_are_kms_encrypted_with_a_redrive() -> None:
    template = synth_monitored("dev").serving_json
    queues = resources(template, "AWS::SQS::Queue")
    main = next(p for p in queues.values() if p["QueueName"] == f"{PREFIX}-promotion")
    dlq_id, dlq = next((k, p) for k, p in queues.items() if p["QueueName"].endswith("-dlq"))
    for queue in (main, dlq):
        assert "EncryptionKey" in json.dumps(queue["KmsMasterKeyId"])
    settings = load_settings("dev").promotion
    assert main["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": settings.queue_max_receive_count,
    }
    assert main["VisibilityTimeout"] >= 6 * function(template)["Timeout"]


def test_queues_deny_plain_http_and_admit_only_the_two_rules() -> None:
    template = synth_monitored("dev").serving_json
    policies = [
        p
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if "Promotion" in json.dumps(p["Queues"])
    ]
    assert len(policies) == 2
    for policy in policies:
        deny = policy["PolicyDocument"]["Statement"][0]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allows = [
        s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    queues = {k for k, q in resources(template, "AWS::SQS::Queue").items()}
    rules = {
        k
        for k, rule in resources(template, "AWS::Events::Rule").items()
        if any(t["Arn"].get("Fn::GetAtt", [None])[0] in queues for t in rule["Targets"])
    }
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert {s["Fn::GetAtt"][0] for s in sources} == rules and len(rules) >= 2


def test_concurrency_is_capped_by_the_mapping_not_by_reserved_concurrency() -> None:
    """Reserved concurrency 1 behind an SQS mapping makes the poller's extra batches come back
    throttled; the mapping's MaximumConcurrency (2, SQS's minimum) caps it instead."""
    template = synth_monitored("dev").serving_json
    assert "ReservedConcurrentExecutions" not in function(template)
    (mapping,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_function_environment_is_a_valid_promotion_config() -> None:
    """The handler's own parser accepts what the construct writes (tokens stand in)."""
    template = synth_monitored("dev").serving_json
    env = function(template)["Environment"]["Variables"]
    config = PromotionConfig.from_env({k: rendered(v) for k, v in env.items()})
    assert config.endpoint_name == f"{PREFIX}-m5-large"
    assert config.production_variant == {
        "VariantName": "AllTraffic",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1.0,
    }
    settings = load_settings("dev")
    assert config.min_auc == settings.promotion.min_auc
    assert config.require_metrics is True
    assert config.keep_previous == settings.promotion.keep_previous == 3
    assert config.feature_count == settings.model.feature_count
    assert config.api_max_rows == settings.api.max_rows
    assert config.network_isolation is True
    assert config.stack_model_name == "TOKEN"
    policy = config.deployment_policy
    assert policy.traffic_shifting == settings.promotion.traffic_shifting
    assert policy.step_percent == settings.promotion.canary_percent
    assert policy.wait_before_shift_s == settings.promotion.wait_before_shift_s
    assert config.max_artifact_bytes == settings.promotion.max_artifact_mb * 1024 * 1024
    assert policy.rollback_alarm_names == ("TOKEN", "TOKEN", "TOKEN")
    assert config.volume_kms_key_arn == "TOKEN"
    capture = config.data_capture_config
    assert capture is not None
    assert capture["DestinationS3Uri"] == "s3://TOKEN/data-capture/"
    assert capture["InitialSamplingPercentage"] == settings.endpoint.data_capture_percent
    assert capture["KmsKeyId"] == "TOKEN"


def test_rollback_alarms_are_the_endpoint_error_and_latency_alarms() -> None:
    template = synth_monitored("dev").serving_json
    env = function(template)["Environment"]["Variables"]
    text = json.dumps(env["DEPLOYMENT_POLICY"])
    alarm_ids = {
        p["AlarmName"]: k for k, p in resources(template, "AWS::CloudWatch::Alarm").items()
    }
    for name in ("endpoint-5xx", "endpoint-4xx-rate", "model-latency-p99"):
        assert alarm_ids[f"{PREFIX}-{name}"] in text
    assert alarm_ids[f"{PREFIX}-promotion-failed"] not in text


def test_promotion_records_the_parameter_the_stack_resolves_at_deploy_time() -> None:
    """CloudFormation must not undo a promotion: the Model's artifact is the SSM parameter
    (a deploy-time Ref, not a literal), and that is the parameter the function writes."""
    template = synth_monitored("dev").serving_json
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    ref = model["PrimaryContainer"]["ModelDataUrl"]["Ref"]
    parameter = template["Parameters"][ref]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    name = load_settings("dev").artifact_parameter
    assert parameter["Default"] == name
    assert function(template)["Environment"]["Variables"]["ARTIFACT_PARAMETER"] == name
    record = statement(template, "RecordPromotedArtifact")
    assert sorted(record["Action"]) == ["ssm:GetParameter", "ssm:PutParameter"]
    assert json.dumps(record["Resource"]).endswith(f':parameter{name}"]]}}')
    assert "s3://" not in json.dumps(template["Parameters"])


def test_sagemaker_permissions_are_scoped_to_this_prefix_and_endpoint() -> None:
    template = synth_monitored("dev").serving_json
    create = statement(template, "CreatePromotionModelsAndConfigs")
    text = json.dumps(create["Resource"])
    assert f":model/{PREFIX}-p-*" in text and f":endpoint-config/{PREFIX}-p-*" in text
    assert len(create["Resource"]) == 2
    # Retention deletes only promotions' resources, never the stack's own.
    deletes = [s for s in statements(template) if "Delete" in json.dumps(s["Action"])]
    sagemaker_deletes = [s for s in deletes if "sagemaker:" in json.dumps(s["Action"])]
    assert sagemaker_deletes == [create]
    listing = statement(template, "ListPromotions")
    assert sorted(listing["Action"]) == ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"]
    assert listing["Resource"] == "*"  # List actions support no resource-level permissions
    # SageMaker reads the rollback alarms with the model's execution role, not the caller's
    # (the CloudFormation handler of UpdateEndpoint needs no cloudwatch permission either).
    assert "cloudwatch:DescribeAlarms" not in json.dumps(statements(template))
    update = statement(template, "UpdateThisEndpointOnly")
    assert update["Action"] == "sagemaker:UpdateEndpoint"
    assert f":endpoint/{PREFIX}-m5-large" in json.dumps(update["Resource"])
    for s in statements(template):
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all(
            "*" not in a.split(":", 1)[1] or a.startswith("kms:GenerateDataKey") for a in actions
        )
        assert s["Resource"] != "*" or s.get("Sid") == "ListPromotions"


def test_passes_only_the_execution_role_to_sagemaker() -> None:
    template = synth_monitored("dev").serving_json
    passing = statement(template, "PassOnlyTheExecutionRole")
    assert passing["Action"] == "iam:PassRole"
    assert "SageMakerRolesExecution" in json.dumps(passing["Resource"])
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    passes = [s for s in statements(template) if "iam:PassRole" in json.dumps(s["Action"])]
    assert passes == [passing]


def test_reads_models_and_writes_or_deletes_only_release_copies_and_the_baseline() -> None:
    template = synth_monitored("dev").serving_json
    read = statement(template, "ReadUploadedModels")
    assert sorted(read["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert json.dumps(read["Resource"]).endswith('/models/*"]]}')
    write = statement(template, "WriteAndRetireReleaseCopies")
    assert sorted(write["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
    assert json.dumps(write["Resource"]).endswith('/models/releases/*"]]}')
    s3_writes = [
        s
        for s in statements(template)
        if "s3:PutObject" in json.dumps(s["Action"]) or "s3:Delete" in json.dumps(s["Action"])
    ]
    baseline = statement(template, "SetTheMonitoringBaseline")  # dev is monitored
    assert baseline["Action"] == "s3:PutObject"  # written over
    assert json.dumps(baseline["Resource"]).endswith('/monitoring/baseline/*"]]}')
    # ... and only the optional reference rows deleted (a model without them).
    retire = statement(template, "RetireTheReferenceRows")
    assert retire["Action"] == "s3:DeleteObject"
    assert json.dumps(retire["Resource"]).endswith(
        '/monitoring/baseline/reference/features.csv"]]}'
    )
    assert s3_writes == [write, baseline, retire]


def test_role_is_named_for_the_key_policy(serving: Template) -> None:
    serving.has_resource_properties("AWS::IAM::Role", {"RoleName": f"{PREFIX}-model-promotion"})


def test_serverless_promotion_has_the_image_key_no_capture_no_isolation() -> None:
    template = synth("lowtraffic").serving_json
    (props,) = [
        p
        for p in resources(template, "AWS::Lambda::Function").values()
        if p.get("FunctionName") == "mlserving-lowtraffic-model-promotion"
    ]
    env = props["Environment"]["Variables"]
    assert "EncryptionKey" in json.dumps(
        env["VOLUME_KMS_KEY_ARN"]
    )  # the stack's key, as its config
    assert env["DATA_CAPTURE_CONFIG"] == ""
    assert env["NETWORK_ISOLATION"] == "false"  # not supported on serverless endpoints
    assert json.loads(env["PRODUCTION_VARIANT"])["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
