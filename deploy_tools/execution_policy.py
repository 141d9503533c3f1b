"""Least-privilege CloudFormation execution policies for ``cdk bootstrap``, instead of
AdministratorAccess.

    python -m deploy_tools.execution_policy --pipeline pipeline --output-dir build/execution-policy
    python -m deploy_tools.execution_policy --env prod --account 222222222222 --output-dir DIR

For each target account: the actions CloudFormation's resource handlers need for exactly the
resource types the environment's stacks contain (create, read, update and delete permissions
from the CloudFormation resource provider schemas, as cfn-lint ships them), with IAM limited to
the project's roles (``role/<project>-*``; CloudFormation names the roles it generates after the
stack, ``<project>-<env>-...``) and service-linked roles, SSM reads limited to the parameters
the templates resolve, and Lambda invocations (custom resources) to the project's functions.
The documents are split to stay under IAM's 6,144-character managed-policy limit; the command
prints the ``aws iam create-policy`` and ``cdk bootstrap`` commands that use them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from serving_config import ConfigError, Settings, load_pipeline, load_settings
from serving_config.pipeline import partition

#: IAM's limit on a customer managed policy, whitespace not counted.
MAX_POLICY_CHARS = 6144
#: Resource types that need no permission of their own.
NO_PERMISSIONS = frozenset({"AWS::CDK::Metadata"})
#: The CDK bootstrap stack's version parameter (every template resolves it).
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
#: Public parameters the templates resolve (the Powertools layer's ARN).
PUBLIC_PARAMETERS = "/aws/service/powertools/*"
#: IAM actions on users and groups: the stacks attach policies to roles only.
_NOT_ROLES = ("GroupPolicy", "UserPolicy")


class PolicyError(RuntimeError):
    """A resource type whose permissions are unknown, or an unusable request."""


@cache
def _schemas() -> tuple[Path, dict[str, str]]:
    import cfnlint

    base = Path(cfnlint.__file__).resolve().parent / "data" / "schemas"
    index: dict[str, str] = json.loads((base / "providers" / "us-east-1.json").read_text())
    return base / "resources", index


def handler_permissions(resource_type: str) -> set[str]:
    """What CloudFormation's create, read, update and delete handlers of ``resource_type``
    call (its resource provider schema's ``handlers``)."""
    if resource_type in NO_PERMISSIONS:
        return set()
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        return set()  # CloudFormation invokes the provider function: see custom_resource_statement
    resources, index = _schemas()
    digest = index.get(resource_type)
    if digest is None:
        raise PolicyError(f"no resource provider schema for {resource_type}")
    schema = json.loads((resources / f"{digest}.json").read_text())
    handlers = schema.get("handlers", {})
    return {
        permission
        for handler in ("create", "read", "update", "delete")
        for permission in handlers.get(handler, {}).get("permissions", [])
    }


def resource_types(templates: Iterable[dict[str, Any]]) -> set[str]:
    return {r["Type"] for t in templates for r in t.get("Resources", {}).values()}


@dataclass(frozen=True)
class Target:
    """Where the policies go and what the environment's stacks name."""

    project: str
    account: str
    region: str
    parameters: tuple[str, ...]

    @property
    def partition(self) -> str:
        return partition(self.region)


def statements(types: Iterable[str], target: Target) -> list[dict[str, Any]]:
    """The policy statements for ``types`` in ``target``'s account."""
    types = sorted(set(types))
    actions = set().union(*(handler_permissions(t) for t in types)) if types else set()
    iam = sorted(a for a in actions if a.startswith("iam:") and not a.endswith(_NOT_ROLES))
    services = sorted(a for a in actions if not a.startswith(("iam:", "ssm:GetParameter")))
    p, account, region = target.partition, target.account, target.region
    found: list[dict[str, Any]] = []
    for i, chunk in enumerate(_chunks(services)):
        found.append(
            {"Sid": f"ResourceHandlers{i + 1}", "Effect": "Allow", "Action": chunk, "Resource": "*"}
        )
    found.append(
        {
            "Sid": "ProjectRoles",
            "Effect": "Allow",
            "Action": [a for a in iam if a != "iam:CreateServiceLinkedRole"],
            "Resource": f"arn:{p}:iam::{account}:role/{target.project}-*",
        }
    )
    if "iam:CreateServiceLinkedRole" in iam:
        found.append(
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole", "iam:GetRole", "iam:PassRole"],
                "Resource": f"arn:{p}:iam::{account}:role/aws-service-role/*",
            }
        )
    found.append(
        {
            "Sid": "ResolveTemplateParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": [
                f"arn:{p}:ssm:{region}:{account}:parameter{name}"
                for name in (BOOTSTRAP_VERSION_PARAMETER, *target.parameters)
            ]
            + [f"arn:{p}:ssm:{region}::parameter{PUBLIC_PARAMETERS}"],
        }
    )
    if any(t.startswith("Custom::") for t in types):
        found.append(
            {
                "Sid": "InvokeCustomResourceProviders",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": f"arn:{p}:lambda:{region}:{account}:function:{target.project}-*",
            }
        )
    return found


def _chunks(actions: Sequence[str], budget: int = MAX_POLICY_CHARS - 600) -> list[list[str]]:
    """Actions in groups whose statement fits one managed policy with room to spare."""
    groups: list[list[str]] = [[]]
    size = 0
    for action in actions:
        cost = len(action) + 3
        if groups[-1] and size + cost > budget:
            groups.append([])
            size = 0
        groups[-1].append(action)
        size += cost
    return [g for g in groups if g]


def documents(found: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements packed into policy documents under :data:`MAX_POLICY_CHARS`."""
    packed: list[list[dict[str, Any]]] = [[]]
    for statement in found:
        candidate = [*packed[-1], statement]
        if packed[-1] and compact_size({"Version": "2012-10-17", "Statement": candidate}) > (
            MAX_POLICY_CHARS
        ):
            packed.append([statement])
        else:
            packed[-1] = candidate
    return [{"Version": "2012-10-17", "Statement": group} for group in packed]


def compact_size(document: dict[str, Any]) -> int:
    """The size IAM counts: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def environment_templates(settings: Settings) -> list[dict[str, Any]]:
    """The templates the plain workflow synthesizes for ``settings``' environment."""
    from app_factory import build_app

    app = build_app(context={"env": settings.name})
    return [stack.template for stack in app.synth().stacks]


def write(
    settings: Settings, account: str, region: str, directory: Path, templates: list[dict[str, Any]]
) -> list[tuple[str, Path]]:
    """Write the environment's policy documents; returns (policy name, file) pairs."""
    target = Target(settings.project, account, region, (settings.artifact_parameter,))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for i, document in enumerate(documents(statements(resource_types(templates), target))):
        name = f"{settings.prefix}-cfn-exec-{i + 1}"
        path = directory / f"{name}.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        written.append((name, path))
    return written


def commands(
    account: str, region: str, written: Sequence[tuple[str, Path]], trust: str | None
) -> list[str]:
    """What to run in ``account``: create the policies, bootstrap with them."""
    p = partition(region)
    lines = [
        f"aws iam create-policy --policy-name {name} --policy-document file://{path}"
        for name, path in written
    ]
    arns = ",".join(f"arn:{p}:iam::{account}:policy/{name}" for name, _ in written)
    trusted = f" --trust {trust}" if trust else ""
    lines.append(
        f"npx cdk bootstrap aws://{account}/{region}{trusted} "
        f"--cloudformation-execution-policies {arns}"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy_tools.execution_policy",
        description="Least-privilege CloudFormation execution policies for cdk bootstrap.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--pipeline", help="every stage of this pipeline file")
    which.add_argument("--env", help="one environment")
    parser.add_argument("--account", help="target account (default: the environment's own)")
    parser.add_argument("--region", help="target region (default: the environment's own)")
    parser.add_argument("--trust", help="the tooling account to trust (--env only)")
    parser.add_argument("--output-dir", type=Path, default=Path("build/execution-policy"))
    args = parser.parse_args(argv)
    try:
        if args.pipeline:
            delivery = load_pipeline(args.pipeline)
            targets = [
                (stage.settings, stage.settings.account, stage.settings.region)
                for stage in delivery.stages
            ]
            trust: str | None = delivery.pipeline.tooling_account
        else:
            settings = load_settings(args.env)
            targets = [(settings, args.account or settings.account, args.region or settings.region)]
            trust = args.trust
        for settings, account, region in targets:
            if not account or not region:
                raise PolicyError(
                    f"{settings.name} names no account and region: pass --account and --region"
                )
            written = write(
                settings,
                account,
                region,
                args.output_dir / settings.name,
                environment_templates(settings),
            )
            print(f"# {settings.name}: in account {account}")
            for line in commands(account, region, written, trust):
                print(line)
    except (ConfigError, PolicyError) as error:
        print(f"execution policy failed: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
