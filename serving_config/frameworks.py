"""What an environment file changes to serve and train with another framework: the one place
a run option (the rehearsal's ``--framework``) becomes configuration, validated like any
environment (``serving_core.frameworks`` holds what each framework is)."""

from __future__ import annotations

from typing import Any

from serving_core.frameworks import framework_facts


def framework_overrides(name: str) -> dict[str, Any]:
    """``model.framework``: ``name``, with that framework's default (pinned) versions."""
    framework_facts(name)  # an unknown name is refused here, with the known ones
    return {"model": {"framework": name}}
