"""A uniform sample of a stream of unknown length in bounded memory (reservoir sampling,
Algorithm R: Vitter, "Random sampling with a reservoir", 1985).

An hour of a busy endpoint's capture can hold millions of rows; the analyzer keeps
``capacity`` of them, each row of the window equally likely to be kept, whatever the window
holds. The seed comes from the window, so a rerun of the same window samples the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Reservoir(Generic[T]):
    """``add`` items one at a time; ``items`` is a uniform sample of at most ``capacity``."""

    def __init__(self, capacity: int, seed: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity} must be at least 1")
        self.capacity = capacity
        self.seen = 0
        self.items: list[T] = []
        self._random = random.Random(seed)

    def add(self, item: T) -> None:
        self.seen += 1
        if len(self.items) < self.capacity:
            self.items.append(item)
            return
        index = self._random.randrange(self.seen)
        if index < self.capacity:
            self.items[index] = item

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.add(item)

    @property
    def sampled(self) -> bool:
        """Whether the window held more than the reservoir keeps."""
        return self.seen > self.capacity
