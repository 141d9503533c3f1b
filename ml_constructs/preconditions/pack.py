"""The project's cdk-nag pack: AWS's deploy-time preconditions, checked on every synth.

cdk-nag 3 runs packs as CDK validation plugins after the assembly is written; this pack reads
the written templates (``template_view``) and applies each rule of ``rules`` to the resources
of its types. Findings are acknowledged like any cdk-nag finding
(``ml_constructs.nag.acknowledge``) and fail the synth otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import CfnResource, Stack, Stage
from cdk_nag import IApplyRule, NagMessageLevel, NagPack
from constructs import IConstruct

from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.rules import RULES
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

PACK_NAME = "DeployPreconditions"


@jsii.implements(IApplyRule)
class _Findings:
    """One rule's result on one resource, in the shape cdk-nag's ``applyRule`` takes (jsii
    reads an interface's members as properties of the class)."""

    def __init__(self, rule: Rule, node: CfnResource, findings: list[str]) -> None:
        self._rule, self._node, self._findings = rule, node, findings

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.name

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource) -> list[str]:
        return self._findings


class DeployPreconditionChecks(NagPack):
    """``Validations.of(app).add_plugins(DeployPreconditionChecks(app))``."""

    def __init__(self, scope: IConstruct | None = None, rules: tuple[Rule, ...] = RULES) -> None:
        super().__init__(scope)
        self._pack_name = PACK_NAME
        self._rules = rules
        self._views: dict[tuple[Path, tuple[int, ...]], AssemblyView] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        resource_type = node.cfn_resource_type
        rules = [r for r in self._rules if resource_type in r.resource_types]
        if not rules:
            return
        stack = Stack.of(node)
        view = self._view(Path(Stage.of(stack).outdir))  # type: ignore[union-attr]
        rid = ResourceId(
            stack.template_file.removesuffix(".template.json"),
            str(stack.resolve(stack.get_logical_id(node))),
        )
        for rule in rules:
            findings = _Findings(rule, node, rule.check(view, rid))
            self._apply_rule(findings)  # type: ignore[arg-type]  # jsii reads the properties

    def _view(self, directory: Path) -> AssemblyView:
        """The assembly's templates, read once per synth (the plugin runs after they are
        written; a later synth into the same directory rewrites them)."""
        stamp = (directory, tuple(p.stat().st_mtime_ns for p in directory.glob("*.template.json")))
        if stamp not in self._views:
            self._views = {stamp: AssemblyView.load(directory)}
        return self._views[stamp]


def pack_report(report: dict[str, Any]) -> dict[str, Any] | None:
    """This pack's part of a ``validation-report.json``, or None."""
    for plugin in report.get("pluginReports", []):
        if plugin.get("pluginName") == PACK_NAME:
            found: dict[str, Any] = plugin
            return found
    return None
