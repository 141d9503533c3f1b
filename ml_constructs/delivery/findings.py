"""cdk-nag findings that CDK Pipelines forces on the roles it creates or is given, each with its
reason, acknowledged on the one policy that holds it.

Every wildcard of every role policy under the pipeline is classified against the patterns below;
one that matches none raises, so a CDK upgrade that widens a grant fails synth instead of being
acknowledged unread.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ml_constructs.findings import INLINE_POLICY
from ml_constructs.nag import acknowledge

ARTIFACTS = (
    "CDK Pipelines grants each pipeline role the artifact bucket and key with CDK's grant action "
    "sets (s3:GetObject*, s3:List*, kms:GenerateDataKey*...); the resources are this pipeline's "
    "one bucket (object names are chosen per execution) and its one key."
)
BUILD_LOGS = (
    "CodeBuild names log streams and report groups per build: the grant covers this project's "
    "own log group (<project>:*) and report groups (<project>-*) only."
)
SELF_MUTATION_READS = (
    "CDK Pipelines' self-mutation runs `cdk deploy` of the pipeline stack: "
    "cloudformation:DescribeStacks and s3:ListBucket on * as CDK Pipelines declares them."
)
SELF_MUTATION_ASSUMES = (
    "CDK Pipelines lets self-mutation assume roles tagged aws-cdk:bootstrap-role in the tooling "
    "account; a Deny in the same policy limits sts:AssumeRole to its bootstrap roles by name."
)
ASSET_BUILDS = (
    "CDK Pipelines' asset roles (one for file assets, one for image assets) are shared by their "
    "asset projects and start their builds (codebuild:StartBuild/BatchGetBuilds/StopBuild on *; "
    "the image role also ecr:GetAuthorizationToken, which has no resource); they may assume "
    "only the configured accounts' bootstrap publishing roles."
)
ASSET_LOGS = (
    "The shared asset role writes the logs and reports of CDK Pipelines' asset projects, which "
    "are named only when the pipeline is built: /aws/codebuild/* and report-group/* of the "
    "tooling account."
)

_COMMON: tuple[tuple[str, str], ...] = (
    (
        r"Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort)|kms:(GenerateDataKey|ReEncrypt))\*",
        ARTIFACTS,
    ),
    (r"Resource::<{bucket}\.Arn>/\*", ARTIFACTS),
    (
        r"Resource::arn:[a-z-]+:logs:[a-z0-9-]+:\d{{12}}:log-group:/aws/codebuild/<\w+>:\*",
        BUILD_LOGS,
    ),
    (r"Resource::arn:[a-z-]+:codebuild:[a-z0-9-]+:\d{{12}}:report-group/<\w+>-\*", BUILD_LOGS),
)
SELF_MUTATION_PATTERNS = (
    (r"Resource::\*", SELF_MUTATION_READS),
    (r"Resource::arn:\*:iam::\d{{12}}:role/\*", SELF_MUTATION_ASSUMES),
)
ASSET_PATTERNS = (
    (r"Resource::\*", ASSET_BUILDS),
    (r"Resource::arn:[a-z-]+:logs:[a-z0-9-]+:\d{{12}}:log-group:/aws/codebuild/\*", ASSET_LOGS),
    (r"Resource::arn:[a-z-]+:codebuild:[a-z0-9-]+:\d{{12}}:report-group/\*", ASSET_LOGS),
)


def acknowledge_pipeline_roles(
    scope: IConstruct,
    *,
    bucket_logical_id: str,
    role_patterns: Mapping[str, Sequence[tuple[str, str]]],
) -> None:
    """Acknowledge the wildcard and inline-policy findings of every role policy under ``scope``.

    ``role_patterns``: by a role's construct path, the extra (pattern, reason) pairs it needs."""
    for role in (c for c in scope.node.find_all() if isinstance(c, iam.Role)):
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            continue
        acknowledge(policy, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        patterns = [*_COMMON, *role_patterns.get(role.node.path, ())]
        by_reason: dict[str, list[str]] = defaultdict(list)
        for finding in wildcard_findings(policy):
            reason = next(
                (
                    why
                    for pattern, why in patterns
                    if re.fullmatch(pattern.format(bucket=bucket_logical_id), finding)
                ),
                None,
            )
            if reason is None:
                raise ValueError(f"{policy.node.path}: unexpected wildcard {finding}")
            by_reason[reason].append(finding)
        for reason, findings in by_reason.items():
            acknowledge(policy, "AwsSolutions-IAM5", reason, findings)


def wildcard_findings(policy: IConstruct) -> list[str]:
    """cdk-nag's IAM5 finding texts (``Action::s3:List*``, ``Resource::<Id.Arn>/*``) of the
    Allow statements of ``policy`` as it stands."""
    assert isinstance(policy, iam.Policy)
    document = Stack.of(policy).resolve(policy.document)
    found: set[str] = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in _listed(statement.get("Action")):
            if "*" in action:
                found.add(f"Action::{action}")
        for resource in _listed(statement.get("Resource")):
            text = _nag_text(resource)
            if "*" in text:
                found.add(f"Resource::{text}")
    return sorted(found)


def _listed(value: Any) -> Iterator[Any]:
    if value is None:
        return
    yield from (value if isinstance(value, list) else [value])


def _nag_text(value: Any) -> str:
    """A resolved value as cdk-nag prints it: references as ``<Id>`` and ``<Id.Attr>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_nag_text(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    return str(value)
