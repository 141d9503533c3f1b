"""Lint every IAM policy of a synthesized assembly with parliament, which knows AWS's actions,
resource ARN formats and condition keys offline (its own copy of the Service Authorization
Reference, pinned with it in requirements-dev.txt).

    python -m deploy_tools.iam_lint cdk.out [--all]

Every policy document in every template is linted: roles' trust and inline policies, managed
and attached policies, key, bucket, topic, queue and VPC endpoint policies, the model package
group's policy. Intrinsics are rendered to concrete ARNs first, in the formats parliament
itself knows: ``Fn::GetAtt X.Arn`` becomes an ARN of X's resource type
(``AWS::S3::Bucket`` -> s3's ``bucket``), imports are followed to the exporting stack, and
pseudo parameters take fixed values. Unknown actions, resources that match none of the
action's resource types, and condition keys that do not apply to the action are failures
(:data:`FAILURES`); advice (``RESOURCE_STAR`` for a wildcard acknowledged in cdk-nag) is
printed with ``--all`` only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ml_constructs.preconditions.template_view import REF_IS_ARN

#: parliament's issue codes that fail the lint: the policy would not do what it says on AWS.
FAILURES = frozenset(
    {
        "EXCEPTION",
        "MALFORMED_JSON",
        "MALFORMED",
        "DUPLICATE_SID",
        "UNKNOWN_PRINCIPAL",
        "UNKNOWN_ACTION",
        "UNKNOWN_PREFIX",
        "UNKNOWN_CONDITION_FOR_ACTION",
        "UNKNOWN_OPERATOR",
        "INVALID_ARN",
        "MISMATCHED_TYPE",
        "RESOURCE_MISMATCH",
    }
)
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/id",
    "AWS::NoValue": "",
}
#: Where the IAM resource type is not the CloudFormation type's own name.
RESOURCE_TYPE_OF = {
    "AWS::ApiGateway::RestApi": ("execute-api", "execute-api-general"),
    "AWS::Events::Rule": ("events", "rule-on-default-event-bus"),
}
#: What ``Fn::GetAtt X.Arn`` adds to the IAM format: a log group's Arn attribute ends in
#: ``:*`` ("AWS::Logs::LogGroup", return values).
ARN_ATTRIBUTE_SUFFIX = {"AWS::Logs::LogGroup": ":*"}
#: Trust policies name no resource; parliament lints identity and resource policies.
NOT_LINTED = ("AssumeRolePolicyDocument",)


@dataclass(frozen=True)
class Finding:
    """One parliament finding on one policy document."""

    template: str
    resource: str
    where: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.template} {self.resource} {self.where}: {self.issue} {self.detail}"


def _key(name: str) -> str:
    """Resource type names compared loosely (``log-group``, ``LogGroup``, ``function alias``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@cache
def _arn_formats() -> dict[tuple[str, str], str]:
    """(service prefix, resource type) -> ARN format, from parliament's own definitions."""
    from parliament import iam_definition

    return {
        (service["prefix"], _key(resource["resource"])): resource["arn"]
        for service in iam_definition
        for resource in service.get("resources", [])
    }


def arn_of_type(cfn_type: str, name: str) -> str | None:
    """A concrete ARN of a CloudFormation resource type, in the format parliament knows."""
    parts = cfn_type.split("::")
    if len(parts) != 3:
        return None
    service, resource = RESOURCE_TYPE_OF.get(cfn_type, (parts[1].lower(), parts[2]))
    arn_format = _arn_formats().get((service, _key(resource)))
    if arn_format is None:
        return None
    values = {"Partition": "aws", "Region": "us-east-1", "Account": "123456789012"}
    arn = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), name.lower()), arn_format)
    return arn + ARN_ATTRIBUTE_SUFFIX.get(cfn_type, "")


class Renderer:
    """Renders intrinsic functions of one assembly's templates to concrete strings."""

    def __init__(self, templates: dict[str, dict[str, Any]]) -> None:
        self.templates = templates
        self.exports = {
            (output.get("Export") or {}).get("Name"): (stack, output.get("Value"))
            for stack, template in templates.items()
            for output in template.get("Outputs", {}).values()
        }
        self.unrendered: list[str] = []

    def render(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.render(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref" or function.startswith("Fn::"):
                return self._intrinsic(stack, function, argument)
        return {k: self.render(stack, v) for k, v in value.items()}

    def _intrinsic(self, stack: str, function: str, argument: Any) -> Any:
        resources = self.templates[stack].get("Resources", {})
        if function == "Ref":
            if argument in PSEUDO:
                return PSEUDO[argument]
            kind = resources.get(argument, {}).get("Type", "")
            if kind in REF_IS_ARN:
                return self._arn(kind, argument)
            return argument.lower()
        if function == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            kind = resources.get(name, {}).get("Type", "")
            if attribute.endswith("Arn"):
                return self._arn(kind, name)
            return f"{name.lower()}-{attribute.lower()}"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(str(self.render(stack, p)) for p in parts)
        if function == "Fn::ImportValue":
            exporter = self.exports.get(argument)
            if exporter is None:
                self.unrendered.append(f"import {argument}")
                return "unrendered"
            return self.render(exporter[0], exporter[1])
        if function == "Fn::FindInMap":
            mapping, key, attribute = (self.render(stack, a) for a in argument)
            mappings = self.templates[stack].get("Mappings", {})
            return mappings.get(mapping, {}).get(key, {}).get(attribute, "123456789012")
        if function == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: str(self._intrinsic(stack, "Ref", m.group(1))),
                text,
            )
        self.unrendered.append(function)
        return "unrendered"

    def _arn(self, kind: str, name: str) -> str:
        arn = arn_of_type(kind, name)
        if arn is None:
            self.unrendered.append(f"ARN of {kind or name}")
            return "unrendered"
        return arn


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(logical id, property path, document) of every policy document in ``template``."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(value, dict):
            statements = value.get("Statement")
            if isinstance(statements, list) and all(
                isinstance(s, dict) and "Effect" in s for s in statements
            ):
                yield path, value
                return
            for key, child in value.items():
                yield from walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from walk(child, f"{path}[{index}]")

    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        linted = {k: v for k, v in properties.items() if k not in NOT_LINTED}
        for path, document in walk(linted, ""):
            yield logical_id, path, document


def lint_templates(templates: dict[str, dict[str, Any]]) -> list[Finding]:
    """Every parliament finding on every policy of ``templates`` (one assembly), each
    statement linted on its own so that a finding names its statement."""
    from parliament import analyze_policy_string

    renderer = Renderer(templates)
    findings = []
    for stack, template in templates.items():
        for logical_id, path, document in policy_documents(template):
            for index, statement in enumerate(renderer.render(stack, document["Statement"])):
                policy = analyze_policy_string(
                    json.dumps({"Version": "2012-10-17", "Statement": [statement]})
                )
                where = f"{path}.Statement[{index}]"
                findings += [
                    Finding(stack, logical_id, where, f.issue, json.dumps(f.detail, default=str))
                    for f in policy.findings
                    if not _expanded_mismatch(f, statement)
                ]
    findings += [
        Finding("-", "-", "-", "EXCEPTION", f"could not render {what}")
        for what in sorted(set(renderer.unrendered))
    ]
    return findings


def _expanded_mismatch(finding: Any, statement: dict[str, Any]) -> bool:
    """A RESOURCE_MISMATCH only on actions that a wildcard (``s3:*``) expanded to, while the
    wildcard still applies to the statement's resources: IAM ignores the actions a resource
    cannot take, so this is not a failure. Mismatches of actions written out are."""
    if finding.issue != "RESOURCE_MISMATCH":
        return False
    mismatched = {str(d.get("action", "")).lower() for d in finding.detail}
    written = [str(a).lower() for a in _as_list(statement.get("Action"))]
    if any(a in mismatched for a in written if "*" not in a and "?" not in a):
        return False
    patterns = [a for a in written if "*" in a or "?" in a]
    return all(set(_expand(p)) - mismatched for p in patterns)


def _expand(pattern: str) -> list[str]:
    """The actions a wildcard action stands for, from parliament's definitions."""
    from fnmatch import fnmatchcase

    from parliament import iam_definition

    prefix = pattern.split(":", 1)[0]
    return [
        f"{prefix}:{p['privilege']}".lower()
        for service in iam_definition
        if service["prefix"] == prefix
        for p in service["privileges"]
        if fnmatchcase(f"{prefix}:{p['privilege']}".lower(), pattern)
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def assemblies(directory: Path) -> Iterator[Path]:
    """``directory`` and every nested stage assembly (``assembly-*``) in it."""
    yield directory
    for nested in sorted(directory.glob("assembly-*")):
        if nested.is_dir():
            yield from assemblies(nested)


def lint_assembly(directory: Path) -> list[Finding]:
    """Lint the assembly at ``directory`` and its nested stage assemblies, each on its own."""
    findings: list[Finding] = []
    for assembly in assemblies(directory):
        templates = {
            path.name.removesuffix(".template.json"): json.loads(path.read_text("utf-8"))
            for path in sorted(assembly.glob("*.template.json"))
        }
        findings += lint_templates(templates)
    return findings


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.issue in FAILURES]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assembly", type=Path, help="a synthesized cloud assembly (cdk.out)")
    parser.add_argument("--all", action="store_true", help="print advice findings too")
    args = parser.parse_args(argv)
    if not (args.assembly / "manifest.json").is_file():
        print(f"{args.assembly}: not a cloud assembly (no manifest.json)", file=sys.stderr)
        return 2
    findings = lint_assembly(args.assembly)
    failed = failures(findings)
    for finding in findings if args.all else failed:
        print(finding)
    print(f"{len(failed)} failing finding(s), {len(findings) - len(failed)} advice")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
