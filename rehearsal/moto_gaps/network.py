"""Networking gaps of moto 5.2.5 that private networking (``--network``) hits.

- ``AWS::EC2::SecurityGroupEgress`` has no CloudFormation model: the shim authorizes the rule
  through moto's EC2 API (to a group or a prefix list) and, as CloudFormation does when it adds
  a rule of its own to a group, removes EC2's default "all traffic to 0.0.0.0/0" rule (CDK
  relies on that: aws-cdk #987/#998).
- ``AWS::EC2::SecurityGroup`` ignores ``SecurityGroupEgress``, so every group kept EC2's
  default "all traffic to 0.0.0.0/0" rule: as CloudFormation does, a group that lists its
  egress rules gets those rules instead of the default one.
- ``AWS::EC2::VPCEndpoint`` and ``AWS::EC2::RouteTable`` are never deleted with their stack,
  so the VPC cannot be deleted either: deleting the stack deletes them.
- ``AWS::Lambda::EventInvokeConfig`` (the retraining function's retries and dead-letter
  queue) has no CloudFormation model: the shim stores it through moto's Lambda API.
Nothing here routes traffic: moto applies no security group rule, endpoint policy or route.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import lambda_backends
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.security_groups import SecurityGroup
from moto.ec2.models.vpcs import VPCEndPoint

from rehearsal.moto_gaps import resources
from rehearsal.moto_gaps._patching import patch


class SecurityGroupEgress(resources._Shim):
    """AWS::EC2::SecurityGroupEgress -> AuthorizeSecurityGroupEgress."""

    cfn_type = "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> SecurityGroupEgress:
        backend = ec2_backends[account_id][region_name]
        _revoke_default_egress(backend, p["GroupId"])
        _authorize_egress(backend, p["GroupId"], p)
        return cls(f"{p['GroupId']}-egress-{resource_name}", p, {})


class EventInvokeConfig(resources._Shim):
    """AWS::Lambda::EventInvokeConfig -> PutFunctionEventInvokeConfig."""

    cfn_type = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> EventInvokeConfig:
        config: dict[str, Any] = {
            k: p[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in p
        }
        lambda_backends[account_id][region_name].put_function_event_invoke_config(
            p["FunctionName"], config
        )
        return cls(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", p, {})


def _authorize_egress(backend: Any, group_id: str, rule: dict[str, Any]) -> None:
    """One egress rule in CloudFormation's shape (to a CIDR, a group or a prefix list)."""
    backend.authorize_security_group_egress(
        group_id,
        ip_protocol=str(rule["IpProtocol"]),
        from_port=str(rule.get("FromPort", -1)),
        to_port=str(rule.get("ToPort", -1)),
        ip_ranges=[{"CidrIp": rule["CidrIp"]}] if rule.get("CidrIp") else [],
        source_groups=(
            [{"GroupId": rule["DestinationSecurityGroupId"]}]
            if rule.get("DestinationSecurityGroupId")
            else None
        ),
        prefix_list_ids=(
            [{"PrefixListId": rule["DestinationPrefixListId"]}]
            if rule.get("DestinationPrefixListId")
            else None
        ),
    )


def _revoke_default_egress(backend: Any, group_id: str) -> None:
    group = backend.get_security_group_by_name_or_id(group_id)
    default = [
        rule.id
        for rule in group.egress_rules
        if rule.ip_protocol == "-1" and rule.ip_range.get("CidrIp") == "0.0.0.0/0"
    ]
    if default:
        backend.revoke_security_group_egress(
            group_id, "-1", "-1", "-1", [], security_rule_ids=default
        )


def _with_listed_egress(original: Any) -> Any:
    """SecurityGroup.create_from_cloudformation_json, then its ``SecurityGroupEgress``."""

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        group = original.__func__(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        rules = cloudformation_json["Properties"].get("SecurityGroupEgress")
        if rules is None:
            return group
        backend = ec2_backends[account_id][region_name]
        _revoke_default_egress(backend, group.id)
        for rule in rules:
            _authorize_egress(backend, group.id, rule)
        return group

    return classmethod(create)


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


_installed = False


def install() -> None:
    """The shims, and endpoints deleted with their stack (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    for shim in (SecurityGroupEgress, EventInvokeConfig):
        resources.SHIMS[shim.cfn_type] = shim
    patch(VPCEndPoint, "delete_from_cloudformation_json", classmethod(_delete_endpoint))
    patch(
        SecurityGroup,
        "create_from_cloudformation_json",
        _with_listed_egress(SecurityGroup.create_from_cloudformation_json),
    )
    patch(RouteTable, "delete_from_cloudformation_json", classmethod(_delete_route_table))


def uninstall() -> None:
    global _installed
    _installed = False
    for shim in (SecurityGroupEgress, EventInvokeConfig):
        resources.SHIMS.pop(shim.cfn_type, None)
