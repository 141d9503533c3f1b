"""One environment's application: its data stack, then its serving stack.

The same function builds them in a CDK App (the plain workflow, ``-c env=NAME``) and in a
pipeline :class:`ApplicationStage`, so a stage deploys exactly what the plain workflow
synthesizes for the same settings (a test compares the two).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from serving_config import Settings
from stacks.data_stack import ModelDataStack
from stacks.serving_stack import ModelServingStack


def stack_names(settings: Settings) -> tuple[str, str]:
    """(data stack, serving stack) names, deployed in that order."""
    return f"{settings.prefix}-data", f"{settings.prefix}-serving"


def environment(settings: Settings) -> Environment | None:
    """The account and region the stacks are pinned to (None: environment-agnostic)."""
    if not settings.account:
        return None
    return Environment(account=settings.account, region=settings.region)


def add_stacks(scope: Construct, settings: Settings) -> tuple[ModelDataStack, ModelServingStack]:
    """Instantiate the two stacks of ``settings`` in ``scope`` (an App or a Stage), with their
    CloudFormation names set explicitly (a Stage would otherwise prefix its own name)."""
    env = environment(settings)
    data_name, serving_name = stack_names(settings)
    data = ModelDataStack(scope, data_name, stack_name=data_name, settings=settings, env=env)
    serving = ModelServingStack(
        scope, serving_name, stack_name=serving_name, settings=settings, data=data, env=env
    )
    Tags.of(scope).add("project", settings.project)
    Tags.of(scope).add("environment", settings.name)
    for tag in settings.tags:
        key, value = tag.split("=", 1)
        Tags.of(scope).add(key, value)
    return data, serving


class ApplicationStage(Stage):
    """An environment as one stage of the delivery pipeline (its own nested cloud assembly)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        if not settings.account or not settings.region:
            raise ValueError(f"stage {construct_id}: settings name no account and region")
        super().__init__(scope, construct_id, env=environment(settings), **kwargs)
        self.settings = settings
        self.data, self.serving = add_stacks(self, settings)
