"""Reversible attribute patches, and the one way every moto_gaps module installs its own.

A module declares ``INSTALL = Installer(apply, reset)``: ``apply`` patches moto through
:func:`patch` (or :func:`patch_cfn_create`) and returns what the install made (a part of the
journal, a server, or None); ``Installer.install`` runs it once per process, so tests and the
rehearsal may install again freely; ``reset`` stops what the install made. :func:`uninstall_all`
undoes every patch and forgets every install, so the next install starts from moto as
released.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

_MISSING = object()
_saved: list[tuple[Any, str, Any]] = []
_lock = threading.Lock()
_installers: list[Installer[Any, Any]] = []

P = ParamSpec("P")
S = TypeVar("S")


def patch(owner: Any, name: str, value: Any) -> None:
    """``setattr(owner, name, value)``, remembering what ``owner`` itself held before."""
    with _lock:
        _saved.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)


def mark() -> int:
    """How many patches are applied now (for :func:`restore_to`)."""
    with _lock:
        return len(_saved)


def restore_to(count: int) -> None:
    """Undo the patches applied after :func:`mark` returned ``count``, newest first."""
    with _lock:
        while len(_saved) > count:
            owner, name, original = _saved.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def restore_all() -> None:
    """Undo every patch, newest first."""
    restore_to(0)


@dataclass(frozen=True)
class CfnCall:
    """One ``create_from_cloudformation_json`` call: what CloudFormation asks a model (or a
    shim) to create."""

    resource_name: str
    template: dict[str, Any]  # the resource's template entry (Type, Properties, ...)
    account_id: str
    region_name: str
    kwargs: dict[str, Any]  # LogicalId, StackId, ResourceType

    @property
    def properties(self) -> dict[str, Any]:
        properties: dict[str, Any] = self.template.get("Properties", {})
        return properties


@dataclass(frozen=True)
class CfnCreate(CfnCall):
    """A call to a moto model's create, for a patch around it (:func:`patch_cfn_create`)."""

    cls: Any
    original: Callable[..., Any]

    def moto(self, template: dict[str, Any] | None = None) -> Any:
        """moto's own create, with this call's arguments (or another template entry)."""
        return self.original(
            self.cls,
            self.resource_name,
            self.template if template is None else template,
            self.account_id,
            self.region_name,
            **self.kwargs,
        )


def patch_cfn_create(model: Any, create: Callable[[CfnCreate], Any]) -> None:
    """Patch ``model.create_from_cloudformation_json`` with ``create(call)``, which may run
    moto's own through ``call.moto()``."""
    original = model.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        call = CfnCreate(
            resource_name, cloudformation_json, account_id, region_name, kwargs, cls, original
        )
        return create(call)

    patch(model, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


class Installer(Generic[P, S]):
    """One module's patches of moto, applied once per process until forgotten."""

    def __init__(self, apply: Callable[P, S], reset: Callable[[S], None] | None = None) -> None:
        self._apply = apply
        self._reset = reset
        self._lock = threading.RLock()
        self._state: tuple[S] | None = None
        _installers.append(self)

    @property
    def installed(self) -> bool:
        return self._state is not None

    def install(self, *args: P.args, **kwargs: P.kwargs) -> S:
        """Apply the patches unless they are (then the arguments are ignored); returns what
        the first install made."""
        with self._lock:
            if self._state is None:
                self._state = (self._apply(*args, **kwargs),)
            return self._state[0]

    def forget(self) -> None:
        """The patches were undone: ``reset`` what the install made (stop what it started)
        and let the next :meth:`install` apply them again."""
        with self._lock:
            state, self._state = self._state, None
        if state is not None and self._reset is not None:
            self._reset(state[0])

    @contextmanager
    def applied(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[S]:
        """:meth:`install` for a block (tests): moto as before afterwards, unless the patches
        were already applied when the block began (then they stay)."""
        if self.installed:
            yield self.install(*args, **kwargs)
            return
        before = mark()
        state = self.install(*args, **kwargs)
        try:
            yield state
        finally:
            restore_to(before)
            self.forget()


def uninstall_all() -> None:
    """Stop what the installs started, undo every patch and forget every install."""
    for installer in reversed(_installers):
        installer.forget()
    restore_all()
