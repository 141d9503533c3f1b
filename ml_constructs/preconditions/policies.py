"""Reading policy statements as IAM would for the questions the rules ask: does an Allow
statement grant this action on this resource, and under which condition keys."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from ml_constructs.preconditions.template_view import AssemblyView, Statement, as_list


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return fnmatchcase(action.lower(), pattern.lower())


def resource_covers(pattern: str, resource: str) -> bool:
    """Whether the resource pattern ``pattern`` covers every ARN ``resource`` (itself a
    pattern) can stand for: its wildcards are read as literal text, which is exact for the
    prefix-style patterns policies use (``bucket/*`` covers ``bucket/models/*``)."""
    return fnmatchcase(resource, pattern)


def grants(view: AssemblyView, statement: Statement, action: str, resource: str = "*") -> bool:
    """``statement`` is an Allow of ``action`` on ``resource`` (rendered)."""
    if not statement.allows or "NotAction" in statement.body or "NotResource" in statement.body:
        return False
    if not any(action_matches(pattern, action) for pattern in statement.actions):
        return False
    stack = statement.holder.stack
    patterns = [view.render(stack, r) for r in as_list(statement.body.get("Resource"))]
    return any(resource_covers(pattern, resource) for pattern in patterns)


def allowing_action(statements: Iterable[Statement], action: str) -> list[Statement]:
    """The Allow statements among ``statements`` that name ``action``, whatever the resource."""
    return [
        s
        for s in statements
        if s.allows
        and "NotAction" not in s.body
        and any(action_matches(pattern, action) for pattern in s.actions)
    ]


def granting(
    view: AssemblyView, statements: Iterable[Statement], action: str, resource: str = "*"
) -> list[Statement]:
    """The statements among ``statements`` that allow ``action`` on ``resource``."""
    return [s for s in statements if grants(view, s, action, resource)]


def condition_keys(statement: Statement) -> set[str]:
    """The condition keys a statement tests (``aws:SourceAccount``...), lower-cased."""
    return {key.lower() for operator in statement.conditions.values() for key in operator}
