"""Private networking (issue 13): what prod's ``network: create`` synthesizes, ``import`` from
explicit ids without lookups, the private API, and configuration errors naming the field."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from app_factory import build_app
from ml_constructs.preconditions.requirements import LAMBDA_VPC_ACTIONS, SAGEMAKER_VPC_ACTIONS
from ml_constructs.private_network.construct import GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS
from serving_config import ENVIRONMENTS_DIR, ConfigError, load_settings
from tests.aws_operations import RUNTIME_OPERATIONS
from tests.synth_cache import Synthesized, synth, variant_dir

#: Runtime callers that run inside the VPC when the network is private (the first-model
#: publish, ground-truth upload and registration run on an operator's machine).
IN_VPC_CALLERS = (
    "inference function",
    "promotion function",
    "retraining function",
    "model monitor function",
)
#: boto3 client name -> the endpoint service that carries it.
ENDPOINT_OF_CLIENT = {
    "sagemaker-runtime": "sagemaker.runtime",
    "sagemaker": "sagemaker.api",
    "cloudwatch": "monitoring",
}

IMPORTED = {
    "mode": "import",
    "vpc_id": "vpc-0123456789abcdef0",
    "subnets": [
        {
            "subnet_id": "subnet-0123456789abcdef0",
            "availability_zone": "eu-west-1a",
            "route_table_id": "rtb-0123456789abcdef0",
        },
        {
            "subnet_id": "subnet-0123456789abcdef1",
            "availability_zone": "eu-west-1b",
            "route_table_id": "rtb-0123456789abcdef1",
        },
    ],
    "security_group_ids": ["sg-0123456789abcdef0"],
}


@pytest.fixture(scope="module")
def prod() -> Synthesized:
    return synth("prod")


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def both(s: Synthesized) -> dict[str, dict[str, Any]]:
    return {**s.data_json["Resources"], **s.serving_json["Resources"]}


def test_the_vpc_has_isolated_subnets_in_two_zones_and_no_way_out(prod: Synthesized) -> None:
    data = prod.data_json
    (vpc,) = resources(data, "AWS::EC2::VPC").values()
    # Private DNS of the interface endpoints needs both.
    assert vpc["Properties"]["EnableDnsSupport"] is True
    assert vpc["Properties"]["EnableDnsHostnames"] is True
    subnets = resources(data, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(zones) == 2
    assert all(not s["Properties"].get("MapPublicIpOnLaunch", False) for s in subnets.values())
    for kind in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::EIP",
    ):
        assert resources(data, kind) == {}, kind
    # The only routes are the S3 gateway endpoint's (no AWS::EC2::Route at all).
    assert resources(data, "AWS::EC2::Route") == {}


def test_flow_logs_go_to_a_log_group_encrypted_with_the_project_key(prod: Synthesized) -> None:
    data = prod.data_json
    (flow_log,) = resources(data, "AWS::EC2::FlowLog").values()
    props = flow_log["Properties"]
    assert props["TrafficType"] == "ALL"
    assert props["ResourceType"] == "VPC"
    group = data["Resources"][props["LogGroupName"]["Ref"]]
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["EncryptionKey3A692D6E", "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 365


def test_the_model_runs_in_the_private_subnets(prod: Synthesized) -> None:
    (model,) = resources(prod.serving_json, "AWS::SageMaker::Model").values()
    vpc_config = model["Properties"]["VpcConfig"]
    assert len(vpc_config["Subnets"]) == 2
    assert vpc_config["SecurityGroupIds"]
    assert model["Properties"]["EnableNetworkIsolation"] is True


def test_every_function_runs_in_the_vpc_except_the_deploy_time_prefix_list_lookup(
    prod: Synthesized,
) -> None:
    outside = []
    for logical, resource in both(prod).items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if "VpcConfig" not in resource["Properties"]:
            outside.append(logical)
            continue
        vpc_config = resource["Properties"]["VpcConfig"]
        assert len(vpc_config["SubnetIds"]) == 2, logical
        assert vpc_config["SecurityGroupIds"], logical
    # The lookup runs before any endpoint exists (it finds S3's prefix list for the groups'
    # rules); CDK's own default-security-group handler runs at deploy time too.
    assert sorted(re.sub(r"[0-9A-F]{8}$", "", name) for name in outside) == [
        "CustomVpcRestrictDefaultSGCustomResourceProviderHandler",
        "NetworkPrefixListLookup",
    ], outside


def policies_of(template_resources: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """The AWS::IAM::Policy resources attached to ``role_id``, by logical id."""
    return {
        logical: r
        for logical, r in template_resources.items()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    }


def unconditioned_on_everything(policy: dict[str, Any]) -> set[str]:
    return {
        action
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Resource"] == "*" and "Condition" not in s
        for action in _list(s["Action"])
    }


def test_each_function_in_the_vpc_may_attach_to_it_before_lambda_creates_it(
    prod: Synthesized,
) -> None:
    """Lambda refuses CreateFunction for a function in a VPC whose role lacks the network
    interface actions; CDK adds them only to roles it creates itself (issue 18, finding 1)."""
    everything = both(prod)
    in_vpc = {
        k: r
        for k, r in everything.items()
        if r["Type"] == "AWS::Lambda::Function" and "VpcConfig" in r["Properties"]
    }
    assert len(in_vpc) == 3  # inference, promotion, the model monitor (no retraining in prod)
    for logical, function in in_vpc.items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        (policy_id, policy) = next(iter(policies_of(everything, role_id).items()))
        assert set(LAMBDA_VPC_ACTIONS) <= unconditioned_on_everything(policy), logical
        assert function["DependsOn"] == [policy_id], logical
        assert "ManagedPolicyArns" not in everything[role_id]["Properties"]


def test_sagemaker_roles_may_place_models_and_jobs_in_the_vpc(prod: Synthesized) -> None:
    """SageMaker's nine EC2 actions and ec2:DescribeVpcEndpoints (hosted endpoints), on '*'
    and unconditioned: job creation validates them (issue 18, findings 9 and the processing
    job's "don't scope in the policy with any conditions")."""
    data = prod.data_json["Resources"]
    roles = [
        k
        for k, r in data.items()
        if r["Type"] == "AWS::IAM::Role"
        and k.startswith(("SageMakerRolesExecution", "SageMakerRolesTraining"))
    ]
    assert len(roles) == 2
    for role in roles:
        policy = next(iter(policies_of(data, role).values()))
        assert set(SAGEMAKER_VPC_ACTIONS) <= unconditioned_on_everything(policy), role
    assert "ec2:DescribeVpcEndpoints" in SAGEMAKER_VPC_ACTIONS


def test_endpoints_for_every_service_called_from_inside(prod: Synthesized) -> None:
    endpoints = resources(prod.data_json, "AWS::EC2::VPCEndpoint").values()
    services = {
        json.dumps(e["Properties"]["ServiceName"]): e["Properties"].get("VpcEndpointType")
        for e in endpoints
    }
    text = " ".join(services)
    for name in INTERFACE_ENDPOINTS:
        assert f".{name}" in text, name
    assert "Gateway" in services.values()
    assert len(endpoints) == len(INTERFACE_ENDPOINTS) + len(GATEWAY_ENDPOINTS)
    for endpoint in endpoints:
        props = endpoint["Properties"]
        assert props["PolicyDocument"]["Statement"], props
        if props.get("VpcEndpointType") == "Interface":
            assert props["PrivateDnsEnabled"] is True
            assert len(props["SubnetIds"]) == 2


def test_no_in_vpc_caller_calls_a_service_without_an_endpoint() -> None:
    """Every service called from inside has an endpoint: the network's own, or the ones a
    hosting kind adds for its promotions (a Lambda-hosted model's: lambda, codedeploy)."""
    from serving_core.variants import VARIANT_CLASSES

    by_kind = {name for cls in VARIANT_CLASSES.values() for name in cls().promotion_services}
    reachable = set(INTERFACE_ENDPOINTS) | set(GATEWAY_ENDPOINTS) | by_kind
    for caller, operations in RUNTIME_OPERATIONS.items():
        if not caller.startswith(IN_VPC_CALLERS):
            continue
        for operation in operations:
            client = operation.split(".")[0]
            assert ENDPOINT_OF_CLIENT.get(client, client) in reachable, (caller, operation)


def test_no_security_group_rule_is_open_to_the_internet(prod: Synthesized) -> None:
    text = json.dumps([prod.data_json, prod.serving_json])
    assert "0.0.0.0/0" not in text
    assert "::/0" not in text
    for resource in both(prod).values():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            egress = resource["Properties"].get("SecurityGroupEgress", [])
            # Either no inline egress but CDK's "disallow all" placeholder, or S3's prefix list.
            for rule in egress:
                assert rule.get("DestinationPrefixListId") or rule["CidrIp"] == "255.255.255.255/32"
        if resource["Type"] in ("AWS::EC2::SecurityGroupEgress", "AWS::EC2::SecurityGroupIngress"):
            props = resource["Properties"]
            assert (props["FromPort"], props["ToPort"]) == (443, 443)
            assert props.keys() & {
                "DestinationSecurityGroupId",
                "SourceSecurityGroupId",
                "DestinationPrefixListId",
            }


def test_endpoint_policies_admit_only_this_account(prod: Synthesized) -> None:
    (bucket,) = (
        k
        for k, v in resources(prod.data_json, "AWS::S3::Bucket").items()
        if "BucketEncryption" in v["Properties"]
        and "KMSMasterKeyID" in json.dumps(v["Properties"]["BucketEncryption"])
    )
    for endpoint in resources(prod.data_json, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        for statement in props["PolicyDocument"]["Statement"]:
            if props.get("VpcEndpointType") != "Gateway":
                assert "root" in json.dumps(statement["Principal"])
            elif statement["Sid"] == "EcrImageLayers":
                # ECR serves layers through presigned URLs: the request's principal is not this
                # account's, so a condition on it would refuse every image pull.
                assert "Condition" not in statement
                assert statement["Action"] == "s3:GetObject"
                assert "starport-layer-bucket/*" in json.dumps(statement["Resource"])
            else:
                assert statement["Condition"] == {
                    "StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
                }
                # This project's bucket and its objects, nothing else.
                for resource in _list(statement["Resource"]):
                    text = json.dumps(resource)
                    assert bucket in text, text


def test_the_gateway_endpoint_lets_promotions_read_the_source_accounts_artifacts() -> None:
    """Cross-account promotion reads ``registry.source_bucket`` from inside the VPC: the S3
    gateway endpoint admits those objects (read only, this account's principals)."""
    source = {
        "source_group_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/g",
        "source_bucket": "staging-artifacts",
        "source_key_arn": "arn:aws:kms:eu-west-1:111111111111:key/"
        "0123abcd-4567-89ab-cdef-0123456789ab",
    }
    synthesized = synth("prod", variant_dir("prod", {"registry": source}, "cross-account"))
    (gateway,) = (
        e
        for e in resources(synthesized.data_json, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    )
    statements = {s["Sid"]: s for s in gateway["Properties"]["PolicyDocument"]["Statement"]}
    reads = statements["OtherAccountsArtifacts"]
    assert sorted(reads["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert json.dumps(reads["Resource"]) == '"arn:aws:s3:::staging-artifacts/models/*"' or (
        "staging-artifacts/models/*" in json.dumps(reads["Resource"])
    )
    assert reads["Condition"] == {
        "StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_serving_stack_reads_the_network_from_the_data_stack_outputs(
    prod: Synthesized,
) -> None:
    outputs = prod.data_json["Outputs"]
    assert {"PrivateSubnetIds", "SageMakerSecurityGroupIds"} <= set(outputs)


# -- import mode and the private API (one synth) -------------------------------------------------


@pytest.fixture(scope="module")
def imported() -> dict[str, dict[str, Any]]:
    config_dir = Path(tempfile.mkdtemp(prefix="network-import-"))
    raw = yaml.safe_load((ENVIRONMENTS_DIR / "prod.yaml").read_text())
    raw.update(network=IMPORTED, account=None, region=None)
    raw["api"] = {**raw.get("api", {}), "endpoint_type": "private"}
    # Model Monitor (opt-in) and retraining too (off in prod), so that their functions and
    # jobs are placed as well.
    raw["model_monitor"] = {
        **raw["model_monitor"],
        "enabled": True,
        "retraining": {"enabled": True},
    }
    (config_dir / "imported.yaml").write_text(yaml.safe_dump(raw))
    app = build_app(context={"env": "imported", "config_dir": str(config_dir)})
    assembly = app.synth()
    return {s.stack_name: s.template for s in assembly.stacks}


def test_import_synthesizes_without_lookups_or_an_account(
    imported: dict[str, dict[str, Any]],
) -> None:
    text = json.dumps(imported)
    assert "subnet-0123456789abcdef0" in text and "subnet-0123456789abcdef1" in text
    assert "sg-0123456789abcdef0" in text
    for template in imported.values():
        assert resources(template, "AWS::EC2::VPC") == {}
        assert resources(template, "AWS::EC2::Subnet") == {}
    # No context lookups: nothing was written to or read from cdk.context.json's providers.
    assert "dummy" not in text.lower()
    (model,) = (
        m for t in imported.values() for m in resources(t, "AWS::SageMaker::Model").values()
    )
    assert "sg-0123456789abcdef0" in json.dumps(model["Properties"]["VpcConfig"])


def test_imported_subnets_carry_every_function_and_job(
    imported: dict[str, dict[str, Any]],
) -> None:
    subnets = [s["subnet_id"] for s in IMPORTED["subnets"]]
    functions = {
        k: v["Properties"]
        for t in imported.values()
        for k, v in resources(t, "AWS::Lambda::Function").items()
    }
    assert any(k.startswith("Retraining") for k in functions), sorted(functions)
    for name, props in functions.items():
        if name.startswith("NetworkPrefixListLookup"):
            continue
        assert props["VpcConfig"]["SubnetIds"] == subnets, name
    retraining = next(v for k, v in functions.items() if k.startswith("Retraining"))
    # A Fn::Join (the stack's group id resolves at deploy time) around the subnets' JSON.
    training_vpc = json.dumps(retraining["Environment"]["Variables"]["VPC_CONFIG"])
    assert all(subnet in training_vpc for subnet in subnets)


def test_the_private_api_admits_only_the_vpc_endpoint(imported: dict[str, dict[str, Any]]) -> None:
    (api,) = (
        a for t in imported.values() for a in resources(t, "AWS::ApiGateway::RestApi").values()
    )
    props = api["Properties"]
    assert props["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    statements = props["Policy"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert allow and deny
    assert all("aws:SourceVpce" in json.dumps(s["Condition"]) for s in allow + deny)
    assert any("StringNotEquals" in s["Condition"] for s in deny)
    methods = [
        m
        for t in imported.values()
        for m in resources(t, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    assert methods and all(m["Properties"]["AuthorizationType"] == "AWS_IAM" for m in methods)


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"mode": "import"}, r"network\.vpc_id: '' is not a VPC id"),
        ({**IMPORTED, "vpc_id": "vpc-xyz"}, r"network\.vpc_id: 'vpc-xyz' is not a VPC id"),
        (
            {**IMPORTED, "subnets": IMPORTED["subnets"][:1]},
            r"network\.subnets: 1 subnet\(s\): 'import' needs at least two",
        ),
        (
            {
                **IMPORTED,
                "subnets": [{**s, "availability_zone": "eu-west-1a"} for s in IMPORTED["subnets"]],
            },
            r"network\.subnets: all subnets are in one availability zone",
        ),
        (
            {**IMPORTED, "subnets": [{**IMPORTED["subnets"][0], "subnet_id": "sn-1"}] * 2},
            r"network\.subnets\[0\]\.subnet_id: 'sn-1' is not a subnet id",
        ),
        (
            {**IMPORTED, "security_group_ids": ["group-1"]},
            r"network\.security_group_ids\[0\]: 'group-1' is not a security group id",
        ),
        (
            {**IMPORTED, "security_group_ids": [f"sg-0123456{i}" for i in range(5)]},
            r"network\.security_group_ids: 5 groups: SageMaker accepts at most 5 and the stack",
        ),
        ({"mode": "create", "availability_zones": 1}, r"network\.availability_zones: 1 is"),
        ({"mode": "create", "cidr": "8.8.0.0/16"}, r"network\.cidr: 8\.8\.0\.0/16 must be"),
        ({"mode": "none", "vpc_id": "vpc-01234567"}, r"network\.vpc_id: .*are for mode 'import'"),
    ],
)
def test_a_wrong_network_configuration_names_the_field(
    tmp_path: Path, network: dict[str, Any], message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"network": network}))
    with pytest.raises(ConfigError, match=message):
        load_settings("bad", tmp_path)


def test_a_private_api_needs_a_private_network(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"api": {"endpoint_type": "private"}}))
    with pytest.raises(ConfigError, match=r"api\.endpoint_type: a private API"):
        load_settings("bad", tmp_path)


def test_a_serverless_variant_cannot_run_in_a_vpc(tmp_path: Path) -> None:
    data = {
        "endpoint": {"kind": "serverless", "data_capture_percent": 0},
        "scaling": None,
        "network": {"mode": "create"},
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"network\.mode: a serverless variant cannot"):
        load_settings("bad", tmp_path)


def test_an_imported_vpc_with_its_own_endpoints_acknowledges_only_their_services() -> None:
    """``create_endpoints: false``: the pack cannot see the VPC's own endpoints; the
    ``NoEndpoint`` findings of the services the stack calls are acknowledged with the reason,
    at each function, the endpoint and the monitor (a call to another service would fail)."""
    network = {**IMPORTED, "create_endpoints": False}
    network["subnets"] = [
        {k: v for k, v in s.items() if k != "route_table_id"} for s in IMPORTED["subnets"]
    ]
    changes = {
        "network": network,
        "account": None,
        "region": None,
        "model_monitor": {"enabled": True, "retraining": {"enabled": True}},
    }
    synthesized = synth("prod", variant_dir("prod", changes, "own-endpoints"))
    assert resources(synthesized.data_json, "AWS::EC2::VPCEndpoint") == {}
    (pack,) = [
        r
        for r in synthesized.validation_report["pluginReports"]
        if r["pluginName"] == "DeployPreconditions"
    ]
    assert pack["violations"] == []
    suppressed = {v["ruleName"] for v in pack["suppressedViolations"]}
    assert "DeployPreconditions-VpcCallsHaveEndpoints[NoEndpoint::sagemaker.runtime]" in suppressed
    assert "DeployPreconditions-VpcCallsHaveEndpoints[NoEndpoint::s3]" in suppressed
    assert all(
        v.get("reason", "").startswith("network.create_endpoints is false")
        for v in pack["suppressedViolations"]
    )
