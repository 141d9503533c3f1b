"""The rehearsal's alarm evaluation: metric math, statistics, missing data, SNS actions."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from rehearsal.moto_gaps import alarms

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("FILL(a, 0) + FILL(b, 0)", 2.0),
        ("IF(a > 0, 100 * b / a, 0)", None),  # b has no data
        ("IF(c > 0, 100 * FILL(b, 0) / c, 0)", 0.0),
        ("IF(c > 100, 1, 2)", 2.0),
        ("-(a - 3) * 2", 2.0),
        ("a / 0", None),
    ],
)
def test_metric_math(expression, expected):
    variables = {"a": 2.0, "b": None, "c": 4.0}
    assert alarms._Expression(expression, variables).evaluate() == expected


def test_unsupported_function_is_reported():
    with pytest.raises(alarms.UnsupportedAlarmError, match="ANOMALY"):
        alarms._Expression("ANOMALY_DETECTION_BAND(a)", {"a": 1.0}).evaluate()


def test_percentile_and_statistics():
    values = [float(v) for v in range(1, 101)]
    assert alarms.statistic(values, "p99") == 99.0
    assert alarms.statistic(values, "Sum") == 5050.0
    assert alarms.statistic([], "Sum") is None


@mock_aws
def test_alarms_follow_the_metrics_and_notify_on_alarm():
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    common = {
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "AlarmActions": [topic],
    }
    cloudwatch.put_metric_alarm(
        AlarmName="rejected",
        Metrics=[
            {
                "Id": "r",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "App",
                        "MetricName": "Rejected",
                        "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "total", "Expression": "FILL(r, 0)", "ReturnData": True},
        ],
        **common,
    )
    cloudwatch.put_metric_alarm(
        AlarmName="wrong-dimensions",
        Namespace="App",
        MetricName="Rejected",
        Dimensions=[{"Name": "EndpointName", "Value": "other"}],
        Period=60,
        Statistic="Sum",
        TreatMissingData="missing",
        **common,
    )
    cloudwatch.put_metric_data(
        Namespace="App",
        MetricData=[
            {
                "MetricName": "Rejected",
                "Value": 1,
                "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
            }
        ],
    )
    results = {e.name: e for e in alarms.evaluate(ACCOUNT, REGION)}
    assert results["rejected"].state == "ALARM"
    assert results["rejected"].notified == (topic,)
    assert results["wrong-dimensions"].state == "INSUFFICIENT_DATA"
    described = cloudwatch.describe_alarms(AlarmNames=["rejected"])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
