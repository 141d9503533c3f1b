"""The analyzer's settings: written by the construct as the function's environment
(``to_env``) and read back by the handler (``from_env``), so that both ends share one typed
definition. Problems are collected and reported together, each naming its variable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Evidently's drift methods the configuration may name (None: Evidently chooses per column).
STATTESTS = (
    "ks",
    "wasserstein",
    "psi",
    "jensenshannon",
    "kl_div",
    "anderson",
    "cramer_von_mises",
    "mannw",
    "ed",
    "es",
    "t_test",
    "hellinger",
    "empirical_mmd",
)


@dataclass(frozen=True)
class AnalyzerConfig:
    """Where the data is, what to publish where, and the analysis settings."""

    bucket: str
    endpoint_name: str
    capture_prefix: str
    ground_truth_prefix: str
    baseline_prefix: str
    reports_prefix: str
    key_arn: str
    namespace: str
    topic_arn: str
    window_hours: int = 1
    label_delay_hours: int = 24
    sample_size: int = 10_000
    min_labels: int = 30
    drift_share: float = 0.5
    stattest: str | None = None
    stattest_threshold: float | None = None
    probability_threshold: float = 0.5
    model_quality: bool = True
    max_objects: int = 20_000

    def __post_init__(self) -> None:
        problems = []
        for name in ("bucket", "endpoint_name", "namespace"):
            if not getattr(self, name):
                problems.append(f"{name.upper()}: must not be empty")
        for name in ("capture_prefix", "ground_truth_prefix", "baseline_prefix", "reports_prefix"):
            if not getattr(self, name).endswith("/"):
                problems.append(f"{name.upper()}: {getattr(self, name)!r} must end with '/'")
        if not 1 <= self.window_hours <= 24 * 7:
            problems.append(f"WINDOW_HOURS: {self.window_hours} is outside 1-168")
        if not 0 <= self.label_delay_hours <= 24 * 30:
            problems.append(f"LABEL_DELAY_HOURS: {self.label_delay_hours} is outside 0-720")
        if not 100 <= self.sample_size <= 1_000_000:
            problems.append(f"SAMPLE_SIZE: {self.sample_size} is outside 100-1000000")
        if not 2 <= self.min_labels <= self.sample_size:
            problems.append(f"MIN_LABELS: {self.min_labels} is outside 2-SAMPLE_SIZE")
        if not 0.0 < self.drift_share <= 1.0:
            problems.append(f"DRIFT_SHARE: {self.drift_share} is outside (0, 1]")
        if self.stattest is not None and self.stattest not in STATTESTS:
            problems.append(f"STATTEST: {self.stattest!r} is not one of {', '.join(STATTESTS)}")
        if self.stattest_threshold is not None and not 0.0 < self.stattest_threshold < 10.0:
            problems.append(f"STATTEST_THRESHOLD: {self.stattest_threshold} is outside (0, 10)")
        if not 0.0 < self.probability_threshold < 1.0:
            problems.append(
                f"PROBABILITY_THRESHOLD: {self.probability_threshold} is outside (0, 1)"
            )
        if not 1 <= self.max_objects <= 1_000_000:
            problems.append(f"MAX_OBJECTS: {self.max_objects} is outside 1-1000000")
        if problems:
            raise ValueError("; ".join(problems))

    def to_env(self) -> dict[str, str]:
        """One variable per field, upper case; None as an empty string."""
        return {
            name.upper(): ""
            if value is None
            else json.dumps(value)
            if isinstance(value, bool)
            else str(value)
            for name, value in asdict(self).items()
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AnalyzerConfig:
        """The inverse of :meth:`to_env`; every missing or malformed variable is named."""
        values: dict[str, Any] = {}
        problems = []
        for field in fields(cls):
            key = field.name.upper()
            if key not in env:
                if field.default is field.default_factory:  # required (no default)
                    problems.append(f"{key}: missing")
                continue
            try:
                values[field.name] = _parse(field.type, env[key])
            except ValueError as error:
                problems.append(f"{key}: {error}")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**values)


def _parse(kind: Any, text: str) -> Any:
    kind = str(kind)
    if text == "" and "None" in kind:
        return None
    if kind.startswith("bool"):
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text == "true"
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    return text
