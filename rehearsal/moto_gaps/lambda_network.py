"""Lambda's Hyperplane network interfaces, and deleting a private stack as CloudFormation does.

moto 5.2.5 creates no network interface for a function in a VPC, deletes a stack's resources
in no particular order, and deletes a subnet or security group that still has interfaces. On
AWS (Lambda developer guide, "VPC networking for Lambda"; "AWS::Lambda::Function VpcConfig"):

- Lambda attaches a function to the VPC through interfaces it owns, one per subnet and
  security-group combination, shared by the functions that use the same combination;
- when the last function using one is deleted, Lambda deletes it with the function's execution
  role ("If you delete the execution role before Lambda deletes the Hyperplane ENI, Lambda
  won't be able to delete the Hyperplane ENI"), and CloudFormation waits for it;
- EC2 refuses to delete a subnet or security group an interface still uses (DependencyViolation);
- CloudFormation deletes a stack's resources dependents first (the reverse of ``DependsOn`` and
  references).

This module makes moto do the same, so that ``--network`` proves the teardown: a function
deleted after the policy that let its role delete interfaces strands them, and the stack
deletion then fails as it would on AWS. The install's :class:`InterfaceJournal` (a part of
the rehearsal's journal) records what happened to each interface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.cloudformation.parsing import ResourceMap
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.iam.models import iam_backends

from rehearsal.moto_gaps._patching import Installer, patch

DESCRIPTION = "AWS Lambda VPC ENI-{}"


@dataclass
class Interface:
    """One Hyperplane interface: its subnet and groups, and the functions (ARN -> role ARN)
    that use it."""

    eni_id: str
    subnet_id: str
    group_ids: tuple[str, ...]
    users: dict[str, str] = field(default_factory=dict)


@dataclass
class InterfaceJournal:
    """What the emulation did: interfaces created, released (deleted by Lambda with a role that
    could) and stranded (left, because the role could not); and the interfaces in use."""

    created: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    stranded: list[str] = field(default_factory=list)
    #: Resources whose ordered deletion failed, left to moto's own retry loop.
    deferred: list[str] = field(default_factory=list)
    interfaces: dict[tuple[str, str, tuple[str, ...]], Interface] = field(default_factory=dict)


def _attach(journal: InterfaceJournal, backend: LambdaBackend, function: Any) -> None:
    """Create (or share) the function's interfaces, one per subnet and group combination."""
    config = function._vpc_config or {}
    subnets, groups = (
        config.get("SubnetIds") or [],
        tuple(sorted(config.get("SecurityGroupIds") or [])),
    )
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    for subnet_id in subnets:
        key = (backend.region_name, subnet_id, groups)
        interface = journal.interfaces.get(key)
        if interface is None:
            eni = ec2.create_network_interface(
                subnet=ec2.get_subnet(subnet_id),
                private_ip_address=[],
                group_ids=list(groups),
                description=DESCRIPTION.format(function.function_name),
            )
            eni.requester_managed = True
            eni.interface_type = "lambda"
            interface = Interface(eni.id, subnet_id, groups)
            journal.interfaces[key] = interface
            journal.created.append(eni.id)
        interface.users[function.function_arn] = function.role


def _release(journal: InterfaceJournal, backend: LambdaBackend, function: Any) -> None:
    """The function is gone: Lambda deletes each interface no other function uses, with this
    function's role, if that role still exists and may delete network interfaces."""
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    for key, interface in list(journal.interfaces.items()):
        role = interface.users.pop(function.function_arn, None)
        if role is None or interface.users:
            continue
        del journal.interfaces[key]
        if role_may_delete_interfaces(backend.account_id, role):
            ec2.delete_network_interface(interface.eni_id)
            journal.released.append(interface.eni_id)
        else:
            journal.stranded.append(interface.eni_id)


def role_may_delete_interfaces(account_id: str, role_arn: str) -> bool:
    """The role exists and an Allow statement of its inline or attached policies grants
    ``ec2:DeleteNetworkInterface`` on ``*`` (Lambda's own call)."""
    iam = iam_backends[account_id]["global"]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:  # the role is gone
        return False
    documents = [json.loads(d) if isinstance(d, str) else d for d in role.policies.values()]
    for policy in role.managed_policies.values():
        documents += [json.loads(v.document) for v in policy.versions if v.is_default]
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions = actions if isinstance(actions, list) else [actions]
            resources = resources if isinstance(resources, list) else [resources]
            if (
                statement.get("Effect") == "Allow"
                and "*" in resources
                and any(fnmatchcase("ec2:deletenetworkinterface", a.lower()) for a in actions)
            ):
                return True
    return False


def _in_use(backend: Any, *, subnet_id: str | None = None, group_id: str | None = None) -> str:
    for eni in backend.enis.values():
        groups = {g.id for g in eni.group_set}
        if (subnet_id and eni.subnet.id == subnet_id) or (group_id and group_id in groups):
            return str(eni.id)
    return ""


def _guarded_delete_subnet(original: Any) -> Any:
    def delete_subnet(self: Any, subnet_id: str) -> Any:
        eni = _in_use(self, subnet_id=subnet_id)
        if eni:
            raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies ({eni})")
        return original(self, subnet_id)

    return delete_subnet


def _guarded_delete_group(original: Any) -> Any:
    def delete_security_group(
        self: Any, name: str | None = None, group_id: str | None = None
    ) -> Any:
        eni = _in_use(self, group_id=group_id) if group_id else ""
        if eni:
            raise DependencyViolationError(f"resource {group_id} has a dependent object ({eni})")
        return original(self, name=name, group_id=group_id)

    return delete_security_group


def _with_interfaces(journal: InterfaceJournal, original: Any) -> Any:
    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        function = original(self, spec)
        _attach(journal, self, function)
        return function

    return create_function


def _releasing(journal: InterfaceJournal, original: Any) -> Any:
    def delete_function(
        self: LambdaBackend, function_name: str, qualifier: str | None = None
    ) -> None:
        function = self.get_function(function_name)
        original(self, function_name, qualifier)
        if qualifier is None:
            _release(journal, self, function)

    return delete_function


def deletion_order(template: dict[str, Any]) -> list[str]:
    """The stack's resources in an order CloudFormation may delete them: a resource only once
    nothing left depends on it (``DependsOn`` or a ``Ref``/``Fn::GetAtt``)."""
    resources = template.get("Resources", {})
    needs = {name: _dependencies(body, set(resources)) for name, body in resources.items()}
    order: list[str] = []
    remaining = set(resources)
    while remaining:
        free = [n for n in remaining if not any(n in needs[o] for o in remaining - {n})]
        if not free:  # a cycle CloudFormation would have refused: keep moto's own order
            free = list(remaining)
        # Among resources nothing orders, CloudFormation may delete in any order: take the
        # worst for a function in a VPC (its role's policies before it), so that only a
        # declared dependency keeps the interfaces deletable.
        free.sort(key=lambda n: (resources[n].get("Type") == "AWS::Lambda::Function", n))
        order.append(free[0])
        remaining.discard(free[0])
    return order


def _dependencies(body: dict[str, Any], names: set[str]) -> set[str]:
    depends = body.get("DependsOn", [])
    found = set(depends if isinstance(depends, list) else [depends])

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if len(value) == 1:
                ((function, argument),) = value.items()
                if function == "Ref" and argument in names:
                    found.add(argument)
                if function == "Fn::GetAtt":
                    name = argument[0] if isinstance(argument, list) else str(argument)
                    found.add(name.split(".")[0])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(body.get("Properties", {}))
    return found & names


def _ordered_delete(journal: InterfaceJournal, original: Any) -> Any:
    """ResourceMap.delete, one resource at a time in CloudFormation's order (moto's own loop,
    which retries what fails, then deletes whatever is left)."""

    def delete(self: ResourceMap) -> None:
        for name in deletion_order({"Resources": self._resource_json_map}):
            resource = self._parsed_resources.get(name)
            body = self._resource_json_map[name]
            if (
                resource is None
                or isinstance(resource, str)
                or body.get("DeletionPolicy") == "Retain"
            ):
                continue
            try:
                self._delete_resource(resource, body)
            except Exception as error:  # moto's loop below tries it again and raises what stays
                journal.deferred.append(f"{name}: {type(error).__name__}")
            else:
                self._parsed_resources.pop(name, None)
        original(self)

    return delete


def _apply(journal: InterfaceJournal) -> InterfaceJournal:
    patch(
        LambdaBackend,
        "create_function",
        _with_interfaces(journal, LambdaBackend.create_function),
    )
    patch(LambdaBackend, "delete_function", _releasing(journal, LambdaBackend.delete_function))
    patch(SubnetBackend, "delete_subnet", _guarded_delete_subnet(SubnetBackend.delete_subnet))
    patch(
        SecurityGroupBackend,
        "delete_security_group",
        _guarded_delete_group(SecurityGroupBackend.delete_security_group),
    )
    patch(ResourceMap, "delete", _ordered_delete(journal, ResourceMap.delete))
    return journal


INSTALL = Installer(_apply)
