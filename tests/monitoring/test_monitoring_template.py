"""Alarms, their topic and the dashboard in the synthesized dev (and serverless) template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from serving_config import load_settings
from tests.synth_cache import synth, synth_monitored

PREFIX = "mlserving-dev"
ENDPOINT_DIMENSIONS = [
    {"Name": "EndpointName", "Value": "mlserving-dev-m5-large"},
    {"Name": "VariantName", "Value": "AllTraffic"},
]


@pytest.fixture(scope="module")
def serving() -> Template:
    return synth_monitored("dev").serving


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties."""
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def topic_logical_id(template: dict[str, Any]) -> str:
    (topic,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
    return topic


def metric_of(alarm: dict[str, Any], metric_id: str) -> dict[str, Any]:
    (query,) = [q for q in alarm["Metrics"] if q["Id"] == metric_id]
    return query["MetricStat"]


ALARM_CASES = {
    # name: (namespace, metric, statistic, threshold from dev.yaml in CloudWatch's unit)
    "endpoint-5xx": ("AWS/SageMaker", "Invocation5XXErrors", "Sum", 1),
    "model-latency-p99": ("AWS/SageMaker", "ModelLatency", "p99", 500 * 1000),
    "endpoint-cpu": ("/aws/sagemaker/Endpoints", "CPUUtilization", "Average", 80 * 2),
    "endpoint-memory": ("/aws/sagemaker/Endpoints", "MemoryUtilization", "Average", 85),
    "function-errors": ("AWS/Lambda", "Errors", "Sum", 1),
    "function-throttles": ("AWS/Lambda", "Throttles", "Sum", 1),
    "function-duration-p99": (
        "AWS/Lambda",
        "Duration",
        "p99",
        load_settings("dev").api.function_timeout_s * 1000 * 0.8,
    ),
    "api-5xx": ("AWS/ApiGateway", "5XXError", "Sum", 1),
    "api-latency-p99": ("AWS/ApiGateway", "Latency", "p99", 3000),
}


@pytest.mark.parametrize("name", sorted(ALARM_CASES))
def test_single_metric_alarm_has_metric_statistic_threshold_and_topic(name: str) -> None:
    template = synth_monitored("dev").serving_json
    alarm = alarms(template)[f"{PREFIX}-{name}"]
    namespace, metric, statistic, threshold = ALARM_CASES[name]
    assert alarm["Namespace"] == namespace
    assert alarm["MetricName"] == metric
    assert alarm.get("Statistic", alarm.get("ExtendedStatistic")) == statistic
    assert alarm["Threshold"] == threshold
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    topic = {"Ref": topic_logical_id(template)}
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]
    assert alarm["AlarmDescription"] and len(alarm["AlarmDescription"]) > 40
    assert alarm["TreatMissingData"] in {"notBreaching", "missing"}


def test_endpoint_alarms_watch_this_endpoint_and_variant() -> None:
    found = alarms(synth_monitored("dev").serving_json)
    for name in ("endpoint-5xx", "model-latency-p99", "endpoint-cpu", "endpoint-memory"):
        assert found[f"{PREFIX}-{name}"]["Dimensions"] == ENDPOINT_DIMENSIONS


def test_evaluation_window_comes_from_configuration() -> None:
    settings = load_settings("dev").alarms
    alarm = alarms(synth_monitored("dev").serving_json)[f"{PREFIX}-endpoint-5xx"]
    assert alarm["EvaluationPeriods"] == settings.evaluation_periods
    assert alarm["DatapointsToAlarm"] == settings.datapoints_to_alarm
    assert alarm["Period"] == settings.period_s


def test_missing_data_treatment_is_deliberate() -> None:
    found = alarms(synth_monitored("dev").serving_json)
    # No traffic is not an error; instance metrics vanish only while instances change.
    assert found[f"{PREFIX}-endpoint-5xx"]["TreatMissingData"] == "notBreaching"
    assert found[f"{PREFIX}-model-latency-p99"]["TreatMissingData"] == "notBreaching"
    assert found[f"{PREFIX}-endpoint-cpu"]["TreatMissingData"] == "missing"


def test_4xx_alarm_is_a_rate_of_invocations() -> None:
    alarm = alarms(synth_monitored("dev").serving_json)[f"{PREFIX}-endpoint-4xx-rate"]
    assert alarm["Threshold"] == 10
    (expression,) = [q for q in alarm["Metrics"] if "Expression" in q]
    assert "100 * FILL(errors4xx, 0) / invocations" in expression["Expression"]
    assert metric_of(alarm, "errors4xx")["Metric"]["MetricName"] == "Invocation4XXErrors"
    assert metric_of(alarm, "invocations")["Metric"]["MetricName"] == "Invocations"


def test_promotion_alarms_watch_rejections_failures_and_dead_letters() -> None:
    template = synth_monitored("dev").serving_json
    found = alarms(template)
    failed = found[f"{PREFIX}-promotion-failed"]
    names = {metric_of(failed, i)["Metric"]["MetricName"] for i in ("rejected", "failed", "errors")}
    assert names == {"PromotionRejected", "PromotionFailed", "PromotionErrors"}
    assert metric_of(failed, "rejected")["Metric"]["Namespace"] == f"{PREFIX}/Promotion"
    assert (failed["Threshold"], failed["EvaluationPeriods"]) == (1, 1)
    dead = found[f"{PREFIX}-promotion-dead-letters"]
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["Dimensions"][0]["Value"]["Fn::GetAtt"][1] == "QueueName"
    for alarm in (failed, dead):
        assert alarm["AlarmActions"] == [{"Ref": topic_logical_id(template)}]


def test_every_alarm_notifies_the_topic() -> None:
    template = synth_monitored("dev").serving_json
    topic = {"Ref": topic_logical_id(template)}
    found = alarms(template)
    # 5 endpoint + 3 function + 2 API + 2 promotion alarms; Model Monitor: 30 drift alarms,
    # model AUC and failed executions.
    assert len(found) == 12 + 30 + 2
    assert all(alarm["AlarmActions"] == [topic] for alarm in found.values())


def test_topic_is_encrypted_with_the_stack_key(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::SNS::Topic",
        {
            "TopicName": f"{PREFIX}-alarms",
            "KmsMasterKeyId": {"Fn::ImportValue": Match.string_like_regexp("EncryptionKey")},
        },
    )


def test_topic_policy_denies_plain_http_and_admits_only_this_apps_alarms() -> None:
    template = synth_monitored("dev").serving_json
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SNS::TopicPolicy"
    ]
    deny = [s for s in policy if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (allow,) = [s for s in policy if s.get("Sid") == "CloudWatchAlarmsOfThisApp"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert ":alarm:mlserving-dev-*" in json.dumps(allow["Condition"]["ArnLike"])
    # EventBridge only for the rule that reports failed Model Monitor executions.
    (rule,) = [s for s in policy if s.get("Sid") == "ModelMonitorFailuresRule"]
    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert rule["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][1] == "Arn"
    allowed = [s for s in policy if s["Effect"] == "Allow"]
    assert allowed == [allow, rule]


def test_dashboard_shows_traffic_latency_capacity_function_and_promotions() -> None:
    template = synth_monitored("dev").serving_json
    (dashboard,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    assert dashboard["DashboardName"] == f"{PREFIX}-operations"
    body = json.dumps(dashboard["DashboardBody"])
    for title in (
        "Endpoint invocations and errors",
        "Endpoint latency percentiles (ms)",
        "Variant instance count (autoscaling)",
        "Inference function duration (ms)",
        "API: 4XX / 5XX and p99 latency (ms)",
        "Promotions",
        "Alarms",
    ):
        assert title in body, title
    assert "latency_p99 / 1000" in body  # microseconds shown as milliseconds
    assert "SampleCount" in body  # instances over time


def test_serverless_environment_has_no_instance_alarms_or_capacity_widget() -> None:
    template = synth("lowtraffic").serving_json
    found = alarms(template)
    assert "mlserving-lowtraffic-endpoint-5xx" in found
    assert "mlserving-lowtraffic-endpoint-cpu" not in found
    assert "mlserving-lowtraffic-endpoint-memory" not in found
    assert found["mlserving-lowtraffic-model-latency-p99"]["Period"] == 300
    (dashboard,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    assert "Variant instance count" not in json.dumps(dashboard["DashboardBody"])
