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


def restore_all() -> None:
    """Undo every patch, newest first."""
    with _lock:
        while _saved:
            owner, name, original = _saved.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
