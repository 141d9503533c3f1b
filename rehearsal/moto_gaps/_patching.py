"""Reversible attribute patches, so tests can put moto back the way they found it."""

from __future__ import annotations

import threading
from typing import Any

_MISSING = object()
_saved: list[tuple[Any, str, Any]] = []
_lock = threading.Lock()


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
