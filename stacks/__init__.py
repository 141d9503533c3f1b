"""Stacks compose constructs; they hold no resource details of their own."""

from stacks.application import ApplicationStage, add_stacks, stack_names
from stacks.data_stack import ModelDataStack
from stacks.pipeline_stack import DeliveryPipelineStack
from stacks.serving_stack import ModelServingStack

__all__ = [
    "ApplicationStage",
    "DeliveryPipelineStack",
    "ModelDataStack",
    "ModelServingStack",
    "add_stacks",
    "stack_names",
]
