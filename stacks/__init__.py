"""Stacks compose constructs; they hold no resource details of their own."""

from stacks.data_stack import ModelDataStack
from stacks.serving_stack import ModelServingStack

__all__ = ["ModelDataStack", "ModelServingStack"]
