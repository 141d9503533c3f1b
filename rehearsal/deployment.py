"""Steps 2-3: synthesize the app and deploy its stacks into moto as ``cdk deploy`` would.

The CDK CLI's part is done here in-process: the bootstrap resources the templates expect (the
asset bucket and the bootstrap version parameter), the assets zipped and uploaded where
``<stack>.assets.json`` says, then CreateStack and a wait for ``CREATE_COMPLETE``.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"


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


def synthesize(env_name: str, outdir: Path) -> list[SynthesizedStack]:
    """Synthesize the app in-process for ``env_name``, in deployment order."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from app_factory import build_app  # imported here: loading jsii costs seconds

    app = build_app(context={"env": env_name}, outdir=str(outdir))
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


def bootstrap(clients: Any, account: str, region: str) -> str:
    """What ``cdk bootstrap`` leaves that templates rely on; returns the asset bucket name."""
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    clients.s3.create_bucket(**create)
    clients.ssm.put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
        Value=BOOTSTRAP_VERSION,
        Type="String",
        Overwrite=True,
    )
    return bucket


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", "aws")
    )


def publish_assets(clients: Any, stack: SynthesizedStack, account: str, region: str) -> int:
    """Zip and upload the stack's file assets where the template expects them; the count."""
    if stack.assets_manifest is None:
        return 0
    manifest = json.loads(stack.assets_manifest.read_text())
    count = 0
    for asset in manifest.get("files", {}).values():
        source = stack.assets_manifest.parent / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip" or source.is_dir():
            body = _zip_directory(source)
        else:
            body = source.read_bytes()
        for destination in asset["destinations"].values():
            clients.s3.put_object(
                Bucket=_substitute(destination["bucketName"], account, region),
                Key=_substitute(destination["objectKey"], account, region),
                Body=body,
            )
            count += 1
    if manifest.get("dockerImages"):
        raise DeploymentError(f"{stack.name} has docker image assets; the rehearsal has no docker")
    return count


def create_stack(clients: Any, stack: SynthesizedStack, timeout_s: float = 60) -> DeployedStack:
    """CreateStack through moto's CloudFormation and wait for a final status."""
    clients.cloudformation.create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(stack.template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout_s
    while True:
        described = clients.cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
        status = described["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if status != "CREATE_COMPLETE":
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
    clients.cloudformation.delete_stack(StackName=stack_name)
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
