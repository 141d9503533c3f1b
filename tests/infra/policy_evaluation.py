"""A small IAM evaluator over synthesized templates: enough to ask "may this principal use the
key for this action" of the key policy and of the principal's own policies, as AWS does for a
customer managed key in the same account (both must allow; an explicit deny wins).

Covers what the stack's policies use: Allow/Deny, Action and Resource globs, AWS account-root,
role and service principals, and the condition operators StringEquals, StringLike, ArnEquals,
ArnLike and Bool (a missing context key fails the condition, as in IAM).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION}


@dataclass(frozen=True)
class Principal:
    """Who calls: an IAM role (``arn``) or an AWS service (``service``)."""

    arn: str = ""
    service: str = ""


class Renderer:
    """Turns CloudFormation values into strings: pseudo parameters, Join, Sub-free templates,
    GetAtt/Ref of known resources, and ImportValue of the data stack's exports."""

    def __init__(self, templates: list[dict[str, Any]], names: dict[str, str]) -> None:
        self.names = names  # logical id -> physical value (ARN or name) for Ref/GetAtt Arn
        self.exports: dict[str, Any] = {}
        for template in templates:
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export:
                    self.exports[self.render(export)] = output["Value"]

    def render(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            ref = value["Ref"]
            return PSEUDO.get(ref) or self.names.get(ref, f"<{ref}>")
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return self.names.get(f"{logical}.{attribute}", f"<{logical}.{attribute}>")
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self.render(p)) for p in parts)
        if "Fn::ImportValue" in value:
            return self.render(self.exports[self.render(value["Fn::ImportValue"])])
        return {k: self.render(v) for k, v in value.items()}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(statement: dict[str, Any], who: Principal) -> bool:
    principal = statement.get("Principal")
    if principal is None:  # an identity policy: the principal is its owner
        return True
    if principal == "*":
        return True
    services = _listed(principal.get("Service", []))
    if who.service:
        return who.service in services
    for aws in _listed(principal.get("AWS", [])):
        if aws in (who.arn, f"arn:{PARTITION}:iam::{ACCOUNT}:root", ACCOUNT):
            return who.arn.startswith(f"arn:{PARTITION}:iam::{ACCOUNT}:") or aws == who.arn
    return False


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _condition_met(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            values = [str(w) for w in _listed(wanted)]
            if operator in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif operator in ("StringLike", "ArnLike"):
                ok = any(_glob(v, actual) for v in values)
            elif operator == "Bool":
                ok = actual.lower() in [v.lower() for v in values]
            else:
                raise ValueError(f"condition operator {operator} is not evaluated here")
            if not ok:
                return False
    return True


def _applies(
    statement: dict[str, Any], action: str, resource: str, context: dict[str, str]
) -> bool:
    actions = _listed(statement.get("Action", []))
    if not any(_glob(a, action) for a in actions):
        return False
    if not any(_glob(r, resource) for r in _listed(statement.get("Resource", []))):
        return False
    return _condition_met(statement.get("Condition", {}), context)


def allows(
    statements: list[dict[str, Any]],
    who: Principal,
    action: str,
    resource: str,
    context: dict[str, str],
) -> bool:
    """Whether the (rendered) statements allow ``action`` on ``resource``: an applicable
    Allow and no applicable Deny."""
    matching = [
        s
        for s in statements
        if _principal_matches(s, who) and _applies(s, action, resource, context)
    ]
    return any(s["Effect"] == "Allow" for s in matching) and not any(
        s["Effect"] == "Deny" for s in matching
    )


def role_statements(
    templates: list[dict[str, Any]], role_name: str, renderer: Renderer
) -> list[dict[str, Any]]:
    """Every statement of the IAM policies attached to the role named ``role_name``."""
    found: list[dict[str, Any]] = []
    for template in templates:
        resources = template["Resources"]
        role_ids = {
            logical
            for logical, r in resources.items()
            if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == role_name
        }
        for resource in resources.values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            roles = {renderer.render(r) for r in resource["Properties"].get("Roles", [])}
            attached = {r.get("Ref") for r in resource["Properties"].get("Roles", [])}
            if attached & role_ids or role_name in roles:
                document = renderer.render(resource["Properties"]["PolicyDocument"])
                found.extend(document["Statement"])
    return found


def rendered_policies(templates: list[dict[str, Any]], key_arn: str) -> dict[str, Any]:
    """The data stack's key policy rendered (roles and the key named as deployed), with the
    templates and the renderer for the roles' own policies. ``templates[0]``: the data stack."""
    names: dict[str, str] = {}
    for template in templates:
        for logical, resource in template["Resources"].items():
            if resource["Type"] == "AWS::KMS::Key":
                names[logical] = key_arn.rsplit("/", 1)[1]
                names[f"{logical}.Arn"] = key_arn
            if resource["Type"] == "AWS::IAM::Role":
                name = resource["Properties"].get("RoleName", logical)
                names[logical] = name
                names[f"{logical}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    renderer = Renderer(templates, names)
    (key,) = [r for r in templates[0]["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    return {
        "key": renderer.render(key["Properties"]["KeyPolicy"])["Statement"],
        "templates": templates,
        "renderer": renderer,
    }
