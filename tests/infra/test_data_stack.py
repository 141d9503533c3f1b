"""Security properties of the data stack: key, bucket, roles (dev environment's template)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.synth_cache import synth, synth_monitored


@pytest.fixture(scope="module")
def data() -> Template:
    return synth("dev").data


@pytest.fixture(scope="module")
def data_json() -> dict[str, Any]:
    return synth("dev").data_json


def resources_of(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def artifact_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    buckets = resources_of(template, "AWS::S3::Bucket")
    (logical_id,) = [k for k, v in buckets.items() if "LoggingConfiguration" in v["Properties"]]
    return logical_id, buckets[logical_id]


def test_kms_key_rotates_and_has_an_environment_alias(data: Template) -> None:
    data.resource_count_is("AWS::KMS::Key", 1)
    data.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    data.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlserving-dev"})


def test_key_policy_lets_only_this_apps_roles_use_the_key(data_json: dict[str, Any]) -> None:
    (key,) = resources_of(data_json, "AWS::KMS::Key").values()
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    admin = statements["KeyAdministration"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:*"} & set(admin["Action"])
    use = statements["UseByThisAppsRoles"]
    assert "kms:Decrypt" in use["Action"]
    assert json.dumps(use["Condition"]["ArnLike"]["aws:PrincipalArn"]).endswith(
        ':role/mlserving-dev-*"]]}'
    )
    logs = statements["CloudWatchLogsEncryption"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["StringLike"]
    # DescribeKey carries no encryption context: under this condition it is never allowed.
    assert "kms:DescribeKey" not in logs["Action"]
    own_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    alarms = statements["AlarmsToTheEncryptedTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == own_account
    queues = statements["EventsToTheEncryptedQueues"]
    assert queues["Principal"] == {"Service": "events.amazonaws.com"}
    assert queues["Condition"] == own_account
    for services in (alarms, queues):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} == set(services["Action"])
    # No EventBridge rule sends to the encrypted topic here (Model Monitor is off).
    assert "EventsToTheEncryptedTopic" not in statements


def test_eventbridge_uses_the_key_for_the_topic_without_a_source_condition() -> None:
    """With Model Monitor on, EventBridge publishes failed executions to the encrypted topic:
    AWS documents that key statement without a condition and no page says aws:SourceAccount
    is sent there, so a conditioned statement could drop every notification."""
    (key,) = resources_of(synth_monitored("dev").data_json, "AWS::KMS::Key").values()
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    topic = statements["EventsToTheEncryptedTopic"]
    assert topic["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(topic["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert "Condition" not in topic


def test_bucket_uses_kms_with_bucket_key(data: Template) -> None:
    data.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": Match.any_value(),
                        },
                    }
                ]
            }
        },
    )


def test_bucket_is_versioned_private_and_logged(data_json: dict[str, Any]) -> None:
    _, bucket = artifact_bucket(data_json)
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    logging = props["LoggingConfiguration"]
    assert logging["LogFilePrefix"] == "artifacts/"
    assert "Ref" in logging["DestinationBucketName"]


def test_bucket_lifecycle_expires_old_versions_and_aborts_uploads(
    data_json: dict[str, Any],
) -> None:
    _, bucket = artifact_bucket(data_json)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert (
        rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    )
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }


def test_bucket_denies_requests_without_tls(data_json: dict[str, Any]) -> None:
    logical_id, _ = artifact_bucket(data_json)
    policies = [
        p
        for p in resources_of(data_json, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Action"] == "s3:*"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_publishes_object_events_to_eventbridge(data_json: dict[str, Any]) -> None:
    _, bucket = artifact_bucket(data_json)
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_access_log_bucket_is_private_encrypted_and_tls_only(data_json: dict[str, Any]) -> None:
    logical_id, bucket = artifact_bucket(data_json)
    log_id = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    log_bucket = data_json["Resources"][log_id]["Properties"]
    sse = log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert log_bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert log_id != logical_id


def test_dev_sandbox_is_destroyed_with_the_stack(data_json: dict[str, Any]) -> None:
    _, bucket = artifact_bucket(data_json)
    assert bucket["DeletionPolicy"] == "Delete"
    assert resources_of(data_json, "Custom::S3AutoDeleteObjects")


def test_prod_retains_data() -> None:
    prod = synth("prod").data_json
    _, bucket = artifact_bucket(prod)
    assert bucket["DeletionPolicy"] == "Retain"
    (key,) = resources_of(prod, "AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain"
    assert not resources_of(prod, "Custom::S3AutoDeleteObjects")


def policy_of_role(template: dict[str, Any], role_name: str) -> list[dict[str, Any]]:
    roles = resources_of(template, "AWS::IAM::Role")
    (role_id,) = [k for k, v in roles.items() if v["Properties"].get("RoleName") == role_name]
    statements: list[dict[str, Any]] = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def s3_resources(statements: list[dict[str, Any]], action: str) -> list[str]:
    found = []
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action in actions:
            resources = statement["Resource"]
            found.extend(resources if isinstance(resources, list) else [resources])
    return [json.dumps(r) for r in found]


def test_execution_role_reads_only_models_and_writes_only_data_capture(
    data_json: dict[str, Any],
) -> None:
    statements = policy_of_role(data_json, "mlserving-dev-sagemaker-execution")
    reads = s3_resources(statements, "s3:GetObject")
    writes = s3_resources(statements, "s3:PutObject")
    assert len(reads) == 1 and reads[0].endswith('/models/*"]]}')
    assert len(writes) == 1 and writes[0].endswith('/data-capture/*"]]}')
    assert not s3_resources(statements, "s3:DeleteObject")


def test_execution_role_reads_this_environments_rollback_alarms(
    data_json: dict[str, Any],
) -> None:
    """Deployment guardrails read the auto-rollback alarms with the model's execution role."""
    statements = policy_of_role(data_json, "mlserving-dev-sagemaker-execution")
    (describe,) = [s for s in statements if s["Action"] == "cloudwatch:DescribeAlarms"]
    assert json.dumps(describe["Resource"]).endswith(':alarm:mlserving-dev-*"]]}')


def test_training_role_reads_datasets_and_writes_models(data_json: dict[str, Any]) -> None:
    """Exactly what the launcher's jobs read and write (model_code/launch_training.py): the
    data set channels under datasets/, the code the SDK stages under
    models/training-jobs/<job>/input/, and the output under models/."""
    from model_code import launch_training

    statements = policy_of_role(data_json, "mlserving-dev-sagemaker-training")
    reads = s3_resources(statements, "s3:GetObject")
    writes = s3_resources(statements, "s3:PutObject")
    assert len(reads) == 2
    assert reads[0].endswith('/datasets/*"]]}')
    assert reads[1].endswith('/models/training-jobs/*/input/*"]]}')
    assert len(writes) == 1 and writes[0].endswith('/models/*"]]}')
    assert f"{launch_training.DATASETS_PREFIX}/" == "datasets/"
    assert f"{launch_training.TRAINING_JOBS_PREFIX}/" == "models/training-jobs/"


@pytest.mark.parametrize(
    ("role", "repository"),
    [
        ("mlserving-dev-sagemaker-execution", "tensorflow-inference"),
        ("mlserving-dev-sagemaker-training", "tensorflow-training"),
    ],
)
def test_image_pulls_are_scoped_to_the_aws_framework_repository(
    data_json: dict[str, Any], role: str, repository: str
) -> None:
    statements = policy_of_role(data_json, role)
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    resource = json.dumps(pull["Resource"])
    assert "Fn::FindInMap" in resource  # the AWS-owned registry account of the region
    assert resource.endswith(f':repository/{repository}"]]}}')
    (auth,) = [s for s in statements if s["Action"] == "ecr:GetAuthorizationToken"]
    assert auth["Resource"] == "*"


def test_metrics_statement_is_limited_to_sagemaker_namespaces(data_json: dict[str, Any]) -> None:
    statements = policy_of_role(data_json, "mlserving-dev-sagemaker-execution")
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"]["StringLike"]["cloudwatch:namespace"] == [
        "/aws/sagemaker/Endpoints",
        "AWS/SageMaker",
    ]


def all_templates() -> list[dict[str, Any]]:
    templates = []
    for env in ("dev", "prod", "lowtraffic"):
        synthesized = synth(env)
        templates += [synthesized.data_json, synthesized.serving_json]
    return templates


def test_no_iam_statement_allows_every_action() -> None:
    for template in all_templates():
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"):
            for resource in resources_of(template, kind).values():
                text = json.dumps(resource["Properties"])
                assert '"Action": "*"' not in text
                assert '"*:*"' not in text


def test_no_aws_managed_full_access_policy() -> None:
    for template in all_templates():
        for role in resources_of(template, "AWS::IAM::Role").values():
            managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
            assert "FullAccess" not in managed


def test_outputs_tell_users_where_to_upload(data: Template) -> None:
    for name in (
        "BucketName",
        "KeyArn",
        "ExecutionRoleArn",
        "TrainingRoleArn",
        "ModelArtifactParameter",
    ):
        data.has_output(name, {})
    data.has_output("ModelArtifactParameter", {"Value": "/mlserving/dev/model-data-url"})


def test_deployer_registers_versions_of_its_group_but_cannot_approve(
    data_json: dict[str, Any],
) -> None:
    """register_model's calls, scoped to this environment's group; approving (UpdateModelPackage)
    is a separate right, so registering a model never promotes it by itself."""
    statements = {s.get("Sid"): s for s in policy_of_role(data_json, "mlserving-dev-deployer")}
    read = statements["ReadTheGroupAndItsVersions"]
    assert sorted(read["Action"]) == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
    ]
    resources = json.dumps(read["Resource"])
    assert ":model-package-group/mlserving-dev" in resources
    assert ":model-package/mlserving-dev/*" in resources
    register = statements["RegisterPendingVersions"]
    assert register["Action"] == "sagemaker:CreateModelPackage"
    assert json.dumps(register["Resource"]).endswith(':model-package/mlserving-dev/*"]]}')
    assert register["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    }
    assert statements["ListModelVersions"]["Resource"] == "*"  # List* has no resource level
    assert statements["ListModelVersions"]["Action"] == "sagemaker:ListModelPackages"
    everything = json.dumps(list(statements.values()))
    assert "UpdateModelPackage" not in everything and "sagemaker:*" not in everything
