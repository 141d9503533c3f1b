"""The promotion function against moto: S3, SQS, SageMaker, SSM and SNS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_constructs.model_promotion.runtime import handler
from ml_constructs.model_promotion.runtime.config import ConfigurationError, PromotionConfig
from ml_constructs.model_promotion.runtime.endpoint_target import EndpointTarget
from serving_core.frameworks import container_environment
from tests.model_promotion import artifacts, moto_sagemaker
from tests.model_promotion.conftest import (
    BUCKET,
    ENDPOINT,
    INITIAL_URI,
    KEY_ARN,
    Account,
    environment,
)

KEY = "models/candidate/model.tar.gz"


def sqs_event(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "body": body if isinstance(body, str) else json.dumps(body),
                "eventSource": "aws:sqs",
            }
            for i, body in enumerate(bodies)
        ]
    }


def run(
    account: Account, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch, **overrides: str
) -> Any:
    """The Lambda entry point, configured from the environment like in Lambda; its clients
    are the fixture's (same mocked account, already loaded)."""
    for name, value in environment(account.topic_arn, **overrides).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler.boto3, "client", lambda name: getattr(account, name))
    handler.reset()
    return handler.lambda_handler(sqs_event(event))


def test_accepted_artifact_is_deployed_blue_green_and_recorded(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    event = account.upload(KEY, artifacts.build())
    response = run(account, event, monkeypatch)
    assert response == {"batchItemFailures": []}
    assert sent[0]["EnableNetworkIsolation"] is True  # same as the stack's model (moto drops it)

    name = account.endpoint()["EndpointConfigName"]
    assert name.startswith("mlserving-dev-p-")
    model = account.sagemaker.describe_model(ModelName=name)
    release_uri = model["PrimaryContainer"]["ModelDataUrl"]
    assert release_uri.startswith(f"s3://{BUCKET}/models/releases/")
    assert model["ExecutionRoleArn"].endswith("role/mlserving-dev-sagemaker-execution")
    # The release copy is the exact uploaded bytes, at a key no later upload can overwrite.
    release_key = release_uri.split(f"s3://{BUCKET}/", 1)[1]
    copied = account.s3.get_object(Bucket=BUCKET, Key=release_key)["Body"].read()
    assert copied == account.s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()

    config = account.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["KmsKeyId"] == KEY_ARN
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["ModelName"]) == ("AllTraffic", name)
    assert variant["InstanceType"] == "ml.m5.large"

    (deployment,) = account.deployments()
    policy = deployment["BlueGreenUpdatePolicy"]
    # One instance cannot host a canary (at most 50% of the fleet): all at once, still baked
    # for the waiting interval and watched by the rollback alarms.
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 300,
    }
    assert policy["TerminationWaitInSeconds"] == 300
    assert deployment["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "mlserving-dev-endpoint-5xx"},
        {"AlarmName": "mlserving-dev-p99"},
    ]
    # moto finishes the deployment at once, so the artifact is recorded for the next deploy.
    assert account.recorded_artifact() == release_uri
    kinds = [n["event"] for n in account.notifications()]
    assert "promotion_started" in kinds and "promotion_completed" in kinds


def test_green_fleet_starts_at_the_autoscaled_size(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Autoscaling grew the fleet to 3: the new config must not shrink it back to 1, and the
    canary is one whole instance of those 3 (10% would be a third of an instance)."""
    variant = moto_sagemaker.endpoint(ENDPOINT).production_variants[0]
    variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = 3
    run(account, account.upload(KEY, artifacts.build()), monkeypatch)
    name = account.endpoint()["EndpointConfigName"]
    config = account.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3
    (deployment,) = account.deployments()
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}


def linear(percent: int) -> str:
    return json.dumps(
        {
            "traffic_shifting": "linear",
            "step_percent": percent,
            "wait_before_shift_s": 60,
            "termination_wait_s": 60,
            "max_execution_timeout_s": 1800,
            "rollback_alarm_names": [],
        }
    )


@pytest.mark.parametrize(("instances", "step"), [(2, 1), (4, 1), (8, 2), (20, 5), (40, 10)])
def test_linear_steps_are_whole_instances_of_the_fleet(
    account: Account, instances: int, step: int
) -> None:
    promoter = account.promoter(DEPLOYMENT_POLICY=linear(25))
    deployment = promoter.deployment_config(instances)
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "LINEAR"
    assert routing["LinearStepSize"] == {"Type": "INSTANCE_COUNT", "Value": step}
    assert 0.1 * instances <= step <= 0.5 * instances  # SageMaker's LinearStepSize bounds
    assert "AutoRollbackConfiguration" not in deployment  # no alarms configured


@pytest.mark.parametrize("framework", sorted(artifacts.SCRIPT_MODE_MODELS))
def test_another_frameworks_model_gets_its_container_environment(
    account: Account, monkeypatch: pytest.MonkeyPatch, framework: str
) -> None:
    """``model.framework: xgboost`` (or pytorch, sklearn): the artifact is validated as that
    framework's, and the promoted Model runs the script-mode container with the stack model's
    environment (its handler ``code/inference.py`` inside the artifact, the function's
    region)."""
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    event = account.upload(KEY, artifacts.build(artifacts.script_mode_members(framework)))
    assert run(account, event, monkeypatch, MODEL_FRAMEWORK=framework) == {"batchItemFailures": []}
    expected = container_environment(framework, "us-east-1")
    assert expected["SAGEMAKER_PROGRAM"] == "inference.py"
    assert sent[0]["PrimaryContainer"]["Environment"] == expected
    name = account.endpoint()["EndpointConfigName"]
    assert name.startswith("mlserving-dev-p-")
    model = account.sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["Environment"] == expected


def test_the_framework_round_trips_and_tensorflow_writes_no_variable(account: Account) -> None:
    """The default framework's environment and CreateModel request stay as they were (no
    MODEL_FRAMEWORK, no Environment); another framework's config reads back equal."""
    tensorflow = account.promoter()
    assert tensorflow.config.framework == "tensorflow"
    assert "MODEL_FRAMEWORK" not in tensorflow.config.to_env()
    assert isinstance(tensorflow.target, EndpointTarget)
    assert "Environment" not in tensorflow.target.primary_container("s3://b/m.tar.gz")
    pytorch = account.promoter(MODEL_FRAMEWORK="pytorch").config
    assert pytorch.to_env()["MODEL_FRAMEWORK"] == "pytorch"
    assert PromotionConfig.from_env(pytorch.to_env()) == pytorch


@pytest.mark.parametrize(
    ("framework", "members", "code", "reason"),
    [
        (
            "xgboost",
            artifacts.valid_members,
            "missing-inference-code",
            "code/script_mode.py is missing (the xgboost artifact's code for SageMaker's XGBoost",
        ),
        (
            "tensorflow",
            artifacts.script_mode_members,
            "missing-savedmodel",
            "no numbered SavedModel directory (<N>/saved_model.pb)",
        ),
    ],
)
def test_another_frameworks_artifact_is_rejected_with_the_reason(
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    framework: str,
    members: Any,
    code: str,
    reason: str,
) -> None:
    """A TensorFlow artifact uploaded where XGBoost serves, and an XGBoost one where
    TensorFlow Serving does: rejected, the endpoint unchanged, the reason notified."""
    before = account.snapshot()
    event = account.upload(KEY, artifacts.build(members()))
    assert run(account, event, monkeypatch, MODEL_FRAMEWORK=framework) == {"batchItemFailures": []}
    assert account.snapshot() == before
    (notice,) = account.notifications()
    assert (notice["event"], notice["code"]) == ("promotion_rejected", code)
    assert reason in notice["reason"]


@pytest.mark.parametrize("case", sorted(artifacts.malformed()))
def test_rejected_artifact_leaves_endpoint_unchanged(
    account: Account, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    data, code = artifacts.malformed()[case]
    before = account.snapshot()
    event = account.upload(KEY, data)
    response = run(account, event, monkeypatch)
    assert response == {"batchItemFailures": []}  # consumed: retrying cannot help
    assert account.snapshot() == before
    assert account.deployments() == []
    (notice,) = account.notifications()
    assert notice["event"] == "promotion_rejected"
    assert notice["code"] == code
    assert notice["reason"]


def test_oversize_artifact_is_rejected_before_download(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = account.snapshot()
    event = account.upload(KEY, artifacts.build() + bytes(2 * 1024 * 1024))
    run(account, event, monkeypatch)
    assert account.snapshot() == before
    assert account.notifications()[0]["code"] == "too-large"
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    metrics = [line for line in emitted if "_aws" in line]
    assert [m for m in metrics if m.get("PromotionRejected") == 1]


def test_duplicate_delivery_changes_nothing(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = account.upload(KEY, artifacts.build())
    run(account, event, monkeypatch)
    after_first = account.snapshot()
    account.notifications()

    promoter = account.promoter()
    requests = handler.parse_body(json.dumps(event))
    outcome = handler.process_request(promoter, requests[0])
    assert outcome.status == "duplicate"
    assert account.snapshot() == after_first
    assert len(account.deployments()) == 1
    assert account.notifications() == []


def test_new_version_of_same_key_is_a_new_promotion(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(account, account.upload(KEY, artifacts.build()), monkeypatch)
    first = account.endpoint()["EndpointConfigName"]
    better = artifacts.build(artifacts.replacing("metrics.json", artifacts.metrics(0.99)))
    run(account, account.upload(KEY, better), monkeypatch)
    second = account.endpoint()["EndpointConfigName"]
    assert second != first
    assert len(account.deployments()) == 2


def test_busy_endpoint_returns_message_for_retry(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_sagemaker.set_status(ENDPOINT, "Updating")
    before = account.snapshot()
    event = account.upload(KEY, artifacts.build())
    response = run(account, event, monkeypatch)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert account.snapshot() == before

    moto_sagemaker.set_status(ENDPOINT, "InService")  # the earlier update finished
    assert run(account, event, monkeypatch) == {"batchItemFailures": []}
    assert account.endpoint()["EndpointConfigName"].startswith("mlserving-dev-p-")


def test_update_refused_as_in_progress_is_retried_then_completes(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A race: the endpoint turns busy between the check and UpdateEndpoint."""
    event = account.upload(KEY, artifacts.build())
    promoter = account.promoter()
    original = promoter.sagemaker.update_endpoint
    calls: list[str] = []

    def racing_update(**kwargs: Any) -> Any:
        calls.append(kwargs["EndpointConfigName"])
        if len(calls) == 1:
            moto_sagemaker.set_status(ENDPOINT, "Updating")
        try:
            return original(**kwargs)
        finally:
            moto_sagemaker.set_status(ENDPOINT, "InService")

    monkeypatch.setattr(promoter.sagemaker, "update_endpoint", racing_update)
    request = handler.parse_body(json.dumps(event))[0]
    assert handler.process_request(promoter, request).status == "retry"
    assert account.recorded_artifact() == INITIAL_URI
    outcome = handler.process_request(promoter, request)
    assert outcome.status == "submitted"  # not mistaken for a duplicate
    assert calls[0] == calls[1]


def test_failed_endpoint_is_reported_not_retried(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_sagemaker.set_status(ENDPOINT, "Failed")
    response = run(account, account.upload(KEY, artifacts.build()), monkeypatch)
    assert response == {"batchItemFailures": []}
    (notice,) = account.notifications()
    assert notice["event"] == "promotion_failed"
    assert "Failed" in notice["reason"]


@pytest.mark.parametrize(
    "key",
    [
        "models/releases/0123456789abcdef/model.tar.gz",
        "models/candidate/weights.bin",
        "datasets/train.csv",
    ],
)
def test_other_keys_are_ignored(
    account: Account, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    event = account.upload(key, artifacts.build())
    before = account.snapshot()
    response = run(account, event, monkeypatch)
    assert response == {"batchItemFailures": []}
    assert account.snapshot() == before


def test_rollback_keeps_recorded_artifact(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If SageMaker rolls back, the endpoint serves the old config and nothing is recorded."""
    moto_sagemaker.set_status(ENDPOINT, "InService")
    promoter = account.promoter()
    promoter_reconcile = promoter.reconcile
    monkeypatch.setattr(promoter, "reconcile", lambda: None)  # deployment still running
    request = handler.parse_body(json.dumps(account.upload(KEY, artifacts.build())))[0]
    assert handler.process_request(promoter, request).status == "submitted"
    monkeypatch.setattr(promoter, "reconcile", promoter_reconcile)
    # SageMaker's auto-rollback: back on the stack's config.
    account.sagemaker.update_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName="EndpointConfig-ABC123"
    )
    state_change = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
    }
    outcome = handler.process_request(promoter, handler.parse_body(json.dumps(state_change))[0])
    assert outcome.status == "unchanged"
    assert account.recorded_artifact() == INITIAL_URI


def test_state_change_records_finished_deployment(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    promoter = account.promoter()
    monkeypatch.setattr(promoter, "reconcile", lambda: None)
    request = handler.parse_body(json.dumps(account.upload(KEY, artifacts.build())))[0]
    handler.process_request(promoter, request)
    assert account.recorded_artifact() == INITIAL_URI  # not yet: deployment "running"
    monkeypatch.undo()
    for name, value in environment(account.topic_arn).items():
        monkeypatch.setenv(name, value)
    handler.reset()
    state_change = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
    }
    assert handler.lambda_handler(sqs_event(state_change)) == {"batchItemFailures": []}
    assert account.recorded_artifact().startswith(f"s3://{BUCKET}/models/releases/")


def test_s3_notification_format_is_accepted(account: Account) -> None:
    body = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": "models/new+model/model.tar.gz", "versionId": "v1"},
                },
            }
        ]
    }
    (request,) = handler.parse_body(json.dumps(body))
    assert request.key == "models/new model/model.tar.gz"
    assert request.version_id == "v1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"source": "aws.ec2", "detail": {}}', "'aws.ec2' are not handled"),
        ('{"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}}', "Object Deleted"),
        ('{"source": "aws.s3", "detail-type": "Object Created", "detail": {}}', "object.key"),
    ],
)
def test_unrecognised_messages_are_consumed_with_a_reason(
    account: Account, body: str, reason: str
) -> None:
    (outcome,) = handler.process_message(account.promoter(), body)
    assert outcome.status == "ignored"
    assert reason in outcome.reason


def test_handler_rejects_a_non_sqs_event() -> None:
    with pytest.raises(ValueError, match="Records"):
        handler.lambda_handler({"detail": {}})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ENDPOINT_NAME": ""}, "ENDPOINT_NAME: required"),
        ({"PRODUCTION_VARIANT": "{"}, "PRODUCTION_VARIANT: not valid JSON"),
        ({"PRODUCTION_VARIANT": "{}"}, "VariantName is missing"),
        (
            {"DEPLOYMENT_POLICY": linear(25).replace("linear", "rolling")},
            "DEPLOYMENT_POLICY: traffic_shifting 'rolling' is not one of",
        ),
        ({"DEPLOYMENT_POLICY": "{"}, "DEPLOYMENT_POLICY: not valid JSON"),
        ({"DEPLOYMENT_POLICY": linear(80)}, "DEPLOYMENT_POLICY: step_percent 80 is outside"),
        (
            {"DEPLOYMENT_POLICY": linear(25).replace('"step_percent": 25', '"step_percent": "x"')},
            "DEPLOYMENT_POLICY: step_percent must be an integer",
        ),
        ({"MIN_AUC": "1.5"}, "MIN_AUC: 1.5 is outside"),
        ({"REQUIRE_METRICS": "yes"}, "REQUIRE_METRICS: 'yes' is not true or false"),
        ({"KEEP_PREVIOUS": "-1"}, "KEEP_PREVIOUS: -1 is outside"),
        ({"NETWORK_ISOLATION": ""}, "NETWORK_ISOLATION: required"),
        ({"ARTIFACT_PARAMETER": "no-slash"}, "ARTIFACT_PARAMETER: must be a path"),
        ({"VPC_CONFIG": '{"Subnets": ["subnet-1"]}'}, "VPC_CONFIG: needs Subnets and Security"),
        ({"MODEL_FRAMEWORK": "mxnet"}, "MODEL_FRAMEWORK: unknown framework 'mxnet'; known:"),
    ],
)
def test_configuration_errors_name_the_variable(override: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PromotionConfig.from_env(environment("arn:aws:sns:us-east-1:1:t", **override))


def test_tags_stay_within_what_sagemaker_accepts(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source URI and its version are two tags; a key with characters outside SageMaker's
    tag pattern (here '?', '(' and '#') is sanitized, never sent as is."""
    import re

    sent: list[dict[str, Any]] = []
    for operation in ("CreateModel", "CreateEndpointConfig"):
        account.sagemaker.meta.events.register(
            f"provide-client-params.sagemaker.{operation}", lambda params, **_: sent.append(params)
        )
    key = "models/run #7 (v2)?/model.tar.gz"
    event = account.upload(key, artifacts.build())
    assert run(account, event, monkeypatch) == {"batchItemFailures": []}
    allowed = re.compile(r"[\w\s.:/=+\-@]*")
    for request in sent:
        tags = {t["Key"]: t["Value"] for t in request["Tags"]}
        assert tags["promotion:source"] == f"s3://{BUCKET}/models/run _7 _v2__/model.tar.gz"
        assert tags["promotion:source-version"] == event["detail"]["object"]["version-id"]
        for tag_key, value in tags.items():
            assert allowed.fullmatch(tag_key) and allowed.fullmatch(value), (tag_key, value)
            assert len(value) <= 256


def test_serverless_models_are_created_without_network_isolation(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    run(account, account.upload(KEY, artifacts.build()), monkeypatch, NETWORK_ISOLATION="false")
    assert sent[0]["EnableNetworkIsolation"] is False


def test_in_a_private_network_the_green_model_runs_in_the_same_subnets(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Private networking: CreateModel carries the stack's VpcConfig (the stack's own Model
    has it too), so a promoted model never leaves the private subnets."""
    vpc = {"Subnets": ["subnet-0a", "subnet-0b"], "SecurityGroupIds": ["sg-0a"]}
    sent: list[dict[str, Any]] = []
    account.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    result = run(
        account, account.upload(KEY, artifacts.build()), monkeypatch, VPC_CONFIG=json.dumps(vpc)
    )
    assert result == {"batchItemFailures": []}
    assert sent[0]["VpcConfig"] == vpc
    assert sent[0]["EnableNetworkIsolation"] is True


def test_sns_subject_is_printable_ascii_under_100_characters(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_constructs.model_promotion.runtime.promotion import sns_subject

    subjects: list[str] = []
    account.sns.meta.events.register(
        "provide-client-params.sns.Publish",
        lambda params, **_: subjects.append(params["Subject"]),
    )
    key = "models/naïve\nforged: line" + "x" * 120 + "/model.tar.gz"
    run(
        account,
        account.upload(key, artifacts.build(artifacts.without("metrics.json"))),
        monkeypatch,
    )
    assert subjects
    for subject in subjects:
        assert len(subject) < 100 and all(" " <= c <= "~" for c in subject), subject
    assert sns_subject("\n\t") == "??" and sns_subject("") == "promotion"


def test_waiving_the_metrics_requirement_is_logged_with_the_promotion(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    data = artifacts.build(artifacts.without("metrics.json"))
    run(account, account.upload(KEY, data), monkeypatch, REQUIRE_METRICS="false")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    started = next(x for x in lines if x.get("event") == "promotion_started")
    assert started["quality_floor"] == "not checked: promotion.require_metrics is false"


def test_only_declared_metrics_are_emitted(account: Account) -> None:
    promoter = account.promoter()
    with pytest.raises(ValueError, match="PromotionFailedError"):
        promoter.emit_metric("PromotionFailedError")


def test_an_url_encoded_eventbridge_key_is_found_decoded(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS documents URL-encoded keys for S3 notifications, not for EventBridge: both work."""
    event = account.upload("models/my model+v2/model.tar.gz", artifacts.build())
    event["detail"]["object"]["key"] = "models/my+model%2Bv2/model.tar.gz"
    assert run(account, event, monkeypatch) == {"batchItemFailures": []}
    assert account.endpoint()["EndpointConfigName"].startswith("mlserving-dev-p-")


def test_what_the_function_emits_on_failure_is_what_its_alarm_watches(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The function once emitted PromotionFailedError while the alarm watched PromotionFailed:
    compare the EMF a real failure prints with the synthesized alarm's metrics."""
    from tests.synth_cache import synth

    moto_sagemaker.set_status(ENDPOINT, "Failed")
    run(account, account.upload(KEY, artifacts.build()), monkeypatch)
    moto_sagemaker.set_status(ENDPOINT, "InService")
    run(
        account,
        account.upload(KEY, artifacts.build(artifacts.without("metrics.json"))),
        monkeypatch,
    )
    emitted = {
        name
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
        for name in (m["Name"] for m in json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    }
    template = synth("dev").serving_json
    (alarm,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["AlarmName"] == "mlserving-dev-promotion-failed"
    ]
    watched = {
        m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m
    }
    assert {"PromotionFailed", "PromotionRejected"} <= emitted
    assert emitted & {"PromotionFailed", "PromotionRejected", "PromotionErrors"} <= watched


BASELINE_PREFIX = "monitoring/baseline/"
MONITORED = {"MONITORING_BASELINE_PREFIX": BASELINE_PREFIX}


def monitoring_baseline(account: Account) -> dict[str, bytes]:
    listed = account.s3.list_objects_v2(Bucket=BUCKET, Prefix=BASELINE_PREFIX).get("Contents", [])
    return {
        o["Key"]: account.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed
    }


def settle(account: Account, promoter: Any) -> handler.Outcome:
    state_change = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
    }
    return handler.process_request(promoter, handler.parse_body(json.dumps(state_change))[0])


def submit(account: Account, promoter: Any, key: str, data: bytes, monkeypatch: Any) -> None:
    """Submit an upload while the deployment "runs" (nothing recorded yet)."""
    reconcile = promoter.reconcile
    monkeypatch.setattr(promoter, "reconcile", lambda: None)
    request = handler.parse_body(json.dumps(account.upload(key, data)))[0]
    assert handler.process_request(promoter, request).status == "submitted"
    monkeypatch.setattr(promoter, "reconcile", reconcile)


def test_the_served_models_baseline_becomes_the_monitors_baseline(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept beside the release at submission; made the schedules' baseline (fixed keys their
    job definitions read) only once the endpoint serves the model."""
    promoter = account.promoter(**MONITORED)
    submit(account, promoter, KEY, artifacts.with_baseline("first"), monkeypatch)
    assert monitoring_baseline(account) == {}  # not before the endpoint serves it
    assert settle(account, promoter).status == "recorded"
    baseline = monitoring_baseline(account)
    expected = dict(artifacts.baseline_members(tag="first"))
    assert baseline == {
        k.replace("monitoring/", BASELINE_PREFIX, 1): v for k, v in expected.items()
    }
    release = account.recorded_artifact().removeprefix(f"s3://{BUCKET}/").rsplit("/", 1)[0]
    kept = account.s3.get_object(Bucket=BUCKET, Key=f"{release}/monitoring/preprocessor.py")
    assert kept["Body"].read() == expected["monitoring/preprocessor.py"]
    (notice,) = [n for n in account.notifications() if n["event"] == "promotion_completed"]
    assert notice["monitoring_baseline"] == f"s3://{BUCKET}/{BASELINE_PREFIX}"


def test_reference_rows_follow_the_served_model_and_never_outlive_it(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-account monitor's reference rows travel like the rest of the baseline; a later
    model without them removes the previous model's, so no model is tested against another's
    training rows."""
    promoter = account.promoter(**MONITORED)
    reference_key = f"{BASELINE_PREFIX}reference/features.csv"
    submit(account, promoter, KEY, artifacts.with_baseline("first", reference=True), monkeypatch)
    assert settle(account, promoter).status == "recorded"
    _, rows = artifacts.reference_rows(tag="first")
    assert monitoring_baseline(account)[reference_key] == rows
    second = "models/second/model.tar.gz"
    submit(account, promoter, second, artifacts.with_baseline("second"), monkeypatch)
    assert settle(account, promoter).status == "recorded"
    baseline = monitoring_baseline(account)
    assert reference_key not in baseline
    assert baseline  # the rest of the second model's baseline is active


def test_a_rolled_back_promotion_leaves_the_monitors_baseline(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    promoter = account.promoter(**MONITORED)
    submit(account, promoter, KEY, artifacts.with_baseline("first"), monkeypatch)
    settle(account, promoter)
    before = monitoring_baseline(account)
    served = account.endpoint()["EndpointConfigName"]
    submit(
        account,
        promoter,
        "models/second/model.tar.gz",
        artifacts.with_baseline("second"),
        monkeypatch,
    )
    account.sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=served)  # rollback
    assert settle(account, promoter).status == "unchanged"
    assert monitoring_baseline(account) == before


def test_a_model_without_a_baseline_keeps_the_previous_one(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    promoter = account.promoter(**MONITORED)
    submit(account, promoter, KEY, artifacts.with_baseline("first"), monkeypatch)
    settle(account, promoter)
    before = monitoring_baseline(account)
    submit(account, promoter, "models/old/model.tar.gz", artifacts.build(), monkeypatch)
    assert settle(account, promoter).status == "recorded"
    assert monitoring_baseline(account) == before
    notices = [n for n in account.notifications() if n["event"] == "promotion_completed"]
    assert notices[-1]["monitoring_baseline"] == "unchanged: the model carries no baseline"
