"""The delivery pipeline as synthesized from serving_config/environments/pipeline.yaml: its order
and gates, its cross-account trust and encryption, and stages identical to the plain workflow."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from app_factory import build_app
from serving_config import ENVIRONMENTS_DIR, load_pipeline
from tests.synth_cache import SynthesizedPipeline, synth_pipeline

TOOLING, STAGING, PROD = "333333333333", "111111111111", "222222222222"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def synthesized() -> SynthesizedPipeline:
    return synth_pipeline("pipeline")


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def the_pipeline(synthesized: SynthesizedPipeline) -> dict[str, Any]:
    (pipeline,) = resources(synthesized.pipeline_json, "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]


def actions(synthesized: SynthesizedPipeline, stage: str) -> list[dict[str, Any]]:
    (found,) = [s for s in the_pipeline(synthesized)["Stages"] if s["Name"] == stage]
    return sorted(found["Actions"], key=lambda a: a["RunOrder"])


def flat(value: Any) -> str:
    """A CloudFormation value with its Fn::Join parts joined (``${AWS::Partition}`` for Ref)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(flat(part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    return value if isinstance(value, str) else json.dumps(value)


def buildspec(synthesized: SynthesizedPipeline, project_ref: dict[str, str]) -> dict[str, Any]:
    project = synthesized.pipeline_json["Resources"][project_ref["Ref"]]
    spec: dict[str, Any] = json.loads(project["Properties"]["Source"]["BuildSpec"])
    return spec


def commands(spec: dict[str, Any]) -> list[str]:
    return [c for phase in spec["phases"].values() for c in phase.get("commands", [])]


def policy_statements(synthesized: SynthesizedPipeline, role_id_prefix: str) -> list[Any]:
    return [
        statement
        for policy in resources(synthesized.pipeline_json, "AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role_id_prefix) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def assumable(statements: list[Any]) -> set[str]:
    """Every role an Allow statement lets the principal assume."""
    found: set[str] = set()
    for statement in statements:
        if statement["Effect"] == "Allow" and "sts:AssumeRole" in statement["Action"]:
            targets = statement["Resource"]
            found |= {flat(t) for t in (targets if isinstance(targets, list) else [targets])}
    return found


def bootstrap_role(kind: str, account: str) -> str:
    return (
        f"arn:${{AWS::Partition}}:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-{REGION}"
    )


def test_stages_run_source_synth_staging_check_approval_prod(
    synthesized: SynthesizedPipeline,
) -> None:
    names = [stage["Name"] for stage in the_pipeline(synthesized)["Stages"]]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "staging", "prod"]
    (source,) = actions(synthesized, "Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["FullRepositoryId"] == "example-org/sagemaker-serving-cdk"
    assert source["Configuration"]["BranchName"] == "main"
    staging = [a["Name"] for a in actions(synthesized, "staging")]
    assert staging == [
        "mlserving-staging-data.Prepare",
        "mlserving-staging-data.Deploy",
        "mlserving-staging-serving.PublishFirstModel",
        "mlserving-staging-serving.Prepare",
        "mlserving-staging-serving.Deploy",
        "PredictionCheck",
    ]
    orders = [a["RunOrder"] for a in actions(synthesized, "staging")]
    assert orders == sorted(set(orders)), "each staging action waits for the one before it"
    prod = actions(synthesized, "prod")
    assert prod[0]["Name"] == "Approve-prod" and prod[0]["ActionTypeId"]["Category"] == "Approval"
    assert all(a["RunOrder"] > prod[0]["RunOrder"] for a in prod[1:])
    assert [a["Name"] for a in prod[1:]] == [
        "mlserving-prod-data.Prepare",
        "mlserving-prod-data.Deploy",
        "mlserving-prod-serving.PublishFirstModel",
        "mlserving-prod-serving.Prepare",
        "mlserving-prod-serving.Deploy",
    ]


def test_synth_runs_the_readme_test_command_then_trains_then_synthesizes(
    synthesized: SynthesizedPipeline,
) -> None:
    (synth,) = actions(synthesized, "Build")
    steps = commands(buildspec(synthesized, synth["Configuration"]["ProjectName"]))
    test, train, synth_command = (
        next(i for i, c in enumerate(steps) if pattern in c)
        for pattern in ("scripts/test.sh", "model_code.train", "cdk synth -c env=pipeline")
    )
    assert test < train < synth_command
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "scripts/test.sh       # the whole test suite" in readme


def test_each_stage_publishes_the_first_model_only_when_none_exists(
    synthesized: SynthesizedPipeline,
) -> None:
    for stage in ("staging", "prod"):
        (publish,) = [a for a in actions(synthesized, stage) if "PublishFirstModel" in a["Name"]]
        step = commands(buildspec(synthesized, publish["Configuration"]["ProjectName"]))[-1]
        assert step.startswith('bash scripts/as_role.sh "$DEPLOYER_ROLE_ARN" ')
        assert f"deploy_tools.publish_model --env {stage} " in step and "--if-missing" in step
        variables = json.loads(publish["Configuration"]["EnvironmentVariables"])
        assert variables == [
            {
                "name": "DEPLOYER_ROLE_ARN",
                "type": "PLAINTEXT",
                "value": next(
                    f"#{{{a['Namespace']}.DeployerRoleArn}}"
                    for a in actions(synthesized, stage)
                    if a["Name"] == f"mlserving-{stage}-data.Deploy"
                ),
            }
        ]


def test_the_staging_check_calls_the_deployed_api_with_the_configured_floors(
    synthesized: SynthesizedPipeline,
) -> None:
    check = actions(synthesized, "staging")[-1]
    step = commands(buildspec(synthesized, check["Configuration"]["ProjectName"]))[-1]
    test = load_pipeline("pipeline").stages[0].stage.post_deploy_test
    assert test is not None
    assert "deploy_tools.check_deployment" in step and "--rows release/held-out.csv" in step
    assert f"--min-accuracy {test.min_accuracy} --min-auc {test.min_auc}" in step
    variables = {
        v["name"]: v["value"] for v in json.loads(check["Configuration"]["EnvironmentVariables"])
    }
    serving_deploy = next(
        a
        for a in actions(synthesized, "staging")
        if a["Name"] == "mlserving-staging-serving.Deploy"
    )
    assert variables["INFERENCE_API_URL"] == f"#{{{serving_deploy['Namespace']}.InferenceApiUrl}}"
    assert not [a for a in actions(synthesized, "prod") if "Check" in a["Name"]]


def test_the_pipeline_role_assumes_only_its_action_roles_and_the_stages_deploy_roles(
    synthesized: SynthesizedPipeline,
) -> None:
    pipeline_role = the_pipeline(synthesized)["RoleArn"]["Fn::GetAtt"][0]
    targets = assumable(policy_statements(synthesized, pipeline_role))
    own_roles = set(resources(synthesized.pipeline_json, "AWS::IAM::Role"))
    foreign = {
        t for t in targets if not any(t == f'{{"Fn::GetAtt": ["{r}", "Arn"]}}' for r in own_roles)
    }
    assert foreign == {bootstrap_role("deploy", STAGING), bootstrap_role("deploy", PROD)}
    for stage, account in (("staging", STAGING), ("prod", PROD)):
        deploys = [
            a
            for a in actions(synthesized, stage)
            if a["ActionTypeId"]["Provider"] == "CloudFormation"
        ]
        assert {flat(a["RoleArn"]) for a in deploys} == {bootstrap_role("deploy", account)}
        assert {
            flat(a["Configuration"]["RoleArn"]) for a in deploys if "RoleArn" in a["Configuration"]
        } == {bootstrap_role("cfn-exec", account)}


def test_asset_publishing_and_self_mutation_reach_only_bootstrap_roles(
    synthesized: SynthesizedPipeline,
) -> None:
    assets = assumable(policy_statements(synthesized, "DeliveryPipelineAssetsFileRole"))
    assert assets == {bootstrap_role("file-publishing", a) for a in (STAGING, PROD)}
    mutation = policy_statements(synthesized, "DeliveryPipelineUpdatePipelineSelfMutationRole")
    (guard,) = [s for s in mutation if s["Effect"] == "Deny"]
    assert guard["Action"] == "sts:AssumeRole"
    assert sorted(guard["NotResource"]) == sorted(
        bootstrap_role(kind, TOOLING).replace("${AWS::Partition}", "aws")
        for kind in ("deploy", "file-publishing", "image-publishing")
    )


def test_step_roles_assume_only_their_environments_deployer_role(
    synthesized: SynthesizedPipeline,
) -> None:
    roles = resources(synthesized.pipeline_json, "AWS::IAM::Role")
    for stage, account in (("staging", STAGING), ("prod", PROD)):
        (role_id,) = [
            k
            for k, r in roles.items()
            if r["Properties"].get("RoleName") == f"mlserving-pipeline-{stage}"
        ]
        assert roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
            "Principal"
        ] == {"Service": "codebuild.amazonaws.com"}
        targets = assumable(policy_statements(synthesized, role_id))
        assert targets == {f"arn:aws:iam::{account}:role/mlserving-{stage}-deployer"}


def test_each_deployer_role_trusts_exactly_its_stages_step_role(
    synthesized: SynthesizedPipeline,
) -> None:
    for stage in ("staging", "prod"):
        data = synthesized.stages[stage][f"mlserving-{stage}-data"]
        (deployer,) = [
            r
            for r in resources(data, "AWS::IAM::Role").values()
            if r["Properties"].get("RoleName") == f"mlserving-{stage}-deployer"
        ]
        statements = deployer["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        (pipeline_trust,) = [s for s in statements if "Condition" in s]
        assert flat(pipeline_trust["Principal"]["AWS"]) == f"arn:aws:iam::{TOOLING}:root"
        assert pipeline_trust["Condition"] == {
            "ArnEquals": {
                "aws:PrincipalArn": [f"arn:aws:iam::{TOOLING}:role/mlserving-pipeline-{stage}"]
            }
        }


def test_artifacts_are_encrypted_with_a_rotated_key_the_stages_may_only_decrypt(
    synthesized: SynthesizedPipeline,
) -> None:
    store = the_pipeline(synthesized)["ArtifactStore"]
    (key_id,) = resources(synthesized.pipeline_json, "AWS::KMS::Key")
    assert store["EncryptionKey"] == {"Id": {"Fn::GetAtt": [key_id, "Arn"]}, "Type": "KMS"}
    key = synthesized.pipeline_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    bucket = synthesized.pipeline_json["Resources"][store["Location"]["Ref"]]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in bucket
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    foreign = [
        (statement["Action"], flat(principal))
        for statement in key["KeyPolicy"]["Statement"]
        for principal in _principals(statement)
        if TOOLING not in flat(principal)
    ]
    assert sorted(foreign) == sorted(
        (["kms:Decrypt", "kms:DescribeKey"], bootstrap_role("deploy", a)) for a in (STAGING, PROD)
    )


def _principals(statement: dict[str, Any]) -> list[Any]:
    principal = statement.get("Principal", {}).get("AWS", [])
    return principal if isinstance(principal, list) else [principal]


def test_the_source_action_uses_the_connections_own_service_prefix(
    synthesized: SynthesizedPipeline,
) -> None:
    """CDK grants codestar-connections:UseConnection whatever the ARN; IAM needs the prefix
    of a codeconnections ARN (issue 18, finding 4)."""
    connection = load_pipeline("pipeline").pipeline.source.connection_arn
    assert ":codeconnections:" in connection
    uses = [
        s
        for r in synthesized.pipeline_json["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "UseConnection" in json.dumps(s["Action"])
    ]
    assert uses == [
        {"Action": "codeconnections:UseConnection", "Effect": "Allow", "Resource": connection}
    ]


def test_no_allow_statement_names_a_wildcard_principal(synthesized: SynthesizedPipeline) -> None:
    templates = [synthesized.pipeline_json] + [
        t for stage in synthesized.stages.values() for t in stage.values()
    ]
    text = json.dumps(templates)
    for statement in re.findall(r'\{"Action[^{}]*?"Principal": "\*"[^{}]*\}', text):
        assert '"Effect": "Deny"' in statement, statement
    for template in templates:
        for resource in template.get("Resources", {}).values():
            for statement in _all_statements(resource):
                if statement.get("Effect") == "Allow" and statement.get("Principal") in (
                    "*",
                    {"AWS": "*"},
                ):
                    # A gateway endpoint's policy can name the account's roles only this way
                    # (an account principal there means its root user): aws:PrincipalAccount.
                    assert resource["Type"] == "AWS::EC2::VPCEndpoint", statement
                    assert resource["Properties"]["VpcEndpointType"] == "Gateway", statement
                    if statement.get("Sid") == "EcrImageLayers":
                        # ECR's presigned layer downloads: read of ECR's own bucket, which no
                        # principal condition could match (tests/infra/test_network.py).
                        assert statement["Action"] == "s3:GetObject", statement
                        assert "starport-layer-bucket/*" in json.dumps(statement["Resource"])
                        continue
                    assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == {
                        "Ref": "AWS::AccountId"
                    }, statement


def _all_statements(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value] if "Effect" in value else []
        return found + [s for v in value.values() for s in _all_statements(v)]
    if isinstance(value, list):
        return [s for v in value for s in _all_statements(v)]
    return []


def test_every_stage_is_what_the_plain_workflow_synthesizes_for_that_environment(
    synthesized: SynthesizedPipeline,
) -> None:
    """`-c env=NAME` of the stage's environment file, with the account, region and trusted
    role the pipeline resolved written into it, gives the same templates, byte for byte."""
    config_dir = Path(tempfile.mkdtemp(prefix="stage-envs-"))
    delivery = load_pipeline("pipeline")
    for stage in delivery.stages:
        settings = stage.settings
        raw = yaml.safe_load((ENVIRONMENTS_DIR / f"{settings.name}.yaml").read_text())
        raw.update(
            account=settings.account,
            region=settings.region,
            deployer_trusted_roles=list(settings.deployer_trusted_roles),
        )
        (config_dir / f"{settings.name}.yaml").write_text(yaml.safe_dump(raw))
    for stage in delivery.stages:
        name = stage.settings.name
        app = build_app(context={"env": name, "config_dir": str(config_dir)})
        plain = {s.stack_name: s.template for s in app.synth().stacks}
        assert sorted(plain) == sorted(synthesized.stages[name])
        for stack_name, template in plain.items():
            assert synthesized.stages[name][stack_name] == template, stack_name


def test_a_wildcard_of_no_known_kind_fails_instead_of_being_acknowledged() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3

    from ml_constructs.delivery.findings import acknowledge_pipeline_roles
    from ml_constructs.nag import nag_logical_id

    stack = Stack(App(), "Probe")
    bucket = s3.Bucket(stack, "Artifacts")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
    bucket.grant_read(role)
    acknowledge_pipeline_roles(stack, bucket_logical_id=nag_logical_id(bucket), role_patterns={})
    role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=["*"]))
    with pytest.raises(
        ValueError, match=r"Probe/Role/DefaultPolicy: unexpected wildcard Resource::\*"
    ):
        acknowledge_pipeline_roles(
            stack, bucket_logical_id=nag_logical_id(bucket), role_patterns={}
        )
