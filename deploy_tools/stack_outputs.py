"""Read a deployed stack's outputs; when they are missing, say what to deploy first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError


class StackOutputsError(RuntimeError):
    """The stack is not deployed, or lacks an output this tool needs."""


def read_stack_outputs(
    cloudformation: Any, stack_name: str, required: Sequence[str]
) -> dict[str, str]:
    """Every output of ``stack_name``; raises when it is not deployed or lacks ``required``."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise StackOutputsError(
            f"stack {stack_name} is not deployed ({error.response['Error']['Message']}); "
            f"run `npx cdk deploy {stack_name} -c env=...` first"
        ) from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in required if not outputs.get(name)]
    if missing:
        raise StackOutputsError(
            f"stack {stack_name} has no output(s) {', '.join(missing)}; deploy its current "
            "version first"
        )
    return outputs
