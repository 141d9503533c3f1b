"""The private network as moto holds it after the deploy (``--network``): the VPC and its
subnets, the endpoints, the security groups and their rules, and where each deployed function
runs. A function of the template with a ``VpcConfig`` that moto does not report in the VPC, or
a template endpoint that moto does not list, is a failure of the run."""

from __future__ import annotations

from typing import Any

from rehearsal.deployment import DeployedStack
from rehearsal.report import table


def network_report(
    ec2: Any, functions: dict[str, dict[str, Any]], stacks: list[DeployedStack]
) -> tuple[str, list[str]]:
    """The report's text and what is missing (empty when everything is in place)."""
    vpc_id = vpc_id_of(stacks)
    missing: list[str] = []
    if vpc_id is None:
        return "no VPC in the data stack", ["the data stack created no VPC"]
    sections = [
        _vpc(ec2, vpc_id),
        _endpoints(ec2, vpc_id, stacks, missing),
        _groups(ec2, vpc_id),
        _functions(functions, stacks, vpc_id, missing),
    ]
    return "\n\n".join(sections), missing


def vpc_id_of(stacks: list[DeployedStack]) -> str | None:
    """The physical id of the VPC the stacks created (None without one)."""
    for stack in stacks:
        for logical, resource in stack.template["Resources"].items():
            if resource["Type"] == "AWS::EC2::VPC":
                return stack.physical_ids.get(logical)
    return None


def _vpc(ec2: Any, vpc_id: str) -> str:
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    gateways = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    )["InternetGateways"]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    rows = [("VPC", vpc_id, vpc["CidrBlock"], _name(vpc))]
    rows += [
        ("subnet", s["SubnetId"], f"{s['CidrBlock']} in {s['AvailabilityZone']}", _name(s))
        for s in subnets
    ]
    rows.append(("internet gateways", str(len(gateways)), "", ""))
    rows.append(("NAT gateways", str(len(nats.get("NatGateways", []))), "", ""))
    return "Private network (moto):\n" + table(("what", "id", "where", "name"), rows)


def _endpoints(ec2: Any, vpc_id: str, stacks: list[DeployedStack], missing: list[str]) -> str:
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "VpcEndpoints"
    ]
    expected = sum(
        resource["Type"] == "AWS::EC2::VPCEndpoint"
        for stack in stacks
        for resource in stack.template["Resources"].values()
    )
    if len(found) != expected:
        missing.append(f"{expected} VPC endpoints in the templates, moto lists {len(found)}")
    rows = [
        (
            e["ServiceName"],
            e["VpcEndpointType"],
            "private DNS" if e.get("PrivateDnsEnabled") else "",
            "policy" if e.get("PolicyDocument") else "",
        )
        for e in sorted(found, key=lambda e: str(e["ServiceName"]))
    ]
    return f"VPC endpoints ({len(found)}):\n" + table(("service", "type", "dns", "policy"), rows)


def _groups(ec2: Any, vpc_id: str) -> str:
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "SecurityGroups"
    ]
    rows = []
    for group in groups:
        for direction, rules in (
            ("in", group.get("IpPermissions", [])),
            ("out", group.get("IpPermissionsEgress", [])),
        ):
            for rule in rules:
                rows.append(
                    (
                        group["GroupId"],
                        group["Description"][:50],
                        direction,
                        _peer(rule),
                        _port(rule),
                    )
                )
    return "Security groups and their rules:\n" + table(
        ("group", "description", "dir", "peer", "port"), rows, max_width=60
    )


def deployed_functions(account: str, region: str) -> dict[str, dict[str, Any]]:
    """Each function's ``VpcConfig`` as moto's Lambda holds it (read in-process: moto's
    signature check refuses the rehearsal's signed GET requests to Lambda)."""
    from moto.awslambda.models import lambda_backends

    return {
        fn.function_name: fn.get_configuration().get("VpcConfig") or {}
        for fn in lambda_backends[account][region].list_functions()
    }


def _functions(
    deployed: dict[str, dict[str, Any]],
    stacks: list[DeployedStack],
    vpc_id: str,
    missing: list[str],
) -> str:
    rows = []
    for stack in stacks:
        for logical, resource in stack.template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function" or logical not in stack.physical_ids:
                continue
            name = stack.physical_ids[logical].split(":")[-1]
            if name not in deployed:
                missing.append(f"{logical}: moto lists no function {name}")
                continue
            config = deployed[name]
            placed = config.get("VpcId") == vpc_id or bool(config.get("SubnetIds"))
            wanted = "VpcConfig" in resource["Properties"]
            if wanted and not placed:
                missing.append(f"{name} has a VpcConfig in the template but not in moto")
            rows.append(
                (
                    logical,
                    f"{len(config.get('SubnetIds', []))} subnets" if placed else "outside the VPC",
                    "" if wanted else "by design (deploy-time custom resource)",
                )
            )
    return "Functions:\n" + table(("function", "runs in", "note"), rows, max_width=70)


def _name(resource: dict[str, Any]) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), "")


def _peer(rule: dict[str, Any]) -> str:
    peers = [r["CidrIp"] for r in rule.get("IpRanges", [])]
    peers += [g["GroupId"] for g in rule.get("UserIdGroupPairs", [])]
    peers += [p["PrefixListId"] for p in rule.get("PrefixListIds", [])]
    return ", ".join(peers) or "-"


def _port(rule: dict[str, Any]) -> str:
    if rule.get("IpProtocol") == "-1":
        return "all"
    return f"{rule.get('IpProtocol')} {rule.get('FromPort')}-{rule.get('ToPort')}"
