"""Provisioned concurrency on an alias of a published version, within the function's reserved
concurrency: the alias's own setting, and every bound Application Auto Scaling may set on it
(the scalable target's maximum and each scheduled action's).

Lambda refuses provisioned concurrency on ``$LATEST`` and above the function's reserved
concurrency. Sources: Lambda developer guide, "Configuring provisioned concurrency for a
function"; "Configuring reserved concurrency for a function".
"""

from __future__ import annotations

from typing import Any

from ml_constructs.preconditions.requirements import (
    LAMBDA_PROVISIONED_DIMENSION,
    LAMBDA_PROVISIONED_QUALIFIER_FORBIDDEN,
)
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

ALIAS = "AWS::Lambda::Alias"
TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"


def _reserved(view: AssemblyView, alias: ResourceId) -> Any:
    """The reserved concurrency of the alias's function (None: none, or not in the assembly)."""
    function = view.target(alias.stack, view.properties(alias).get("FunctionName"))
    if function is None:
        return None
    return view.properties(function).get("ReservedConcurrentExecutions")


def _above(values: list[Any], reserved: Any) -> list[str]:
    if not isinstance(reserved, int):
        return []
    return [f"AboveReserved::{v}>{reserved}" for v in values if isinstance(v, int) and v > reserved]


def _check_alias(view: AssemblyView, alias: ResourceId) -> list[str]:
    properties = view.properties(alias)
    config = properties.get("ProvisionedConcurrencyConfig") or {}
    provisioned = config.get("ProvisionedConcurrentExecutions")
    if provisioned is None:
        return []
    findings = []
    if properties.get("FunctionVersion") == LAMBDA_PROVISIONED_QUALIFIER_FORBIDDEN:
        findings.append("OnLatest")
    return findings + _above([provisioned], _reserved(view, alias))


def _check_target(view: AssemblyView, target: ResourceId) -> list[str]:
    properties = view.properties(target)
    if properties.get("ScalableDimension") != LAMBDA_PROVISIONED_DIMENSION:
        return []
    aliases = [r for r in view.references(target) if view.type_of(r) == ALIAS]
    if not aliases:
        return []
    values = [properties.get("MaxCapacity")]
    for action in properties.get("ScheduledActions") or []:
        bounds = action.get("ScalableTargetAction") or {}
        values += [bounds.get("MinCapacity"), bounds.get("MaxCapacity")]
    return sorted(set(_above(values, _reserved(view, aliases[0]))))


def check(view: AssemblyView, resource: ResourceId) -> list[str]:
    if view.type_of(resource) == ALIAS:
        return _check_alias(view, resource)
    return _check_target(view, resource)


RULE = Rule(
    name="ProvisionedConcurrencyFits",
    info="Provisioned concurrency is set on $LATEST, or above the function's reserved "
    "concurrency (on the alias, or as a bound Application Auto Scaling may set).",
    explanation="Lambda configures provisioned concurrency on a published version or an alias "
    "only, and refuses more than the function's reserved concurrency (Lambda developer guide, "
    "'Configuring provisioned concurrency for a function').",
    resource_types=frozenset({ALIAS, TARGET}),
    check=check,
)
