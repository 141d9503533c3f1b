"""Stack outputs declared as one table: name -> (value, what a user does with it)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack


def add_outputs(stack: Stack, outputs: Mapping[str, tuple[str, str]]) -> dict[str, CfnOutput]:
    """One CfnOutput per entry, with its description; returned by name (a pipeline step reads
    them with ``env_from_cfn_outputs``)."""
    return {
        name: CfnOutput(stack, name, value=value, description=description)
        for name, (value, description) in outputs.items()
    }
