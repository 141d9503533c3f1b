"""Synthesize the app in-process, read back what the CDK CLI deployed into moto, tear down.

Deployment itself is the CDK CLI's (:mod:`rehearsal.cdk_cli`), as for users.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError


class DeploymentError(RuntimeError):
    """A stack did not reach CREATE_COMPLETE; the message holds moto's status reason."""


@dataclass(frozen=True)
class SynthesizedStack:
    """One stack of the cloud assembly."""

    name: str
    template: dict[str, Any]
    assets_manifest: Path | None


@dataclass
class DeployedStack:
    """A stack in moto: its outputs and the physical id of every resource moto listed."""

    name: str
    template: dict[str, Any]
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    resource_status: dict[str, str] = field(default_factory=dict)


def synthesize(
    env_name: str, outdir: Path, config_dir: Path | None = None
) -> list[SynthesizedStack]:
    """Synthesize the app in-process for ``env_name``, in deployment order."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from app_factory import build_app  # imported here: loading jsii costs seconds

    context = {"env": env_name, **({"config_dir": str(config_dir)} if config_dir else {})}
    app = build_app(context=context, outdir=str(outdir))
    assembly = app.synth()
    stacks = []
    for artifact in assembly.stacks_recursively:
        assets = outdir / f"{artifact.stack_name}.assets.json"
        stacks.append(
            SynthesizedStack(
                artifact.stack_name,
                json.loads((outdir / artifact.template_file).read_text()),
                assets if assets.exists() else None,
            )
        )
    return stacks


def describe_stack(clients: Any, stack: SynthesizedStack) -> DeployedStack:
    """A deployed stack as CloudFormation describes it; raises unless it completed."""
    described = clients.cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
    status = described["StackStatus"]
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reason = described.get("StackStatusReason", "no reason given")
        raise DeploymentError(f"stack {stack.name} is {status}: {reason}")
    resources = clients.cloudformation.describe_stack_resources(StackName=stack.name)[
        "StackResources"
    ]
    return DeployedStack(
        name=stack.name,
        template=stack.template,
        status=status,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        physical_ids={r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources},
        resource_status={r["LogicalResourceId"]: r["ResourceStatus"] for r in resources},
    )


def delete_stack(clients: Any, stack_name: str, timeout_s: float = 30) -> str:
    """Empty the stack's buckets (as ``aws s3 rm --recursive`` would), then DeleteStack;
    returns "<stack> <final status>"."""
    resources = clients.cloudformation.describe_stack_resources(StackName=stack_name)
    for resource in resources["StackResources"]:
        if resource["ResourceType"] == "AWS::S3::Bucket":
            _empty_bucket(clients.s3, resource["PhysicalResourceId"])
    stack_id = clients.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
    try:
        clients.cloudformation.delete_stack(StackName=stack_name)
    except ClientError as error:  # moto deletes synchronously: AWS would end in DELETE_FAILED
        return f"{stack_name} DELETE_FAILED ({error.response['Error']['Message']})"
    deadline = time.monotonic() + timeout_s
    while True:
        status = clients.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0][
            "StackStatus"
        ]
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return f"{stack_name} {status}"
        time.sleep(0.2)


def _empty_bucket(s3: Any, bucket: str) -> None:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
