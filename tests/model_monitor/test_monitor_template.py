"""Model Monitor in the synthesized templates: both job definitions isolated and encrypted with
the project key, the region's analyzer image from the SDK's table, schedules, their own role,
alarms on drift, model quality and failed executions; and what configuration refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Stack, Tags
from aws_cdk import aws_sagemaker as sagemaker

from ml_constructs.framework_image import sdk_image_config
from ml_constructs.model_monitor.construct import digest_named
from serving_config import ConfigError, load_settings
from tests.synth_cache import synth, synth_monitored

PREFIX = "mlserving-prod"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def serving() -> dict[str, Any]:
    return synth_monitored("prod").serving_json


def key_import(value: Any) -> bool:
    return "EncryptionKey" in json.dumps(value)


def test_both_job_definitions_are_isolated_and_encrypted_with_the_project_key(
    serving: dict[str, Any],
) -> None:
    (data,) = resources(serving, "AWS::SageMaker::DataQualityJobDefinition").values()
    (model,) = resources(serving, "AWS::SageMaker::ModelQualityJobDefinition").values()
    (served,) = resources(serving, "AWS::SageMaker::Model").values()
    for definition, output in (
        (data, "DataQualityJobOutputConfig"),
        (model, "ModelQualityJobOutputConfig"),
    ):
        assert definition["NetworkConfig"] == {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": True,
            # prod's private network: the jobs run where the model runs.
            "VpcConfig": served["VpcConfig"],
        }
        cluster = definition["JobResources"]["ClusterConfig"]
        assert key_import(cluster["VolumeKmsKeyId"]) and cluster["InstanceCount"] == 1
        assert key_import(definition[output]["KmsKeyId"])
        (target,) = definition[output]["MonitoringOutputs"]
        assert "/monitoring/reports/" in json.dumps(target["S3Output"]["S3Uri"])
        assert definition["StoppingCondition"]["MaxRuntimeInSeconds"] <= 1800
        assert "ModelMonitorRole" in json.dumps(definition["RoleArn"])
    spec = data["DataQualityAppSpecification"]
    assert spec["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert json.dumps(spec["RecordPreprocessorSourceUri"]).endswith(
        '/monitoring/baseline/preprocessor.py"]]}'
    )
    baseline = data["DataQualityBaselineConfig"]
    assert json.dumps(baseline["StatisticsResource"]).endswith('data-quality/statistics.json"]]}}')
    assert json.dumps(baseline["ConstraintsResource"]).endswith(
        'data-quality/constraints.json"]]}}'
    )
    assert (
        data["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "mlserving-prod-c5-xlarge"
    )
    quality = model["ModelQualityJobInput"]
    assert model["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    assert quality["EndpointInput"]["ProbabilityAttribute"] == "predictions[0].probability"
    assert quality["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5
    assert (
        quality["EndpointInput"]["StartTimeOffset"],
        quality["EndpointInput"]["EndTimeOffset"],
    ) == (
        "-PT25H",
        "-PT24H",
    )
    assert json.dumps(quality["GroundTruthS3Input"]["S3Uri"]).endswith('/ground-truth/"]]}')
    assert "StatisticsResource" not in model["ModelQualityBaselineConfig"]  # constraints only


def test_the_analyzer_image_comes_from_the_sdks_table(serving: dict[str, Any]) -> None:
    (entry,) = sdk_image_config("model-monitor")["versions"].values()
    (mapping_id,) = [k for k in serving["Mappings"] if k.startswith("ModelMonitorAnalyzerImage")]
    assert serving["Mappings"][mapping_id] == {
        region: {"account": account} for region, account in entry["registries"].items()
    }
    (data,) = resources(serving, "AWS::SageMaker::DataQualityJobDefinition").values()
    image = json.dumps(data["DataQualityAppSpecification"]["ImageUri"])
    assert mapping_id in image and "/sagemaker-model-monitor-analyzer" in image


def test_schedules_run_the_digest_named_definitions_hourly(serving: dict[str, Any]) -> None:
    definitions = {
        r["Properties"]["JobDefinitionName"]: k
        for k, r in serving["Resources"].items()
        if r["Type"].endswith("QualityJobDefinition")
    }
    assert sorted(n.rsplit("-", 1)[0] for n in definitions) == [f"{PREFIX}-dq", f"{PREFIX}-mq"]
    schedules = {
        r["Properties"]["MonitoringScheduleName"]: r
        for r in serving["Resources"].values()
        if r["Type"] == "AWS::SageMaker::MonitoringSchedule"
    }
    assert set(schedules) == {f"{PREFIX}-data-quality", f"{PREFIX}-model-quality"}
    (endpoint,) = [
        k for k, r in serving["Resources"].items() if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    for schedule in schedules.values():
        config = schedule["Properties"]["MonitoringScheduleConfig"]
        assert config["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
        definition = config["MonitoringJobDefinitionName"]
        # Both are named by a string, so ordered by hand: the definition, and the endpoint
        # SageMaker may check for when the schedule is created.
        assert sorted(schedule["DependsOn"]) == sorted([definitions[definition], endpoint])
    for logical_id in definitions.values():
        assert serving["Resources"][logical_id]["DependsOn"] == [endpoint]
    types = {
        s["Properties"]["MonitoringScheduleConfig"]["MonitoringType"] for s in schedules.values()
    }
    assert types == {"DataQuality", "ModelQuality"}


def test_the_monitor_role_reads_captures_baselines_labels_and_writes_reports_only(
    serving: dict[str, Any],
) -> None:
    (role_id,) = [
        k
        for k, r in resources(serving, "AWS::IAM::Role").items()
        if r.get("RoleName") == f"{PREFIX}-model-monitor"
    ]
    assert resources(serving, "AWS::IAM::Role")[role_id]["AssumeRolePolicyDocument"]["Statement"][
        0
    ]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    statements = {
        s["Sid"]: s
        for p in resources(serving, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
    }
    reads = json.dumps(statements["ReadCapturedDataBaselinesAndLabels"]["Resource"])
    for prefix in ("/data-capture/*", "/monitoring/baseline/*", "/ground-truth/*"):
        assert prefix in reads
    assert json.dumps(statements["WriteReports"]["Resource"]).endswith('/monitoring/reports/*"]]}')
    writes = [s for s in statements.values() if "s3:PutObject" in json.dumps(s["Action"])]
    assert writes == [statements["WriteReports"]]
    metrics = statements["PublishModelMonitorMetrics"]
    assert metrics["Condition"]["StringEquals"]["cloudwatch:namespace"] == [
        "aws/sagemaker/Endpoints/data-metrics",
        "aws/sagemaker/Endpoints/model-metrics",
    ]
    assert statements["UseTheKeyThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"]
    # kms:GrantIsForAWSResource applies to the grant operations only: DescribeKey has a
    # statement of its own, or it is never allowed (issue 18, finding 8).
    assert statements["EncryptTheJobVolume"]["Action"] == "kms:CreateGrant"
    assert statements["DescribeTheKey"]["Action"] == "kms:DescribeKey"
    assert "Condition" not in statements["DescribeTheKey"]
    assert statements["EncryptTheJobVolume"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}
    }
    assert "sagemaker-model-monitor-analyzer" in json.dumps(statements["PullTheAnalyzerImage"])


def test_alarms_on_every_watched_features_drift_the_auc_and_failed_executions(
    serving: dict[str, Any],
) -> None:
    settings = load_settings("prod")
    alarms = {a["AlarmName"]: a for a in resources(serving, "AWS::CloudWatch::Alarm").values()}
    topic = next(k for k, r in serving["Resources"].items() if r["Type"] == "AWS::SNS::Topic")
    for feature in settings.model_monitor.drift_features:
        alarm = alarms[f"{PREFIX}-drift-{feature}"]
        assert alarm["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert alarm["MetricName"] == f"feature_baseline_drift_{feature}"
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "Endpoint": "mlserving-prod-c5-xlarge",
            "MonitoringSchedule": f"{PREFIX}-data-quality",
        }
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0.1)
        assert (alarm["Period"], alarm["Statistic"]) == (3600, "Maximum")
        assert alarm["AlarmActions"] == [{"Ref": topic}]
    auc = alarms[f"{PREFIX}-model-auc"]
    assert (auc["Namespace"], auc["MetricName"]) == ("aws/sagemaker/Endpoints/model-metrics", "auc")
    assert (auc["ComparisonOperator"], auc["Threshold"]) == ("LessThanThreshold", 0.95)
    failed = alarms[f"{PREFIX}-monitoring-failed"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/Events", "MatchedEvents")
    (rule_id,) = [
        k
        for k, r in resources(serving, "AWS::Events::Rule").items()
        if r.get("Name") == f"{PREFIX}-monitoring-failed"
    ]
    assert failed["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    rule = resources(serving, "AWS::Events::Rule")[rule_id]
    assert rule["EventPattern"]["detail"]["ProcessingJobStatus"] == ["Failed"]
    assert rule["Targets"][0]["Arn"] == {"Ref": topic}


@pytest.mark.parametrize("env", ["prod", "staging", "dev", "local", "lowtraffic", "batch"])
def test_model_monitor_is_opt_in_and_absent_from_every_shipped_environment(env: str) -> None:
    """Model Monitor is closed to new customers: an account that does not use it already
    refuses the job definitions and schedules and rolls the stack back (issue 18, finding 3).
    The in-account monitor is the default engine; Model Monitor is ``engine: sagemaker``."""
    from serving_config.model_monitoring import ModelMonitorSettings

    assert ModelMonitorSettings().engine == "own"
    assert load_settings(env).model_monitor.engine == "own"
    kinds = {r["Type"] for r in synth(env).serving_json["Resources"].values()}
    assert not {k for k in kinds if "Monitoring" in k or "QualityJobDefinition" in k}


def test_environments_without_monitoring_deploy_none_of_it() -> None:
    assert not load_settings("lowtraffic").model_monitor.enabled
    template = synth("lowtraffic").serving_json
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not any("Monitoring" in k or "QualityJobDefinition" in k for k in kinds)


def test_a_changed_property_or_tag_names_a_new_definition() -> None:
    """Job definitions cannot be updated: CloudFormation replaces them, which a fixed name
    would forbid."""

    def name(instance_type: str, tag: str) -> str:
        app = App()
        stack = Stack(app, "S")
        dq = sagemaker.CfnDataQualityJobDefinition
        properties = {
            "data_quality_app_specification": dq.DataQualityAppSpecificationProperty(image_uri="i"),
            "data_quality_job_input": dq.DataQualityJobInputProperty(),
            "data_quality_job_output_config": dq.MonitoringOutputConfigProperty(
                monitoring_outputs=[]
            ),
            "job_resources": dq.MonitoringResourcesProperty(
                cluster_config=dq.ClusterConfigProperty(
                    instance_count=1, instance_type=instance_type, volume_size_in_gb=1
                )
            ),
            "role_arn": "arn:aws:iam::123456789012:role/r",
        }
        digest_named(dq, stack, "D", "p", "dq", properties)
        Tags.of(app).add("team", tag)
        template = app.synth().get_stack_by_name("S").template
        (resource,) = template["Resources"].values()
        return str(resource["Properties"]["JobDefinitionName"])

    first = name("ml.m5.large", "a")
    assert first.startswith("p-dq-") and len(first) == len("p-dq-") + 10
    assert name("ml.m5.large", "a") == first
    assert len({first, name("ml.m5.xlarge", "a"), name("ml.m5.large", "b")}) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "cron(15 * ? * * *)"}, r"model_monitor.schedule: .* minutes field must be 0"),
        ({"max_runtime_s": 3600}, r"model_monitor.max_runtime_s: 3600 is outside 60-1800"),
        ({"drift_features": []}, r"model_monitor.drift_features: name the features"),
        ({"drift_features": ["a b"]}, r"drift_features\[0\]: 'a b' cannot be part of a CloudWatch"),
        ({"drift_threshold": 1.5}, r"model_monitor.drift_threshold: 1.5 is not a distance"),
        ({"instance_type": "m5.large"}, r"model_monitor.instance_type: 'm5.large' is not"),
        (
            {"retraining": {"enabled": True}, "enabled": False, "drift_features": []},
            r"model_monitor.retraining.enabled: retraining starts from the monitoring alarms",
        ),
    ],
)
def test_monitoring_configuration_errors_name_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    base = yaml.safe_load(Path("serving_config/environments/prod.yaml").read_text())
    base["model_monitor"] = {
        **base["model_monitor"],
        "enabled": True,
        "engine": "sagemaker",
        **change,
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(base))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"endpoint": {"kind": "serverless", "data_capture_percent": 0}, "scaling": None},
            r"model_monitor.enabled: monitoring reads the data capture, which serverless",
        ),
        (
            {"endpoint": {"data_capture_percent": 0}},
            r"model_monitor.enabled: monitoring reads captured requests",
        ),
    ],
)
def test_monitoring_needs_an_instance_endpoint_that_captures(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    base = yaml.safe_load(Path("serving_config/environments/prod.yaml").read_text())
    base["model_monitor"]["enabled"] = True
    for key, value in change.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(base))
    with pytest.raises(ConfigError, match=message):
        load_settings("test", tmp_path)
