"""A precondition rule: which resource types it reads, and what it finds on one of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

#: What a rule finds on a resource: one id per missing precondition, none when all hold.
Check = Callable[[AssemblyView, ResourceId], list[str]]


@dataclass(frozen=True)
class Rule:
    """``name`` becomes the finding id ``DeployPreconditions-<name>[<finding>]``; ``info``
    says what is wrong, ``explanation`` what AWS does about it (with its source)."""

    name: str
    info: str
    explanation: str
    resource_types: frozenset[str]
    check: Check
