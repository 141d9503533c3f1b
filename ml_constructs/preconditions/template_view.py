"""The synthesized templates of one cloud assembly, read the way CloudFormation will deploy
them: what each resource references, what it waits for, which policies a role holds.

The rules read the templates as written (overrides and ``DependsOn`` included), not the
constructs, so that what they prove is what CloudFormation receives. Intrinsics are rendered
to stable text (``{data:Bucket.Arn}/models/*``), the same way wherever a value comes from
(``Fn::GetAtt`` in one stack, ``Fn::ImportValue`` of its export in another), so that two
renderings of one ARN compare equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

#: Resource types whose ``Ref`` is the resource's ARN (the rest mostly return a name or id).
REF_IS_ARN = frozenset(
    {
        "AWS::SNS::Topic",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Model",
        "AWS::SageMaker::MonitoringSchedule",
        "AWS::IAM::ManagedPolicy",
    }
)


@dataclass(frozen=True, order=True)
class ResourceId:
    """A resource of the assembly: its stack's template name and its logical id."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}:{self.logical_id}"


@dataclass(frozen=True)
class Statement:
    """One policy statement and where it lives (the policy resource holding it, or the role
    itself for an inline policy)."""

    body: dict[str, Any]
    holder: ResourceId

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action"))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource"))

    @property
    def conditions(self) -> dict[str, Any]:
        condition: dict[str, Any] = self.body.get("Condition") or {}
        return condition


@dataclass
class AssemblyView:
    """Every template of one assembly directory, by stack (template file stem)."""

    templates: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path) -> AssemblyView:
        templates = {
            path.name.removesuffix(".template.json"): json.loads(path.read_text("utf-8"))
            for path in sorted(directory.glob("*.template.json"))
        }
        return cls(templates)

    # -- resources ---------------------------------------------------------------------------

    def resource(self, rid: ResourceId) -> dict[str, Any]:
        resource: dict[str, Any] = self.templates[rid.stack]["Resources"][rid.logical_id]
        return resource

    def type_of(self, rid: ResourceId) -> str:
        return str(self.resource(rid).get("Type", ""))

    def properties(self, rid: ResourceId) -> dict[str, Any]:
        properties: dict[str, Any] = self.resource(rid).get("Properties") or {}
        return properties

    def resources(self, *types: str) -> Iterator[ResourceId]:
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if not types or resource.get("Type") in types:
                    yield ResourceId(stack, logical_id)

    # -- references --------------------------------------------------------------------------

    def target(self, stack: str, value: Any) -> ResourceId | None:
        """The resource that ``value`` (a ``Ref``, ``Fn::GetAtt`` or ``Fn::ImportValue`` of
        one of those) points to, or None (a literal, a parameter, a pseudo parameter)."""
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, argument),) = value.items()
        resources = self.templates[stack].get("Resources", {})
        if function == "Ref" and argument in resources:
            return ResourceId(stack, argument)
        if function == "Fn::GetAtt":
            name = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
            return ResourceId(stack, name) if name in resources else None
        if function == "Fn::ImportValue" and isinstance(argument, str):
            exported = self.exports.get(argument)
            return self.target(exported[0], exported[1]) if exported else None
        return None

    @cached_property
    def exports(self) -> dict[str, tuple[str, Any]]:
        """Export name -> (exporting stack, exported value)."""
        found: dict[str, tuple[str, Any]] = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = (output.get("Export") or {}).get("Name")
                if isinstance(name, str):
                    found[name] = (stack, output.get("Value"))
        return found

    def references(self, rid: ResourceId) -> set[ResourceId]:
        """Resources of the same stack that ``rid``'s properties name by Ref or GetAtt."""
        names = set(self.templates[rid.stack].get("Resources", {}))
        found: set[ResourceId] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if len(value) == 1:
                    ((function, argument),) = value.items()
                    if function == "Ref" and argument in names:
                        found.add(ResourceId(rid.stack, argument))
                    if function == "Fn::GetAtt":
                        name = argument[0] if isinstance(argument, list) else str(argument)
                        name = name.split(".")[0]
                        if name in names:
                            found.add(ResourceId(rid.stack, name))
                for child in value.values():
                    walk(child)
            elif isinstance(value, list):
                for child in value:
                    walk(child)

        walk(self.properties(rid))
        return found

    def depends_on(self, rid: ResourceId) -> set[ResourceId]:
        """Everything CloudFormation creates before ``rid``: its DependsOn and references,
        transitively, and every resource of the stacks its stack imports from (deployed
        before it)."""
        seen: set[ResourceId] = set()
        stack = [rid]
        while stack:
            current = stack.pop()
            declared = as_list(self.resource(current).get("DependsOn"))
            edges = {ResourceId(current.stack, d) for d in declared} | self.references(current)
            for edge in edges - seen:
                seen.add(edge)
                stack.append(edge)
        for other in self.imported_stacks(rid.stack):
            seen |= {r for r in self.resources() if r.stack == other}
        return seen

    def imported_stacks(self, stack: str) -> set[str]:
        """The stacks whose exports ``stack`` imports (deployed before it)."""
        text = json.dumps(self.templates[stack].get("Resources", {}))
        return {
            exporter
            for name, (exporter, _) in self.exports.items()
            if exporter != stack and json.dumps(name) in text
        }

    # -- rendering ---------------------------------------------------------------------------

    def render(self, stack: str, value: Any) -> str:
        """``value`` as stable text: literals as they are, ``Ref``/``GetAtt`` of a resource as
        ``{stack:Id}``/``{stack:Id.Attr}``, pseudo parameters as ``{AWS::Region}``, joins
        joined, imports as what the exporting stack exports."""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return json.dumps(value)
        if isinstance(value, list):
            return ",".join(self.render(stack, v) for v in value)
        if not isinstance(value, dict) or len(value) != 1:
            return json.dumps(value, sort_keys=True)
        ((function, argument),) = value.items()
        if function == "Ref":
            if str(argument).startswith("AWS::"):
                return "{" + str(argument) + "}"
            return "{" + f"{stack}:{argument}" + "}"
        if function == "Fn::GetAtt":
            name, attribute = (
                argument if isinstance(argument, list) else str(argument).split(".", 1)
            )
            return "{" + f"{stack}:{name}.{attribute}" + "}"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(self.render(stack, part) for part in parts)
        if function == "Fn::ImportValue" and isinstance(argument, str):
            exported = self.exports.get(argument)
            if exported is None:
                return "{import:" + argument + "}"
            return self.render(exported[0], exported[1])
        return json.dumps(value, sort_keys=True)

    def arn_of(self, rid: ResourceId) -> str:
        """How templates name ``rid``'s ARN once rendered (``GetAtt .Arn`` or its ``Ref``)."""
        if self.type_of(rid) in REF_IS_ARN:
            return "{" + f"{rid.stack}:{rid.logical_id}" + "}"
        return "{" + f"{rid.stack}:{rid.logical_id}.Arn" + "}"

    # -- IAM ---------------------------------------------------------------------------------

    def role_statements(self, role: ResourceId) -> list[Statement]:
        """The statements of ``role``: its inline policies and every ``AWS::IAM::Policy`` of
        the assembly that attaches to it (by Ref, or by name through an import)."""
        statements = [
            Statement(s, role)
            for policy in self.properties(role).get("Policies", [])
            for s in as_list((policy.get("PolicyDocument") or {}).get("Statement"))
        ]
        for policy in self.resources("AWS::IAM::Policy"):
            attached = as_list(self.properties(policy).get("Roles"))
            if any(self.target(policy.stack, r) == role for r in attached):
                document = self.properties(policy).get("PolicyDocument") or {}
                statements += [Statement(s, policy) for s in as_list(document.get("Statement"))]
        return statements

    def managed_policy_arns(self, role: ResourceId) -> list[str]:
        return [
            self.render(role.stack, arn)
            for arn in as_list(self.properties(role).get("ManagedPolicyArns"))
        ]

    def role_of(self, stack: str, value: Any) -> ResourceId | None:
        """The ``AWS::IAM::Role`` that ``value`` (a role ARN) points to, or None."""
        target = self.target(stack, value)
        if target is not None and self.type_of(target) == "AWS::IAM::Role":
            return target
        return None

    # -- networks ----------------------------------------------------------------------------

    def vpc_of_subnets(self, stack: str, subnet_ids: Any) -> str | None:
        """The rendered VpcId of the subnets that ``subnet_ids`` names, wherever they appear
        in it (a list, or a JSON document joined from references); None: ids only."""
        for subnet in _references(subnet_ids):
            target = self.target(stack, subnet)
            if target is not None and self.type_of(target) == "AWS::EC2::Subnet":
                return self.render(target.stack, self.properties(target).get("VpcId"))
        return None


def _references(value: Any) -> Iterator[dict[str, Any]]:
    """Every one-key intrinsic (``Ref``, ``Fn::GetAtt``, ``Fn::ImportValue``) in ``value``."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::ImportValue"):
            yield value
            return
        for child in value.values():
            yield from _references(child)
    elif isinstance(value, list):
        for child in value:
            yield from _references(child)


def as_list(value: Any) -> list[Any]:
    """A CloudFormation value that may be one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
