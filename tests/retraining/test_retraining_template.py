"""Retraining in the synthesized templates (dev turns it on): what triggers it, what the
function may do, where failures go; off where configuration leaves it off."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serving_config import load_settings
from tests.synth_cache import synth, synth_monitored

PREFIX = "mlserving-dev"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def serving() -> dict[str, Any]:
    return synth_monitored("dev").serving_json


def function_id(template: dict[str, Any]) -> str:
    (found,) = [
        k
        for k, f in resources(template, "AWS::Lambda::Function").items()
        if f.get("FunctionName") == f"{PREFIX}-retraining"
    ]
    return found


def test_model_alarms_and_finished_jobs_invoke_the_function(serving: dict[str, Any]) -> None:
    fn = function_id(serving)
    rules = {
        k: r
        for k, r in resources(serving, "AWS::Events::Rule").items()
        if any(t["Arn"] == {"Fn::GetAtt": [fn, "Arn"]} for t in r.get("Targets", []))
    }
    patterns = {k: r["EventPattern"] for k, r in rules.items()}
    (alarm_id,) = [k for k, p in patterns.items() if p["source"] == ["aws.cloudwatch"]]
    assert patterns[alarm_id]["detail"] == {
        "alarmName": [{"prefix": f"{PREFIX}-drift-"}, {"prefix": f"{PREFIX}-model-auc"}],
        "state": {"value": ["ALARM"]},
    }
    assert patterns[alarm_id]["account"] == [{"Ref": "AWS::AccountId"}]
    (job_id,) = [k for k, p in patterns.items() if p["source"] == ["aws.sagemaker"]]
    assert patterns[job_id]["detail"]["TrainingJobName"] == [{"prefix": f"{PREFIX}-retrain-"}]
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 7200,
            "MaximumRetryAttempts": 2,
        }
        assert "DeadLetterConfig" in target
    permissions = [
        p
        for p in resources(serving, "AWS::Lambda::Permission").values()
        if p["FunctionName"] == {"Fn::GetAtt": [fn, "Arn"]}
    ]
    assert sorted(p["SourceArn"]["Fn::GetAtt"][0] for p in permissions) == sorted(rules)
    function = resources(serving, "AWS::Lambda::Function")[fn]
    env = function["Environment"]["Variables"]
    assert env["COOLDOWN_HOURS"] == "24" and env["PROMOTES_UPLOADS"] == "true"
    assert "tensorflow-training" in json.dumps(env["TRAINING_IMAGE_URI"])
    assert "DeadLetterConfig" in function


def test_the_function_starts_only_its_jobs_with_only_the_training_role(
    serving: dict[str, Any],
) -> None:
    fn = resources(serving, "AWS::Lambda::Function")[function_id(serving)]
    role_id = fn["Role"]["Fn::GetAtt"][0]
    statements = {
        s.get("Sid"): s
        for p in resources(serving, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
    }
    assert statements["LetSageMakerGrantTheKey"]["Action"] == "kms:CreateGrant"
    assert "Condition" not in statements["DescribeTheKey"]  # never under a grant-only key
    start = statements["StartAndReadRetrainingJobs"]
    assert json.dumps(start["Resource"]).endswith(f':training-job/{PREFIX}-retrain-*"]]}}')
    passing = statements["PassOnlyTheTrainingRole"]
    assert "SageMakerRolesTraining" in json.dumps(passing["Resource"])
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    staged = json.dumps(statements["StageTheTrainingCode"]["Resource"])
    assert staged.endswith(f'/models/training-jobs/{PREFIX}-retrain-*/input/code/*"]]}}')
    everything = json.dumps(list(statements.values()))
    assert '"sagemaker:*"' not in everything and '"s3:*"' not in everything
    (dlq,) = [
        q
        for q in resources(serving, "AWS::SQS::Queue").values()
        if q.get("QueueName") == f"{PREFIX}-retraining-dlq"
    ]
    assert "EncryptionKey" in json.dumps(dlq["KmsMasterKeyId"])


def test_retraining_is_off_unless_configured() -> None:
    assert not load_settings("prod").model_monitor.retraining.enabled
    names = [
        f.get("FunctionName")
        for f in resources(synth("prod").serving_json, "AWS::Lambda::Function").values()
    ]
    assert "mlserving-prod-retraining" not in names
