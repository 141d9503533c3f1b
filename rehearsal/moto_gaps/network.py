"""Networking gaps of moto 5.2.5 that private networking (``--network``) hits.

- ``AWS::EC2::SecurityGroup`` ignores ``SecurityGroupEgress``, so every group kept EC2's
  default "all traffic to 0.0.0.0/0" rule: as CloudFormation does, a group that lists its
  egress rules gets those rules instead of the default one.
- ``AWS::EC2::VPCEndpoint`` and ``AWS::EC2::RouteTable`` are never deleted with their stack,
  so the VPC cannot be deleted either: deleting the stack deletes them.

The shims for ``AWS::EC2::SecurityGroupEgress`` and ``AWS::Lambda::EventInvokeConfig`` are in
:mod:`.shims.ec2` and :mod:`.shims.awslambda`. Nothing here routes traffic: moto applies no
security group rule, endpoint policy or route.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.security_groups import SecurityGroup
from moto.ec2.models.vpcs import VPCEndPoint

from rehearsal.moto_gaps._patching import CfnCreate, Installer, patch, patch_cfn_create
from rehearsal.moto_gaps.shims.ec2 import authorize_egress, revoke_default_egress


def _with_listed_egress(call: CfnCreate) -> Any:
    """SecurityGroup's create, then its ``SecurityGroupEgress`` instead of the default rule."""
    group = call.moto()
    rules = call.properties.get("SecurityGroupEgress")
    if rules is None:
        return group
    backend = ec2_backends[call.account_id][call.region_name]
    revoke_default_egress(backend, group.id)
    for rule in rules:
        authorize_egress(backend, group.id, rule)
    return group


def _delete_endpoint(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    backend = ec2_backends[account_id][region_name]
    endpoint = backend.vpc_end_points.get(resource_name)
    if endpoint is None:
        return
    # Its route-table routes go with it, unless their table was deleted first.
    endpoint.route_table_ids = [
        t for t in endpoint.route_table_ids or [] if t in backend.route_tables
    ]
    backend.delete_vpc_endpoints([resource_name])


def _delete_route_table(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    backend = ec2_backends[account_id][region_name]
    table = backend.route_tables.get(resource_name)
    if table is not None:
        for association in list(table.associations):
            backend.disassociate_route_table(str(association))
        backend.delete_route_table(resource_name)


def _apply() -> None:
    """Listed egress rules, and endpoints and route tables deleted with their stack."""
    patch(VPCEndPoint, "delete_from_cloudformation_json", classmethod(_delete_endpoint))
    patch_cfn_create(SecurityGroup, _with_listed_egress)
    patch(RouteTable, "delete_from_cloudformation_json", classmethod(_delete_route_table))


INSTALL = Installer(_apply)
