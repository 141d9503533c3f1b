"""Settings of private networking: where the endpoint, the jobs and the functions run.

``mode: none`` runs them as today (SageMaker with network isolation, functions on Lambda's
network). ``create`` makes a VPC of private isolated subnets (no NAT, no internet gateway)
that reaches AWS only through VPC endpoints. ``import`` uses an existing VPC whose ids are
given explicitly (no lookups at synth, so a template stays environment-agnostic).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8}([0-9a-f]{9})?$")
AVAILABILITY_ZONE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")


@dataclass(frozen=True)
class ImportedSubnet:
    """A private subnet of the imported VPC and its availability zone (SageMaker needs two
    zones; naming it here spares a lookup)."""

    subnet_id: str
    availability_zone: str
    route_table_id: str = ""


@dataclass(frozen=True)
class NetworkSettings:
    """``create``: ``cidr``, ``availability_zones`` (count, 2-6), ``flow_log_retention_days``.
    ``import``: ``vpc_id``, ``subnets`` (id, zone and route table each), optionally
    ``security_group_ids`` added to the endpoint's and the jobs' own group, and
    ``create_endpoints`` (false when the VPC already has the endpoints, with private DNS)."""

    mode: Literal["none", "create", "import"] = "none"
    cidr: str = "10.20.0.0/16"
    availability_zones: int = 2
    flow_log_retention_days: int = 365
    vpc_id: str = ""
    subnets: tuple[ImportedSubnet, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    create_endpoints: bool = True

    @property
    def private(self) -> bool:
        return self.mode != "none"

    def validate(self, path: str) -> None:
        if self.mode == "create":
            self._validate_create(path)
        if self.mode == "import":
            self._validate_import(path)
        require(
            self.mode == "import" or not (self.vpc_id or self.subnets or self.security_group_ids),
            join(path, "vpc_id"),
            f"vpc_id, subnets and security_group_ids are for mode 'import', not {self.mode!r}",
        )

    def _validate_create(self, path: str) -> None:
        try:
            network = ipaddress.ip_network(self.cidr)
        except ValueError:
            require(
                False, join(path, "cidr"), f"{self.cidr!r} is not a CIDR block like 10.20.0.0/16"
            )
            return
        require(
            network.version == 4 and 16 <= network.prefixlen <= 22 and network.is_private,
            join(path, "cidr"),
            f"{self.cidr} must be a private IPv4 block of /16 to /22 (one /24 per zone)",
        )
        require(
            2 <= self.availability_zones <= 6,
            join(path, "availability_zones"),
            f"{self.availability_zones} is outside 2-6 (SageMaker needs two zones)",
        )
        require(
            self.flow_log_retention_days in (30, 90, 180, 365, 731, 1827, 3653),
            join(path, "flow_log_retention_days"),
            f"{self.flow_log_retention_days} is not one of 30, 90, 180, 365, 731, 1827, 3653",
        )

    def _validate_import(self, path: str) -> None:
        require(
            VPC_ID.match(self.vpc_id) is not None,
            join(path, "vpc_id"),
            f"{self.vpc_id!r} is not a VPC id (vpc-0123456789abcdef0); 'import' needs it",
        )
        require(
            len(self.subnets) >= 2,
            join(path, "subnets"),
            f"{len(self.subnets)} subnet(s): 'import' needs at least two, in two zones",
        )
        for i, subnet in enumerate(self.subnets):
            require(
                SUBNET_ID.match(subnet.subnet_id) is not None,
                f"{join(path, 'subnets')}[{i}].subnet_id",
                f"{subnet.subnet_id!r} is not a subnet id (subnet-0123456789abcdef0)",
            )
            require(
                AVAILABILITY_ZONE.match(subnet.availability_zone) is not None,
                f"{join(path, 'subnets')}[{i}].availability_zone",
                f"{subnet.availability_zone!r} is not an availability zone like eu-west-1a",
            )
            require(
                not self.create_endpoints
                or ROUTE_TABLE_ID.match(subnet.route_table_id) is not None,
                f"{join(path, 'subnets')}[{i}].route_table_id",
                f"{subnet.route_table_id!r} is not a route table id (rtb-0123456789abcdef0); the "
                "S3 gateway endpoint is attached to the subnets' route tables",
            )
        zones = {s.availability_zone for s in self.subnets}
        require(
            len(zones) >= 2,
            join(path, "subnets"),
            "all subnets are in one availability zone; SageMaker needs two",
        )
        require(
            len({s.subnet_id for s in self.subnets}) == len(self.subnets),
            join(path, "subnets"),
            "has duplicates",
        )
        for i, group in enumerate(self.security_group_ids):
            require(
                SECURITY_GROUP_ID.match(group) is not None,
                f"{join(path, 'security_group_ids')}[{i}]",
                f"{group!r} is not a security group id (sg-0123456789abcdef0)",
            )
        require(
            len(self.security_group_ids) <= 4,
            join(path, "security_group_ids"),
            f"{len(self.security_group_ids)} groups: SageMaker accepts at most 5 and the stack "
            "adds its own, so at most 4",
        )
