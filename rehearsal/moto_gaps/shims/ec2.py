"""EC2: security group rules moto 5.2.5's CloudFormation skips, and CDK's
Custom::VpcRestrictDefaultSG (a Node.js function the runner cannot run). Egress rules replace
EC2's default "all traffic to 0.0.0.0/0" as CloudFormation does (CDK relies on that:
aws-cdk #987/#998); :mod:`rehearsal.moto_gaps.network` does the same for listed rules."""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


def authorize_egress(backend: Any, group_id: str, rule: dict[str, Any]) -> None:
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


def revoke_default_egress(backend: Any, group_id: str) -> None:
    """Remove EC2's default "all traffic to 0.0.0.0/0" egress rule, if the group has it."""
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


@register("AWS::EC2::SecurityGroupEgress")
class SecurityGroupEgress(Shim):
    """-> AuthorizeSecurityGroupEgress, after removing the group's default rule."""

    @classmethod
    def create(cls, call: CfnCall) -> SecurityGroupEgress:
        p = call.properties
        backend = ec2_backends[call.account_id][call.region_name]
        revoke_default_egress(backend, p["GroupId"])
        authorize_egress(backend, p["GroupId"], p)
        return cls(f"{p['GroupId']}-egress-{call.resource_name}", p, {})


@register("Custom::VpcRestrictDefaultSG")
class RestrictDefaultSecurityGroup(Shim):
    """The default security group's ingress and egress rules are removed, as CDK's function
    does."""

    @classmethod
    def create(cls, call: CfnCall) -> RestrictDefaultSecurityGroup:
        p = call.properties
        backend = ec2_backends[call.account_id][call.region_name]
        group = backend.get_security_group_from_id(p["DefaultSecurityGroupId"])
        if group is not None:
            group.ingress_rules.clear()
            group.egress_rules.clear()
        return cls(f"restrict-{p['DefaultSecurityGroupId']}", p, {})
