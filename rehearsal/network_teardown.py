"""What tearing a private network down leaves behind (``--network``): the VPC's subnets,
security groups, endpoints and Lambda's interfaces before and after both stacks are deleted.

On AWS a function's Hyperplane interfaces outlive it until Lambda deletes them with the
function's role, and a subnet or security group with an interface left cannot be deleted
(README, "Private networking": deleting a private stack). The rehearsal's moto does the same
(``moto_gaps.lambda_network``); here the run checks that nothing is left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rehearsal.moto_gaps.lambda_network import DESCRIPTION, InterfaceJournal

LAMBDA_INTERFACE = DESCRIPTION.format("")


@dataclass(frozen=True)
class NetworkState:
    """The VPC's pieces as EC2 describes them (ids)."""

    vpc: tuple[str, ...]
    subnets: tuple[str, ...]
    groups: tuple[str, ...]
    endpoints: tuple[str, ...]
    lambda_interfaces: tuple[str, ...]

    def left(self) -> list[str]:
        """What of the network exists, as 'kind id' lines."""
        return [
            f"{kind} {item}"
            for kind, items in (
                ("VPC", self.vpc),
                ("subnet", self.subnets),
                ("security group", self.groups),
                ("VPC endpoint", self.endpoints),
                ("Lambda interface", self.lambda_interfaces),
            )
            for item in items
        ]


def network_state(ec2: Any, vpc_id: str) -> NetworkState:
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["VpcId"] == vpc_id]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]]
    groups = [
        g["GroupId"]
        for g in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]
        if g["GroupName"] != "default"  # deleted with the VPC
    ]
    endpoints = [
        e["VpcEndpointId"]
        for e in ec2.describe_vpc_endpoints(Filters=vpc_filter)["VpcEndpoints"]
        if e.get("State", "available") != "deleted"
    ]
    interfaces = [
        i["NetworkInterfaceId"]
        for i in ec2.describe_network_interfaces()["NetworkInterfaces"]
        if i.get("Description", "").startswith(LAMBDA_INTERFACE)
    ]
    return NetworkState(*(tuple(x) for x in (vpcs, subnets, groups, endpoints, interfaces)))


def teardown_report(
    before: NetworkState, after: NetworkState, interfaces: InterfaceJournal
) -> tuple[str, list[str]]:
    """One line on what the deletion removed (``interfaces``: what Lambda released or
    stranded), and what it left (each a failure of the run)."""
    released, stranded = len(interfaces.released), len(interfaces.stranded)
    text = (
        f"network: {len(before.lambda_interfaces)} Lambda interfaces at deploy, {released} "
        f"released by Lambda as their functions were deleted (their roles could still "
        f"DeleteNetworkInterface), {stranded} stranded; VPC, {len(before.subnets)} subnets, "
        f"{len(before.groups)} security groups, {len(before.endpoints)} endpoints deleted"
    )
    left = after.left()
    if not left:
        return text + "; nothing left", []
    return text + f"; LEFT: {', '.join(left)}", [
        f"tearing the private network down left {item} (AWS would fail the stack deletion: "
        "an interface Lambda could not delete keeps its subnet and security group)"
        for item in left
    ]
