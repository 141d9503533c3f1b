"""SageMaker's framework images, read from the SageMaker SDK's own image tables.

The SDK (``sagemaker-core``) ships ``sagemaker/core/image_uri_config/<framework>.json``: for
each scope (``inference``, ``training``) the versions, their aliases (``2.6`` -> ``2.6.0``),
the processors with an image (``cpu``, ``gpu``; none listed: one image for both, as XGBoost's),
the Python versions, the repository and the registry account of every region. We read that
file without importing the SDK (which costs over a second, and is not installed where the
configuration is validated) and build the tag as ``image_uris.retrieve`` does:
``<version>[-<processor>][-<py_version>]``.

Standard library only: the configuration validates versions with it, the constructs resolve
images with it, and the training launcher's tests compare it with ``image_uris.retrieve``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any, Literal

ImageScope = Literal["inference", "training"]
Processor = Literal["cpu", "gpu"]

SDK_DISTRIBUTION = "sagemaker-core"


def sdk_version() -> str:
    """The installed ``sagemaker-core`` version (its tables are what we know)."""
    return metadata.version(SDK_DISTRIBUTION)


@cache
def sdk_image_config(framework: str) -> dict[str, Any]:
    """The SDK's image configuration for ``framework`` (e.g. ``tensorflow``)."""
    path = metadata.distribution(SDK_DISTRIBUTION).locate_file(
        f"sagemaker/core/image_uri_config/{framework}.json"
    )
    with open(str(path), encoding="utf-8") as handle:
        config: dict[str, Any] = json.load(handle)
    return config


def version_key(version: str) -> tuple[int, ...]:
    """Orders the SDK's version strings: ``2.10.0`` after ``2.9.0``, ``3.2-0`` after ``1.7-1``
    (a ``-py312`` suffix, as in sklearn's ``1.4-2-py312``, is not part of the order)."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-py")[0]))


def known_versions(framework: str, scope: ImageScope) -> list[str]:
    """Every version (and alias) the SDK lists for ``framework``'s ``scope``, oldest first."""
    scoped = sdk_image_config(framework).get(scope) or {}
    names = {*scoped.get("versions", {}), *scoped.get("version_aliases", {})}
    return sorted((n for n in names if re.match(r"\d", n)), key=lambda n: (version_key(n), n))


def has_any_image_for(framework: str, scope: ImageScope, processor: Processor) -> bool:
    """Whether any version of ``framework``'s ``scope`` runs on ``processor`` instances
    (scikit-learn's have CPU images only)."""
    scoped = sdk_image_config(framework).get(scope) or {}
    return any(
        ImageSpec(framework, version, scope).has_image_for(processor)
        for version in scoped.get("versions", {})
    )


@dataclass(frozen=True)
class ImageSpec:
    """Which image: framework (the SDK's table name), version, scope and processor."""

    framework: str
    version: str
    scope: ImageScope
    processor: Processor = "cpu"

    def _scoped(self) -> dict[str, Any]:
        scoped: dict[str, Any] | None = sdk_image_config(self.framework).get(self.scope)
        if scoped is None:
            raise ValueError(f"the SDK knows no {self.scope} images for {self.framework}")
        return scoped

    def version_entry(self) -> dict[str, Any]:
        """The SDK's entry for the version, following its aliases (2.20 -> 2.20.0)."""
        scoped = self._scoped()
        full = scoped.get("version_aliases", {}).get(self.version, self.version)
        versions = scoped["versions"]
        if full not in versions:
            known = ", ".join(known_versions(self.framework, self.scope))
            raise ValueError(
                f"{self.framework} {self.scope} image {self.version} is unknown to "
                f"{SDK_DISTRIBUTION} {sdk_version()}; known: {known}"
            )
        entry: dict[str, Any] = versions[full]
        return entry

    @property
    def processors(self) -> list[str] | None:
        """The processors with an image of their own, as the SDK's ``_processor`` reads them
        (the scope's, else the version's); None: one image serves CPU and GPU alike."""
        return self._scoped().get("processors") or self.version_entry().get("processors") or None

    def has_image_for(self, processor: Processor) -> bool:
        """Whether an image of this version runs on ``processor`` instances."""
        processors = self.processors
        return processors is None or processor in processors

    def version_config(self) -> dict[str, Any]:
        """The SDK's entry for this version; raises when the SDK lists no such version, or
        none for this processor."""
        entry = self.version_entry()
        if not self.has_image_for(self.processor):
            raise ValueError(
                f"{self.framework} {self.scope} {self.version} has no {self.processor} image "
                f"in {SDK_DISTRIBUTION} {sdk_version()} (only {', '.join(self.processors or [])})"
            )
        return entry

    @property
    def repository(self) -> str:
        return str(self.version_config()["repository"])

    @property
    def py_version(self) -> str | None:
        """The newest Python version of the image (None: the tag names none)."""
        py_versions = self.version_config().get("py_versions") or []
        return str(py_versions[-1]) if py_versions else None

    @property
    def tag(self) -> str:
        """``<version>[-<processor>][-<py_version>]``: the processor only where the SDK lists
        processors (XGBoost's one image has none in its tag)."""
        self.version_config()
        processor = self.processor if self.processors is not None else None
        return "-".join(part for part in (self.version, processor, self.py_version) if part)

    def registries(self) -> dict[str, str]:
        """Region -> registry account, as the SDK lists them."""
        return dict(self.version_config()["registries"])
