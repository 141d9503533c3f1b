"""Stack outputs declared as one table: name -> (value, what a user does with it)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack


def add_outputs(stack: Stack, outputs: Mapping[str, tuple[str, str]]) -> None:
    """One CfnOutput per entry, with its description."""
    for name, (value, description) in outputs.items():
        CfnOutput(stack, name, value=value, description=description)
