"""Narrow checkov suppressions: one check, one CloudFormation resource, one written reason.

checkov reads ``Metadata.checkov.skip`` of a resource in the synthesized template (its
documented way to suppress a check for one resource); ``tests/infra/test_scanners.py`` runs
checkov on every environment's templates and ``deploy_tools.synth_report`` lists each skip.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

METADATA_KEY = "checkov"


def _resource(construct: IConstruct) -> CfnResource:
    element = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(element, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return element


def skip(construct: IConstruct, check_id: str, reason: str) -> None:
    """Suppress checkov's ``check_id`` on ``construct``'s resource (its default child for an
    L2), with the reason a reviewer reads."""
    if not check_id.startswith("CKV_") or not reason.strip():
        raise ValueError("a checkov skip needs a CKV_ id and a written reason")
    resource = _resource(construct)
    current: dict[str, Any] = resource.get_metadata(METADATA_KEY) or {"skip": []}
    skips = [s for s in current.get("skip", []) if s.get("id") != check_id]
    skips.append({"id": check_id, "comment": reason})
    resource.add_metadata(METADATA_KEY, {"skip": skips})


def skips_of(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(logical id, check id, reason) of every skip in a synthesized template."""
    return [
        (logical, entry["id"], entry["comment"])
        for logical, resource in template.get("Resources", {}).items()
        for entry in resource.get("Metadata", {}).get(METADATA_KEY, {}).get("skip", [])
    ]
