"""Types with no moto model at all, and the lookup that hands CloudFormation the shims.

moto 5.2.5 fails a stack on a type it has no model for. Such a resource is recorded instead
(:class:`NotEmulated`: Ref and GetAtt resolve to placeholders) into the install's journal, and
the report lists it with the registry's ``not_emulated_reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from moto.cloudformation import parsing

from rehearsal.moto_gaps._aws import partition
from rehearsal.moto_gaps._patching import CfnCall, Installer, patch
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import REGISTRY

#: (stack id, logical id) -> (resource type, why it is not emulated).
NotEmulatedRecord = dict[tuple[str, str], tuple[str, str]]


class NotEmulated(Shim):
    """A type moto has no model for: recorded in :attr:`records`, not run."""

    records: ClassVar[NotEmulatedRecord] = {}

    @classmethod
    def create(cls, call: CfnCall) -> NotEmulated:
        resource_type = call.template["Type"]
        service = resource_type.split("::")[1].lower()
        physical = call.resource_name
        region, account = call.region_name, call.account_id
        arn = f"arn:{partition(region)}:{service}:{region}:{account}:{physical}"
        cls.records[(call.kwargs.get("StackId", ""), call.kwargs.get("LogicalId", physical))] = (
            resource_type,
            REGISTRY.not_emulated_reason(resource_type) or "",
        )
        return cls(physical, call.properties, {"Arn": arn})


def _resource_class_from_type(
    original: Callable[[str], Any], fallback: type[NotEmulated]
) -> Callable[[str], Any]:
    def resource_class_from_type(resource_type: str) -> Any:
        shim = REGISTRY.shims.get(resource_type)
        if shim is not None:
            return shim
        found = original(resource_type)
        if found is None and resource_type not in parsing.NULL_MODELS:
            return fallback
        return found

    return resource_class_from_type


def _apply(records: NotEmulatedRecord) -> NotEmulatedRecord:
    """CloudFormation finds the shims, and records what has no model into ``records``."""
    fallback = cast(type[NotEmulated], type("NotEmulated", (NotEmulated,), {"records": records}))
    patch(
        parsing,
        "resource_class_from_type",
        _resource_class_from_type(parsing.resource_class_from_type, fallback),
    )
    return records


INSTALL = Installer(_apply)
