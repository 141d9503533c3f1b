"""CloudFormation resource types moto 5.2.5 skips, one module a service, in ONE registry.

Each shim creates its resource through moto's own backend API, so what the stack declares is
what ``describe-*`` answers afterwards: :mod:`.application_autoscaling`, :mod:`.api_gateway`,
:mod:`.awslambda`, :mod:`.cloudwatch`, :mod:`.codedeploy`, :mod:`.ec2`, :mod:`.s3`,
:mod:`.sagemaker`, :mod:`.scheduler`, :mod:`.sns`, :mod:`.sqs`. Each registers its classes with
:func:`.registry.register`; :mod:`.not_emulated` records every type with no model at all.
Importing this package imports every shim module, so :data:`SHIMS` is complete here.
"""

from __future__ import annotations

from collections.abc import Mapping

from rehearsal.moto_gaps.shims import (  # noqa: F401 (each registers its shims)
    api_gateway,
    application_autoscaling,
    awslambda,
    cloudwatch,
    codedeploy,
    ec2,
    s3,
    sagemaker,
    scheduler,
    sns,
    sqs,
)
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.not_emulated import INSTALL, NotEmulatedRecord
from rehearsal.moto_gaps.shims.registry import REGISTRY

#: Resource type -> the shim that creates it.
SHIMS: Mapping[str, type[Shim]] = REGISTRY.shims
emulated_types = REGISTRY.emulated_types
not_emulated_reason = REGISTRY.not_emulated_reason

__all__ = [
    "INSTALL",
    "SHIMS",
    "NotEmulatedRecord",
    "Shim",
    "emulated_types",
    "not_emulated_reason",
]
