"""A Lambda function's deployment package: its runtime folder as one package, and the shared
core (``serving_core``) beside it where the function needs it.

Lambda imports ``<package>.handler``; tests import the same modules as
``ml_constructs.<component>.runtime``: one set of relative imports serves both, and the core is
imported as ``serving_core`` everywhere. Built once per synth from the files themselves, so
the asset hash follows the code.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

import serving_core

CORE_DIR = Path(serving_core.__file__).resolve().parent
CORE_PACKAGE = "serving_core"
_IGNORE = ("__pycache__", "*.pyc")


def bundle(
    runtime_dir: Path,
    package: str,
    *,
    core: bool = False,
    extra: Mapping[str, tuple[Path, tuple[str, ...]]] | None = None,
) -> Path:
    """A folder holding ``runtime_dir`` as ``package/``, ``serving_core/`` when ``core``, and
    each ``extra`` folder (name -> (source, ignore patterns)) inside the package."""
    directory = Path(tempfile.mkdtemp(prefix=f"{package}-bundle-"))
    shutil.copytree(runtime_dir, directory / package, ignore=shutil.ignore_patterns(*_IGNORE))
    if core:
        shutil.copytree(CORE_DIR, directory / CORE_PACKAGE, ignore=shutil.ignore_patterns(*_IGNORE))
    for name, (source, ignore) in (extra or {}).items():
        shutil.copytree(
            source, directory / package / name, ignore=shutil.ignore_patterns(*_IGNORE, *ignore)
        )
    return directory


def function_code(
    runtime_dir: Path,
    package: str,
    *,
    core: bool = False,
    extra: Mapping[str, tuple[Path, tuple[str, ...]]] | None = None,
) -> lambda_.Code:
    """The function's code asset (see :func:`bundle`)."""
    return lambda_.Code.from_asset(str(bundle(runtime_dir, package, core=core, extra=extra)))


def handler(package: str, function: str = "lambda_handler") -> str:
    """The handler setting for a bundle's ``package/handler.py``."""
    return f"{package}.handler.{function}"
