"""What the in-account monitor synthesizes: a container-image function on a schedule, a
least-privilege role, alarms that keep their names, and Model Monitor only on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.drift_monitor.runtime.config import AnalyzerConfig
from serving_config import load_settings
from tests.synth_cache import synth, synth_monitored

PREFIX = "mlserving-prod"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def serving() -> dict[str, Any]:
    return synth("prod").serving_json


def monitor_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, p)
        for k, p in resources(template, "AWS::Lambda::Function").items()
        if p.get("FunctionName") == f"{PREFIX}-drift-monitor"
    ]
    return found


@pytest.mark.parametrize("env", ["prod", "staging", "dev", "local"])
def test_the_shipped_environments_watch_with_the_in_account_monitor(env: str) -> None:
    template = synth(env).serving_json
    functions = resources(template, "AWS::Lambda::Function")
    (image,) = [p for p in functions.values() if p.get("PackageType") == "Image"]
    assert image["FunctionName"].endswith("-drift-monitor")
    assert resources(template, "AWS::Scheduler::Schedule")
    assert not resources(template, "AWS::SageMaker::MonitoringSchedule")


def test_the_function_is_the_analyzer_image_built_from_the_repository(serving: Any) -> None:
    _, function = monitor_function(serving)
    image = json.dumps(function["Code"]["ImageUri"])
    assert "cdk-hnb659fds-container-assets" in image
    assert function["Architectures"] == ["x86_64"]
    assert function["MemorySize"] == 3008 and function["Timeout"] == 900
    assets = json.loads(next(synth("prod").outdir.glob("*serving.assets.json")).read_text())
    (docker,) = assets["dockerImages"].values()
    source = synth("prod").outdir / docker["source"]["directory"]
    assert (source / "Dockerfile").is_file() and (source / "handler.py").is_file()
    assert "evidently==0.7.23" in (source / "requirements.txt").read_text()
    tag = next(iter(docker["destinations"].values()))["imageTag"]
    assert tag in image


def test_the_environment_is_the_analyzers_typed_configuration(serving: Any) -> None:
    _, function = monitor_function(serving)
    variables = function["Environment"]["Variables"]
    literal = {k: v for k, v in variables.items() if isinstance(v, str)}
    assert set(variables) == {k.upper() for k in AnalyzerConfig.__dataclass_fields__}
    assert literal["NAMESPACE"] == f"{PREFIX}/model-monitor"
    assert literal["CAPTURE_PREFIX"].startswith("data-capture/") and literal[
        "CAPTURE_PREFIX"
    ].endswith("/")
    assert literal["WINDOW_HOURS"] == "1" and literal["LABEL_DELAY_HOURS"] == "24"
    assert literal["SAMPLE_SIZE"] == "10000" and literal["STATTEST"] == ""
    settings = {k: v if isinstance(v, str) else "token" for k, v in variables.items()}
    config = AnalyzerConfig.from_env(settings)  # the runtime reads what the construct wrote
    assert config.min_labels == 30 and config.model_quality is True


def test_the_schedule_invokes_it_hourly_with_the_scheduled_time(serving: Any) -> None:
    (schedule,) = resources(serving, "AWS::Scheduler::Schedule").values()
    assert schedule["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert schedule["ScheduleExpressionTimezone"] == "Etc/UTC"
    target = schedule["Target"]
    assert json.loads(target["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    trust = serving["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_role_reads_captures_labels_and_baseline_writes_reports_and_its_metrics(
    serving: Any,
) -> None:
    _, function = monitor_function(serving)
    role_id = function["Role"]["Fn::GetAtt"][0]
    statements = {
        s.get("Sid", json.dumps(s["Action"])): s
        for p in resources(serving, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
    }
    reads = json.dumps(statements["ReadCapturesLabelsAndTheBaseline"]["Resource"])
    for prefix in ("/data-capture/mlserving-prod-", "/ground-truth/*", "/monitoring/baseline/*"):
        assert prefix in reads
    assert json.dumps(statements["WriteReports"]["Resource"]).endswith(
        '/monitoring/reports/own/*"]]}'
    )
    writes = [s for s in statements.values() if "s3:PutObject" in json.dumps(s["Action"])]
    assert writes == [statements["WriteReports"]]
    metrics = statements["PublishItsMetrics"]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": f"{PREFIX}/model-monitor"}
    }
    assert statements["UseTheKeyThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"]
    listing = statements["ListTheWindowsCapturesAndLabels"]["Condition"]["StringLike"]["s3:prefix"]
    assert listing[1] == "ground-truth/*"
    assert not [s for s in statements.values() if "sagemaker:" in json.dumps(s["Action"])]
    assert "VpcConfig" in function  # prod is private: the monitor runs in its subnets


def test_drift_alarms_keep_their_names_and_read_evidentlys_verdict(serving: Any) -> None:
    alarms = {p["AlarmName"]: p for p in resources(serving, "AWS::CloudWatch::Alarm").values()}
    settings = load_settings("prod").model_monitor
    for feature in settings.drift_features:
        alarm = alarms[f"{PREFIX}-drift-{feature}"]
        assert alarm["MetricName"] == f"feature_drifted_{feature}"
        assert alarm["Namespace"] == f"{PREFIX}/model-monitor"
        assert (
            alarm["Threshold"] == 1
            and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        )
        assert "report.html" in json.dumps(alarm["AlarmDescription"])
    auc = alarms[f"{PREFIX}-model-auc"]
    assert auc["MetricName"] == "auc" and auc["Threshold"] == settings.min_auc
    failed = alarms[f"{PREFIX}-monitoring-failed"]
    queries = {q["Id"]: q for q in failed["Metrics"]}
    assert queries["expr_1"]["Expression"] == "FILL(errors, 0) + FILL(no_baseline, 0)"
    errors, no_baseline = queries["errors"]["MetricStat"], queries["no_baseline"]["MetricStat"]
    assert (errors["Metric"]["MetricName"], errors["Metric"]["Namespace"]) == (
        "Errors",
        "AWS/Lambda",
    )
    assert no_baseline["Metric"]["MetricName"] == "baseline_missing"
    assert no_baseline["Metric"]["Namespace"] == f"{PREFIX}/model-monitor"
    assert failed["Threshold"] == 1


def test_engine_sagemaker_still_synthesizes_model_monitor() -> None:
    template = synth_monitored("prod").serving_json
    assert len(resources(template, "AWS::SageMaker::MonitoringSchedule")) == 2
    assert resources(template, "AWS::SageMaker::DataQualityJobDefinition")
    assert not resources(template, "AWS::Scheduler::Schedule")
    assert not [
        p
        for p in resources(template, "AWS::Lambda::Function").values()
        if p.get("PackageType") == "Image"
    ]


def test_the_analyzer_image_installs_its_pinned_requirements() -> None:
    runtime = Path("ml_constructs/drift_monitor/runtime")
    dockerfile = (runtime / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
    assert 'CMD ["analyzer.handler.lambda_handler"]' in dockerfile
    for line in (runtime / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert "==" in line, line  # every requirement pinned


def _distribution_closure(pinned: set[str]) -> set[str]:
    """The pinned distributions and everything they require (as installed here)."""
    import re
    from importlib import metadata

    seen: set[str] = set()
    todo = list(pinned)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [
            re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r
        ]
    return seen


def test_the_analyzer_imports_only_itself_the_stdlib_and_what_its_image_installs() -> None:
    """The image holds runtime/*.py and its requirements.txt, nothing else of the project: an
    import of another module (or of a package the image does not install) would fail there,
    not in the tests or the rehearsal, which run in the project's environment."""
    import ast
    import sys
    from importlib import metadata

    runtime = Path("ml_constructs/drift_monitor/runtime")
    pinned = {
        line.split("==")[0]
        for line in (runtime / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    installed = _distribution_closure(pinned)
    distributions = metadata.packages_distributions()
    problems = []
    for source in sorted(runtime.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # the analyzer's own modules
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__":
                    continue
                owners = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
                if not owners & installed:
                    problems.append(f"{source.name}: {name} ({sorted(owners) or 'the project'})")
    assert not problems, problems
