"""The one registry of shims: each shim module registers its classes with :func:`register`.

Read it through :mod:`rehearsal.moto_gaps.shims`, which imports every shim module first, so
the registry is complete whenever it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from moto.cloudformation import parsing

from rehearsal.moto_gaps.shims.base import Shim

T = TypeVar("T", bound=type[Shim])


class ShimRegistry:
    """Resource type -> the shim that creates it (what moto's CloudFormation lacks)."""

    def __init__(self) -> None:
        self._shims: dict[str, type[Shim]] = {}
        self.shims: Mapping[str, type[Shim]] = MappingProxyType(self._shims)

    def register(self, resource_type: str) -> Callable[[T], T]:
        """Class decorator: the class creates ``resource_type`` (one shim a type)."""

        def add(cls: T) -> T:
            if resource_type in self._shims:
                raise ValueError(f"{resource_type} has a shim: {self._shims[resource_type]}")
            cls.cfn_type = resource_type
            self._shims[resource_type] = cls
            return cls

        return add

    def emulated_types(self) -> set[str]:
        """Every type the patched moto creates for real (moto's models plus the shims)."""
        return set(parsing.get_model_map()) | set(self._shims)

    def not_emulated_reason(self, resource_type: str) -> str | None:
        """Why ``resource_type`` is only recorded, or None when it is created for real."""
        if resource_type.startswith("Custom::") or resource_type in self.emulated_types():
            return None
        if resource_type in parsing.NULL_MODELS:
            return "moto 5.2.5 ignores this type"
        return f"moto 5.2.5 has no {resource_type} model; recorded with its properties only"


REGISTRY = ShimRegistry()
register = REGISTRY.register
