"""Settings of model monitoring (the in-account monitor, or SageMaker Model Monitor, on the
captured traffic) and of the retraining it may start.

Model Monitor's limits are checked here so that a wrong value fails synth with the field named:
schedules run on whole hours (``cron(0 H ? * * *)``, every 1-24 hours; the minutes field must
be 0), an hourly model-quality run may last at most 1,800 s and a data-quality one 3,600 s, and
drift metrics are named ``feature_baseline_drift_<feature>`` (the alarms need the names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from serving_config._parsing import join, require
from serving_config.service_model import require_enumerated

#: What ScheduleConfig accepts for monitoring: on the hour, every N hours or at given hours.
SCHEDULE = re.compile(r"^cron\(0 (\*|\d{1,2}(,\d{1,2})*|\d{1,2}/\d{1,2}) \? \* \* \*\)$")
#: CloudWatch metric names are at most 255 characters (the prefix takes 23 of them).
FEATURE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
HYPERPARAMETER = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")


@dataclass(frozen=True)
class RetrainingSettings:
    """Closing the loop: a drift or model-quality alarm starts a training job (off by
    default). ``cooldown_hours``: no new job sooner after the last one started; only one runs
    at a time. ``hyperparameters``: ``NAME=VALUE`` flags of ``model_code.train``."""

    enabled: bool = False
    cooldown_hours: int = 24
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = 30
    max_runtime_s: int = 3600
    hyperparameters: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        require(
            1 <= self.cooldown_hours <= 24 * 30,
            join(path, "cooldown_hours"),
            f"{self.cooldown_hours} is outside 1-720",
        )
        require_enumerated(
            self.instance_type,
            join(path, "instance_type"),
            "model_monitor.retraining.instance_type",
        )
        require(
            1 <= self.volume_size_gb <= 16_384,
            join(path, "volume_size_gb"),
            f"{self.volume_size_gb} is outside 1-16384",
        )
        require(
            60 <= self.max_runtime_s <= 5 * 24 * 3600,
            join(path, "max_runtime_s"),
            f"{self.max_runtime_s} is outside 60-432000",
        )
        for i, item in enumerate(self.hyperparameters):
            name, _, value = item.partition("=")
            require(
                HYPERPARAMETER.match(name) is not None and bool(value) and len(value) <= 2500,
                f"{join(path, 'hyperparameters')}[{i}]",
                f"{item!r} is not NAME=VALUE (a model_code.train flag without --)",
            )


#: Evidently's drift methods (its stattest registry names) the in-account monitor may use.
Stattest = Literal[
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
]


@dataclass(frozen=True)
class OwnMonitorSettings:
    """The in-account monitor (``engine: own``): a container-image function that runs
    Evidently on each window. ``sample_size``: rows kept per window (a reservoir sample, so
    memory and time stay bounded however busy the endpoint); ``min_labels``: fewer labelled
    rows publish no model quality; ``drift_share``: the share of drifted features that makes
    the window drift; ``stattest``/``stattest_threshold``: Evidently's method and threshold for
    every feature (None: Evidently chooses per column, stated in each report)."""

    sample_size: int = 10_000
    min_labels: int = 30
    drift_share: float = 0.5
    stattest: Stattest | None = None
    stattest_threshold: float | None = None
    memory_mb: int = 3008
    timeout_s: int = 900
    architecture: Literal["x86_64", "arm64"] = "x86_64"

    def validate(self, path: str) -> None:
        require(
            100 <= self.sample_size <= 1_000_000,
            join(path, "sample_size"),
            f"{self.sample_size} is outside 100-1000000",
        )
        require(
            2 <= self.min_labels <= self.sample_size,
            join(path, "min_labels"),
            f"{self.min_labels} is outside 2-sample_size ({self.sample_size})",
        )
        require(
            0.0 < self.drift_share <= 1.0,
            join(path, "drift_share"),
            f"{self.drift_share} is outside (0, 1]",
        )
        require(
            self.stattest_threshold is None or 0.0 < self.stattest_threshold < 10.0,
            join(path, "stattest_threshold"),
            f"{self.stattest_threshold} is outside (0, 10)",
        )
        require(
            1024 <= self.memory_mb <= 10_240,
            join(path, "memory_mb"),
            f"{self.memory_mb} is outside 1024-10240 (Lambda allows up to 10240 MB)",
        )
        require(
            60 <= self.timeout_s <= 900,
            join(path, "timeout_s"),
            f"{self.timeout_s} is outside 60-900 (Lambda's limit is 900 s)",
        )
        require_enumerated(self.architecture, join(path, "architecture"), "api.architecture")


@dataclass(frozen=True)
class ModelMonitorSettings:
    """Data-quality and model-quality schedules on the endpoint (off unless ``enabled``).

    ``drift_features``: the features whose ``feature_baseline_drift_<name>`` metric has an
    alarm at ``drift_threshold``. ``min_auc``: the model-quality alarm's floor (default: the
    promotion's). ``label_delay_hours``: how long ground truth takes to arrive; each
    model-quality run scores the hour of traffic that long ago.
    """

    enabled: bool = False
    #: ``own``: the in-account monitor (Evidently in a scheduled function; the default);
    #: ``sagemaker``: SageMaker Model Monitor, for accounts that already use it (it is closed
    #: to new customers).
    engine: Literal["own", "sagemaker"] = "own"
    own: OwnMonitorSettings = field(default_factory=OwnMonitorSettings)
    schedule: str = "cron(0 * ? * * *)"
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = 20
    max_runtime_s: int = 1800
    drift_threshold: float = 0.1
    drift_features: tuple[str, ...] = ()
    model_quality: bool = True
    min_auc: float | None = None
    probability_threshold: float = 0.5
    label_delay_hours: int = 24
    retraining: RetrainingSettings = field(default_factory=RetrainingSettings)

    @property
    def interval_hours(self) -> int:
        """Hours between runs: 1 for ``*``, N for ``H/N``, 24 for given hours of the day."""
        match = SCHEDULE.match(self.schedule)
        hours = match.group(1) if match else "*"
        if hours == "*":
            return 1
        if "/" in hours:
            return int(hours.split("/")[1])
        return 24 // len(hours.split(","))

    def validate(self, path: str) -> None:
        require(
            SCHEDULE.match(self.schedule) is not None,
            join(path, "schedule"),
            f"{self.schedule!r} is not a monitoring schedule: cron(0 * ? * * *) (hourly), "
            "cron(0 0/6 ? * * *) (every 6 hours) or cron(0 12 ? * * *) (daily); the minutes "
            "field must be 0",
        )
        require_enumerated(
            self.instance_type, join(path, "instance_type"), "model_monitor.instance_type"
        )
        require(
            1 <= self.volume_size_gb <= 16_384,
            join(path, "volume_size_gb"),
            f"{self.volume_size_gb} is outside 1-16384",
        )
        limit = 1800 if self.model_quality else 3600
        require(
            60 <= self.max_runtime_s <= limit,
            join(path, "max_runtime_s"),
            f"{self.max_runtime_s} is outside 60-{limit} (an hourly "
            f"{'model-quality' if self.model_quality else 'data-quality'} run may last at most "
            f"{limit} s)",
        )
        require(
            0.0 < self.drift_threshold < 1.0,
            join(path, "drift_threshold"),
            f"{self.drift_threshold} is not a distance between 0 and 1",
        )
        for i, name in enumerate(self.drift_features):
            require(
                FEATURE_NAME.match(name) is not None,
                f"{join(path, 'drift_features')}[{i}]",
                f"{name!r} cannot be part of a CloudWatch metric name",
            )
        require(
            len(set(self.drift_features)) == len(self.drift_features),
            join(path, "drift_features"),
            "has duplicates",
        )
        require(
            not self.enabled or bool(self.drift_features),
            join(path, "drift_features"),
            "name the features whose drift raises an alarm (the model's feature names)",
        )
        require(
            self.min_auc is None or 0.5 <= self.min_auc <= 1.0,
            join(path, "min_auc"),
            f"{self.min_auc} is outside 0.5-1",
        )
        require(
            0.0 < self.probability_threshold < 1.0,
            join(path, "probability_threshold"),
            f"{self.probability_threshold} is outside 0-1",
        )
        require(
            0 <= self.label_delay_hours <= 24 * 14,
            join(path, "label_delay_hours"),
            f"{self.label_delay_hours} is outside 0-336",
        )
        require(
            self.enabled or not self.retraining.enabled,
            join(path, "retraining.enabled"),
            "retraining starts from the monitoring alarms: enable monitoring too",
        )
