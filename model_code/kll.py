"""The KLL quantile sketch in the form Model Monitor's baselines carry it.

Model Monitor's analyzer is built on Deequ, whose numeric drift check compares the KLL sketches
of the baseline and of the captured data (``numerical_statistics.distribution.kll.sketch``:
``parameters`` ``{c, k}`` and ``data``, the compactor buffers, level 0 first; an item at level
``i`` weighs ``2**i``). This module builds that sketch the way Deequ's ``QuantileNonSample``
does (sketch size ``k`` = 2048, shrinking factor ``c`` = 0.64, the defaults its baselines
show), so a baseline written at training time is what a baselining job would have written:
every value of a column with at most about 2,000 rows stays raw in level 0; larger columns are
compacted level by level. It also gives the sketch's CDF, which the rehearsal's stand-in for
the analyzer compares.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

SKETCH_SIZE = 2048
SHRINKING_FACTOR = 0.64


class KllSketch:
    """Deequ's non-sampling KLL sketch: compactors whose buffers halve when full."""

    def __init__(self, sketch_size: int = SKETCH_SIZE, shrinking_factor: float = SHRINKING_FACTOR):
        self.sketch_size = sketch_size
        self.shrinking_factor = shrinking_factor
        self.levels: list[list[float]] = []
        self._compactions: list[int] = []
        self._offsets: list[int] = []
        self._expand()

    def capacity(self, height: int) -> int:
        """Items level ``height`` holds before it is compacted into the next one."""
        scaled = self.sketch_size * self.shrinking_factor**height
        return 2 * (math.ceil(scaled / 2) + 1)

    def _expand(self) -> None:
        self.levels.append([])
        self._compactions.append(0)
        self._offsets.append(0)

    def _total_capacity(self) -> int:
        return sum(self.capacity(h) for h in range(len(self.levels)))

    def update(self, value: float) -> None:
        self.levels[0].append(float(value))
        if sum(len(level) for level in self.levels) > self._total_capacity():
            self._condense()

    def extend(self, values: Iterable[float]) -> KllSketch:
        for value in values:
            self.update(value)
        return self

    def _condense(self) -> None:
        """Compact the lowest full level into the one above it (one level per overflow)."""
        for height, level in enumerate(self.levels):
            if len(level) >= self.capacity(height):
                if height + 1 >= len(self.levels):
                    self._expand()
                self.levels[height + 1].extend(self._compact(height))
                return

    def _compact(self, height: int) -> list[float]:
        """Every other item of the sorted even part (alternating offset on odd compactions, as
        Deequ does); an odd item left over stays in the level."""
        buffer = self.levels[height]
        even = len(buffer) - len(buffer) % 2
        if self._compactions[height] % 2 == 1:
            self._offsets[height] = 1 - self._offsets[height]
        ordered = sorted(buffer[:even])
        output = ordered[self._offsets[height] : even : 2]
        self.levels[height] = [buffer[-1]] if len(buffer) % 2 else []
        self._compactions[height] += 1
        return output

    def as_json(self) -> dict[str, object]:
        """``{"parameters": {"c", "k"}, "data": [level 0, level 1, ...]}`` as in statistics.json."""
        return {
            "parameters": {"c": self.shrinking_factor, "k": float(self.sketch_size)},
            "data": [list(level) for level in self.levels],
        }


def weighted_items(data: Sequence[Sequence[float]]) -> list[tuple[float, int]]:
    """The sketch's items with their weights (2 to the power of the level), sorted by value."""
    return sorted((float(v), 1 << level) for level, values in enumerate(data) for v in values)


class Cdf:
    """The cumulative distribution a sketch (or a plain sample, one level) describes."""

    def __init__(self, data: Sequence[Sequence[float]]):
        items = weighted_items(data)
        self.values = [value for value, _ in items]
        self.total = sum(weight for _, weight in items)
        running, self.ranks = 0, []
        for _, weight in items:
            running += weight
            self.ranks.append(running)

    def __call__(self, x: float) -> float:
        """Share of the weight at or below ``x``."""
        if not self.total:
            return 0.0
        index = bisect.bisect_right(self.values, x)
        return self.ranks[index - 1] / self.total if index else 0.0


def linf_distance(baseline: Cdf, current: Cdf) -> float:
    """Largest absolute difference of the two CDFs over every item of either (Deequ's
    ``linf_simple``)."""
    points = sorted(set(baseline.values) | set(current.values))
    return max((abs(baseline(x) - current(x)) for x in points), default=0.0)


def linf_robust(baseline: Cdf, current: Cdf, c_alpha: float = 1.8) -> float:
    """``linf_simple`` less the two-sample Kolmogorov-Smirnov allowance for sample sizes
    (Deequ's robust distance): small samples do not read as drift by chance."""
    n, m = baseline.total, current.total
    if not n or not m:
        return 0.0
    return max(0.0, linf_distance(baseline, current) - c_alpha * math.sqrt((n + m) / (n * m)))
