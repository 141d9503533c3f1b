"""The DeployPreconditions pack (ml_constructs.preconditions): each rule on a compliant and a
non-compliant stack, acknowledgments, and every environment and the pipeline at 0.

The stacks are raw CloudFormation resources (what the rules read), all in one app synthesized
once: each rule's pair of stacks has its own VPC, key and names, so no rule sees another
pair's resources.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnResource, Stack, Validations

from ml_constructs.nag import acknowledge
from ml_constructs.preconditions.pack import PACK_NAME, DeployPreconditionChecks, pack_report
from ml_constructs.preconditions.requirements import (
    LAMBDA_SQS_POLLER_ACTIONS,
    LAMBDA_VPC_ACTIONS,
    SAGEMAKER_VPC_ACTIONS,
)
from ml_constructs.preconditions.rules import RULES
from serving_config import available_environments
from tests.synth_cache import synth, synth_monitored, synth_pipeline

ACCOUNT_CONDITION = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def resource(stack: Stack, name: str, kind: str, **properties: Any) -> CfnResource:
    return CfnResource(stack, name, type=kind, properties=properties)


def ref(r: CfnResource) -> dict[str, str]:
    return {"Ref": r.logical_id}


def arn(r: CfnResource) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [r.logical_id, "Arn"]}


def network(stack: Stack) -> tuple[CfnResource, CfnResource]:
    vpc = resource(stack, "Vpc", "AWS::EC2::VPC", CidrBlock="10.0.0.0/16")
    subnet = resource(stack, "Subnet", "AWS::EC2::Subnet", VpcId=ref(vpc), CidrBlock="10.0.0.0/24")
    return vpc, subnet


def role(stack: Stack, name: str, statements: list[dict[str, Any]]) -> tuple[CfnResource, Any]:
    """A role and its attached policy (None without statements)."""
    created = resource(
        stack,
        name,
        "AWS::IAM::Role",
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    if not statements:
        return created, None
    policy = resource(
        stack,
        f"{name}Policy",
        "AWS::IAM::Policy",
        PolicyName="p",
        Roles=[ref(created)],
        PolicyDocument={"Version": "2012-10-17", "Statement": statements},
    )
    return created, policy


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def function(
    stack: Stack, name: str, fn_role: CfnResource, subnet: CfnResource | None, **extra: Any
) -> CfnResource:
    properties: dict[str, Any] = {
        "Role": arn(fn_role),
        "Runtime": "python3.12",
        "Handler": "h.h",
        "Code": {"ZipFile": "x"},
        **extra,
    }
    if subnet is not None:
        properties["VpcConfig"] = {"SubnetIds": [ref(subnet)], "SecurityGroupIds": ["sg-1"]}
    return resource(stack, name, "AWS::Lambda::Function", **properties)


# -- the stacks ---------------------------------------------------------------------------------


def lambda_vpc(app: App) -> None:
    ok = Stack(app, "LambdaVpcOk")
    _, subnet = network(ok)
    fn_role, policy = role(ok, "Role", [allow(list(LAMBDA_VPC_ACTIONS))])
    function(ok, "Fn", fn_role, subnet).add_dependency(policy)
    function(ok, "OutsideTheVpc", role(ok, "Plain", [])[0], None)

    bad = Stack(app, "LambdaVpcBad")
    _, subnet = network(bad)
    function(bad, "NoEni", role(bad, "Role", [allow("s3:GetObject")])[0], subnet)
    eni_role, _ = role(bad, "EniRole", [allow(list(LAMBDA_VPC_ACTIONS))])
    function(bad, "NotAfterThePolicy", eni_role, subnet)


def sagemaker_vpc(app: App) -> None:
    ok = Stack(app, "SageMakerVpcOk")
    _, subnet = network(ok)
    model_role, _ = role(ok, "Role", [allow(list(SAGEMAKER_VPC_ACTIONS))])
    vpc_config = {"Subnets": [ref(subnet)], "SecurityGroupIds": ["sg-1"]}
    resource(
        ok, "Model", "AWS::SageMaker::Model", ExecutionRoleArn=arn(model_role), VpcConfig=vpc_config
    )

    bad = Stack(app, "SageMakerVpcBad")
    _, subnet = network(bad)
    interface = [a for a in SAGEMAKER_VPC_ACTIONS if "Describe" not in a]
    describe = [
        a for a in SAGEMAKER_VPC_ACTIONS if "Describe" in a and a != "ec2:DescribeVpcEndpoints"
    ]
    vpc_arn = {"ArnEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"}}
    model_role, _ = role(bad, "Role", [allow(interface, Condition=vpc_arn), allow(describe)])
    vpc_config = {"Subnets": [ref(subnet)], "SecurityGroupIds": ["sg-1"]}
    resource(
        bad,
        "Model",
        "AWS::SageMaker::Model",
        ExecutionRoleArn=arn(model_role),
        VpcConfig=vpc_config,
    )
    # A function that hands SageMaker a VpcConfig with a role it may pass: that role too.
    passed, _ = role(bad, "Passed", [allow("sagemaker:DescribeModel")])
    starter, _ = role(bad, "Starter", [allow("iam:PassRole", arn(passed))])
    function(
        bad, "Starts", starter, None, Environment={"Variables": {"VPC_CONFIG": '{"Subnets":["s"]}'}}
    )


def depends_on(app: App) -> None:
    for name, ordered in (("DependsOnOk", True), ("DependsOnBad", False)):
        stack = Stack(app, name)
        endpoint = resource(
            stack,
            "Endpoint",
            "AWS::SageMaker::Endpoint",
            EndpointName=f"{name}-ep",
            EndpointConfigName="c",
        )
        schedule = resource(
            stack,
            "Schedule",
            "AWS::SageMaker::MonitoringSchedule",
            MonitoringScheduleName="s",
            EndpointName=f"{name}-ep",
            MonitoringScheduleConfig={},
        )
        target = resource(
            stack,
            "Target",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            ResourceId=f"endpoint/{name}-ep/variant/AllTraffic",
            ServiceNamespace="sagemaker",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
        queue = resource(stack, "Queue", "AWS::SQS::Queue")
        grants = [allow(list(LAMBDA_SQS_POLLER_ACTIONS), arn(queue))] if ordered else []
        fn_role, policy = role(stack, "Role", grants)
        fn = function(stack, "Fn", fn_role, None)
        if ordered:
            schedule.add_dependency(endpoint)
            target.add_dependency(endpoint)
            fn.add_dependency(policy)
        resource(
            stack,
            "Mapping",
            "AWS::Lambda::EventSourceMapping",
            FunctionName=ref(fn),
            EventSourceArn=arn(queue),
        )


def gateway(app: App) -> None:
    for name, admitted in (("GatewayOk", True), ("GatewayBad", False)):
        stack = Stack(app, name)
        vpc, subnet = network(stack)
        bucket = resource(stack, "Bucket", "AWS::S3::Bucket")
        layers = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",
        }
        if not admitted:  # as the stack had it: a condition presigned downloads never match
            layers["Condition"] = {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}
        own = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [arn(bucket), {"Fn::Join": ["", [arn(bucket), "/*"]]}],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}},
        }
        resource(
            stack,
            "S3Endpoint",
            "AWS::EC2::VPCEndpoint",
            ServiceName="com.amazonaws.us-east-1.s3",
            VpcEndpointType="Gateway",
            VpcId=ref(vpc),
            PolicyDocument={"Version": "2012-10-17", "Statement": [own, layers]},
        )
        reads = [{"Fn::Join": ["", [arn(bucket), "/models/*"]]}]
        if not admitted:
            reads.append("arn:aws:s3:::other-account-artifacts/models/*")
        fn_role, _ = role(stack, "Role", [allow("s3:GetObject", reads)])
        function(stack, "Fn", fn_role, subnet)
        model_role, _ = role(
            stack,
            "ModelRole",
            [allow("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:us-east-1:1:repository/r")],
        )
        vpc_config = {"Subnets": [ref(subnet)], "SecurityGroupIds": ["sg-1"]}
        resource(
            stack,
            "Model",
            "AWS::SageMaker::Model",
            ExecutionRoleArn=arn(model_role),
            VpcConfig=vpc_config,
        )


def key(app: App) -> None:
    for name, supported in (("KeyOk", True), ("KeyBad", False)):
        stack = Stack(app, name)
        events = {"Service": "events.amazonaws.com"}
        statements = [
            allow(
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                Principal={"Service": "cloudwatch.amazonaws.com"},
                Condition=ACCOUNT_CONDITION,
            ),
            # EventBridge to a topic: no condition is documented there.
            allow(["kms:Decrypt", "kms:GenerateDataKey*"], Principal=events)
            if supported
            else allow(
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                Principal=events,
                Condition=ACCOUNT_CONDITION,
            ),
        ]
        if supported:
            statements.append(
                allow(
                    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                    Principal={
                        "Service": {
                            "Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
                        }
                    },
                    Condition={
                        "StringLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}
                    },
                )
            )
        cmk = resource(
            stack,
            "Key",
            "AWS::KMS::Key",
            KeyPolicy={"Version": "2012-10-17", "Statement": statements},
        )
        topic = resource(stack, "Topic", "AWS::SNS::Topic", KmsMasterKeyId=arn(cmk))
        resource(
            stack,
            "Alarm",
            "AWS::CloudWatch::Alarm",
            AlarmActions=[ref(topic)],
            MetricName="m",
            Namespace="n",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            Statistic="Sum",
        )
        resource(
            stack,
            "Rule",
            "AWS::Events::Rule",
            EventPattern={"source": ["x"]},
            Targets=[{"Id": "t", "Arn": ref(topic)}],
        )
        resource(stack, "Logs", "AWS::Logs::LogGroup", KmsKeyId=arn(cmk))


def endpoints(app: App) -> None:
    for name, complete in (("EndpointsOk", True), ("EndpointsBad", False)):
        stack = Stack(app, name)
        vpc, subnet = network(stack)
        for service in ("ssm", "sagemaker.runtime", "sqs") if complete else ("ssm",):
            resource(
                stack,
                f"Endpoint{service.replace('.', '')}",
                "AWS::EC2::VPCEndpoint",
                ServiceName={
                    "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{service}"]]
                },
                VpcEndpointType="Interface",
                VpcId=ref(vpc),
            )
        queue = resource(stack, "Dlq", "AWS::SQS::Queue")
        fn_role, _ = role(
            stack,
            "Role",
            [
                allow(["ssm:GetParameter", "sagemaker:InvokeEndpoint", "sqs:SendMessage"]),
                allow(["logs:CreateLogStream", "logs:PutLogEvents"]),
                allow(list(LAMBDA_VPC_ACTIONS)),
                # Lambda's own delivery of failed events: not a call from the VPC.
                allow("sqs:SendMessage", arn(queue)),
                allow(
                    "kms:Decrypt",
                    Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                ),
            ],
        )
        function(stack, "Fn", fn_role, subnet, DeadLetterConfig={"TargetArn": arn(queue)})
    # A second VPC's endpoint does not serve the first VPC's function.
    other = Stack(app, "EndpointsOtherVpc")
    vpc, _ = network(other)
    resource(
        other,
        "Sns",
        "AWS::EC2::VPCEndpoint",
        ServiceName="com.amazonaws.us-east-1.sns",
        VpcId=ref(vpc),
    )


def provisioned(app: App) -> None:
    """Provisioned concurrency within the reservation (ok), and above it or on $LATEST."""
    for name, reserved, version, alias_value, bounds in (
        ("ProvisionedOk", 5, "1", 2, (2, 5)),
        ("ProvisionedBad", 3, "$LATEST", 4, (1, 6)),
    ):
        stack = Stack(app, name)
        fn = function(stack, "Fn", role(stack, "Role", [])[0], None)
        fn.add_property_override("ReservedConcurrentExecutions", reserved)
        alias = resource(
            stack,
            "Alias",
            "AWS::Lambda::Alias",
            FunctionName=ref(fn),
            FunctionVersion=version,
            Name="live",
            ProvisionedConcurrencyConfig={"ProvisionedConcurrentExecutions": alias_value},
        )
        resource(
            stack,
            "Target",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            ServiceNamespace="lambda",
            ScalableDimension="lambda:function:ProvisionedConcurrency",
            ResourceId={"Fn::Join": ["", ["function:", ref(alias)]]},
            MinCapacity=bounds[0],
            MaxCapacity=bounds[1],
            ScheduledActions=[
                {
                    "ScheduledActionName": "day",
                    "Schedule": "cron(0 8 ? * * *)",
                    "ScalableTargetAction": {"MinCapacity": bounds[1], "MaxCapacity": bounds[1]},
                }
            ],
        )


def acknowledged(app: App) -> None:
    stack = Stack(app, "Acknowledged")
    _, subnet = network(stack)
    fn_role, policy = role(stack, "Role", [allow(list(LAMBDA_VPC_ACTIONS)[1:])])
    fn = function(stack, "Fn", fn_role, subnet)
    fn.add_dependency(policy)
    acknowledge(
        fn,
        f"{PACK_NAME}-LambdaVpcPermissions",
        "A test of the acknowledgment: this finding is known and accepted here.",
        ["Missing::ec2:CreateNetworkInterface"],
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, set[str]]]:
    """rule -> construct path -> finding ids, of one synth of every stack above."""
    outdir = tmp_path_factory.mktemp("preconditions")
    app = App(outdir=str(outdir))
    for build in (
        lambda_vpc,
        sagemaker_vpc,
        depends_on,
        gateway,
        key,
        endpoints,
        provisioned,
        acknowledged,
    ):
        build(app)
    Validations.of(app).add_plugins(DeployPreconditionChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    pack = pack_report(json.loads((Path(outdir) / "validation-report.json").read_text()))
    assert pack is not None
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for violation in pack["violations"]:
        rule, _, finding = violation["ruleName"].removeprefix(f"{PACK_NAME}-").partition("[")
        for construct in violation["violatingConstructs"]:
            found[rule][construct["constructPath"].removesuffix("/Resource")].add(
                finding.rstrip("]")
            )
    return {rule: dict(paths) for rule, paths in found.items()}


def of_stacks(found: dict[str, set[str]], prefix: str) -> dict[str, set[str]]:
    """The findings on the stacks built for one rule (other rules' stacks may well have
    findings of this rule too: each pair is complete only for its own rule)."""
    return {path: f for path, f in found.items() if path.startswith(prefix)}


def test_the_pack_has_one_rule_per_module() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names)) == 7
    modules = {p.stem for p in Path("ml_constructs/preconditions/rules").glob("*.py")} - {
        "__init__"
    }
    assert len(modules) == len(RULES)


def test_lambda_vpc_permissions(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["LambdaVpcPermissions"], "LambdaVpc")
    assert {p.split("/")[0] for p in found} == {"LambdaVpcBad"}
    assert found["LambdaVpcBad/NoEni"] == {f"Missing::{a}" for a in LAMBDA_VPC_ACTIONS}
    assert found["LambdaVpcBad/NotAfterThePolicy"] == {"NotDependedOn::EniRolePolicy"}


def test_provisioned_concurrency_fits(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["ProvisionedConcurrencyFits"], "Provisioned")
    assert found == {
        "ProvisionedBad/Alias": {"OnLatest", "AboveReserved::4>3"},
        "ProvisionedBad/Target": {"AboveReserved::6>3"},
    }


def test_sagemaker_vpc_permissions(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["SageMakerVpcPermissions"], "SageMakerVpc")
    assert {p.split("/")[0] for p in found} == {"SageMakerVpcBad"}
    interface = [a for a in SAGEMAKER_VPC_ACTIONS if "Describe" not in a]
    assert found["SageMakerVpcBad/Model"] == {
        *(f"Conditioned::Role::{a}" for a in interface),
        "Missing::Role::ec2:DescribeVpcEndpoints",
    }
    assert found["SageMakerVpcBad/Starts"] == {
        f"Missing::Passed::{a}" for a in SAGEMAKER_VPC_ACTIONS
    }


def test_depends_on_what_it_needs(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["DependsOnWhatItNeeds"], "DependsOn")
    assert {p.split("/")[0] for p in found} == {"DependsOnBad"}
    assert found["DependsOnBad/Schedule"] == {"DependsOn::Endpoint"}
    assert found["DependsOnBad/Target"] == {"DependsOn::Endpoint"}
    assert found["DependsOnBad/Mapping"] == {f"Missing::{a}" for a in LAMBDA_SQS_POLLER_ACTIONS[:3]}


def test_gateway_endpoint_admits_s3_access(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["GatewayEndpointAdmitsS3Access"], "Gateway")
    assert found == {
        "GatewayBad/S3Endpoint": {
            "NotAdmitted::s3:GetObject::arn:aws:s3:::other-account-artifacts/models/*",
            "EcrLayersNotAdmitted",
        }
    }


def test_key_admits_encrypting_services(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["KeyAdmitsEncryptingServices"], "Key")
    assert found == {
        "KeyBad/Key": {
            "UnsupportedCondition::events.amazonaws.com->AWS::SNS::Topic::aws:sourceaccount",
            "NotAdmitted::logs.{AWS::Region}.amazonaws.com->AWS::Logs::LogGroup",
        }
    }


def test_vpc_calls_have_endpoints(report: dict[str, dict[str, set[str]]]) -> None:
    found = of_stacks(report["VpcCallsHaveEndpoints"], "Endpoints")
    assert found == {"EndpointsBad/Fn": {"NoEndpoint::sagemaker.runtime", "NoEndpoint::sqs"}}


def test_an_acknowledged_finding_is_not_reported_the_others_are(
    report: dict[str, dict[str, set[str]]],
) -> None:
    assert "Acknowledged/Fn" not in report["LambdaVpcPermissions"]
    # ... only that one finding: the same rule still reports what is not acknowledged.
    assert report["LambdaVpcPermissions"]["LambdaVpcBad/NoEni"]


@pytest.mark.parametrize("env", available_environments())
def test_every_environment_has_no_unacknowledged_precondition(env: str) -> None:
    report = pack_report(synth(env).validation_report)  # synth itself fails on any finding
    assert report is None or report["violations"] == []


def test_the_monitored_environments_and_the_pipeline_have_none_either() -> None:
    for synthesized in (synth_monitored("prod"), synth_monitored("dev")):
        report = pack_report(synthesized.validation_report)
        assert report is None or report["violations"] == []
    report = pack_report(synth_pipeline().validation_report)
    assert report is None or report["violations"] == []
