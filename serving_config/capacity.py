"""How the capacity test (``python -m deploy_tools.capacity``) measures an endpoint: the
latency objective, the ladder of request rates, and the bounds on the load it may send."""

from __future__ import annotations

from dataclasses import dataclass

from serving_config._parsing import join, require


@dataclass(frozen=True)
class CapacitySettings:
    """A rate passes when its p99 stays under ``latency_p99_ms``, no request fails, and the
    achieved rate is at least ``min_achieved_fraction`` of the offered one. The recommended
    ``target_invocations_per_instance`` is the highest passing rate per instance x 60 x
    ``safety_factor`` (0.5: the aws-sagemaker-alpha module's convention).

    For a Lambda-hosted model (``--function-name``) the recommendation is the provisioned
    concurrency for ``peak_requests_per_s`` (the sustained rate when unset): Little's law,
    rate x the p99 time in the function, divided by ``safety_factor`` (each provisioned
    execution environment busy that fraction of the time at the peak)."""

    latency_p99_ms: float = 300.0
    safety_factor: float = 0.5
    #: Offered request rates (per second), increasing; the ladder stops at the first failure.
    rates: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0, 80.0)
    step_s: float = 20.0
    #: Hard limit on the requests of one run (every step together).
    max_requests: int = 20_000
    #: The most virtual users sharing a rate (each step uses rate x 2 x the p99 objective, so
    #: that each user keeps its pace while latency meets the objective).
    users: int = 64
    min_achieved_fraction: float = 0.9
    #: The request rate (per second) the provisioned concurrency of a Lambda-hosted model is
    #: sized for; None: the highest rate the capacity test sustained.
    peak_requests_per_s: float | None = None

    def validate(self, path: str) -> None:
        require(
            0 < self.latency_p99_ms <= 60_000,
            join(path, "latency_p99_ms"),
            f"{self.latency_p99_ms} is outside (0, 60000] ms (InvokeEndpoint times out at 60 s)",
        )
        require(
            0 < self.safety_factor <= 1,
            join(path, "safety_factor"),
            f"{self.safety_factor} is outside (0, 1]",
        )
        require(len(self.rates) >= 1, join(path, "rates"), "needs at least one rate")
        for i, rate in enumerate(self.rates):
            require(
                0 < rate <= 10_000,
                f"{join(path, 'rates')}[{i}]",
                f"{rate} is outside (0, 10000] requests per second",
            )
        require(
            all(a < b for a, b in zip(self.rates, self.rates[1:], strict=False)),
            join(path, "rates"),
            f"{list(self.rates)} must increase",
        )
        require(
            0.5 <= self.step_s <= 3600, join(path, "step_s"), f"{self.step_s} is outside 0.5-3600"
        )
        require(
            1 <= self.max_requests <= 1_000_000,
            join(path, "max_requests"),
            f"{self.max_requests} is outside 1-1000000",
        )
        require(1 <= self.users <= 1000, join(path, "users"), f"{self.users} is outside 1-1000")
        require(
            0 < self.min_achieved_fraction <= 1,
            join(path, "min_achieved_fraction"),
            f"{self.min_achieved_fraction} is outside (0, 1]",
        )
        if self.peak_requests_per_s is not None:
            require(
                0 < self.peak_requests_per_s <= 100_000,
                join(path, "peak_requests_per_s"),
                f"{self.peak_requests_per_s} is outside (0, 100000] requests per second",
            )
