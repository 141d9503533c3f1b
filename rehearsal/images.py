"""Standing in for `docker build` and `docker push` of the stack's container images.

`cdk deploy` publishes an image asset with docker: it builds the asset's folder and pushes the
image to the bootstrap repository, unless an image with the asset's tag is there already. No
docker runs here, so before deploying, the rehearsal puts an image manifest with that tag into
moto's ECR (the CLI then finds it and skips building and pushing, as it does for an image
published earlier) and registers the asset's folder with the Lambda runner, which runs the
function's code from it (the image's own Python packages are the rehearsal's: the image pins the
same versions in ``requirements-dev.txt``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal.moto_gaps import lambda_runner

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class StoodInImage:
    """An image asset the rehearsal stands in for: its repository, tag and build context."""

    repository: str
    tag: str
    context: Path


def image_assets(assembly: Path, stack: str, account: str, region: str) -> list[StoodInImage]:
    """The container image assets ``stack`` publishes (its ``*.assets.json``)."""
    manifest = json.loads((assembly / f"{stack}.assets.json").read_text(encoding="utf-8"))
    images = []
    for asset in manifest.get("dockerImages", {}).values():
        context = assembly / asset["source"]["directory"]
        for destination in asset["destinations"].values():
            repository = (
                destination["repositoryName"]
                .replace("${AWS::AccountId}", account)
                .replace("${AWS::Region}", region)
            )
            images.append(StoodInImage(repository, destination["imageTag"], context))
    return images


def stand_in_for_images(ecr: Any, images: list[StoodInImage]) -> list[str]:
    """Put each image's manifest into moto's ECR and register its build context with the
    Lambda runner; returns ``repository:tag`` of each."""
    settings = lambda_runner.RUNNER.settings
    if settings is None:
        raise RuntimeError("the Lambda runner is not configured")
    published = []
    for image in images:
        digest = hashlib.sha256(
            b"".join(p.read_bytes() for p in sorted(image.context.rglob("*")) if p.is_file())
        ).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 0,
                "digest": f"sha256:{digest}",
            },
            "layers": [],
        }
        ecr.put_image(
            repositoryName=image.repository,
            imageManifest=json.dumps(manifest),
            imageManifestMediaType=MANIFEST_TYPE,
            imageTag=image.tag,
        )
        settings.images[image.tag] = image.context
        published.append(f"{image.repository}:{image.tag}")
    return published
