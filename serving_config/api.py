"""Settings of the front door: the REST API and the inference Lambda function."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require
from serving_config.service_model import require_enumerated

#: SageMaker's InvokeEndpoint body limit (botocore's model: 6,291,456 bytes).
SAGEMAKER_MAX_PAYLOAD_BYTES = 6_291_456
#: API Gateway's REST integration timeout; the function must answer before it.
API_GATEWAY_INTEGRATION_TIMEOUT_S = 29
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def invoke_budget_s(connect_timeout_s: float, read_timeout_s: float, max_attempts: int) -> float:
    """Worst-case seconds the function's SageMaker client can spend on one request.

    botocore's standard retry mode: every attempt may take connect + read timeout, and
    the delay before retry i (0-based) is at most min(2**i, 20) s, plus up to 5 s more when
    the service sends ``x-amz-retry-after``. Kept identical to the runtime's copy
    (``ml_constructs/inference_api/runtime/settings.py``), a test checks that.
    """
    backoff = sum(min(2.0**i, 20.0) + 5.0 for i in range(max_attempts - 1))
    return max_attempts * (connect_timeout_s + read_timeout_s) + backoff


@dataclass(frozen=True)
class ApiSettings:
    """Throttling, payload and function limits of the inference API."""

    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    max_rows: int = 100
    max_payload_bytes: int = SAGEMAKER_MAX_PAYLOAD_BYTES
    feature_names: tuple[str, ...] = ()
    reserved_concurrency: int | None = None
    function_timeout_s: int = 28
    function_memory_mb: int = 256
    architecture: Literal["arm64", "x86_64"] = "arm64"
    log_retention_days: int = 30
    invoke_connect_timeout_s: float = 1.0
    invoke_read_timeout_s: float = 3.0
    invoke_max_attempts: int = 3
    retry_after_s: int = 2
    powertools_version: str = "3.37.0"
    execution_log_level: Literal["ERROR", "INFO"] = "ERROR"
    manage_account_cloudwatch_role: bool = True
    #: ``private``: the REST API is reachable only through the VPC's execute-api endpoint
    #: (private networking), still with IAM authorization.
    endpoint_type: Literal["regional", "private"] = "regional"

    def validate(self, path: str) -> None:
        self._validate_requests(path)
        self._validate_function(path)
        self._validate_invocation(path)

    def _validate_requests(self, path: str) -> None:
        """The API's own limits: architecture, throttling, rows, payload, feature names."""
        require_enumerated(self.architecture, join(path, "architecture"), "api.architecture")
        require_enumerated(self.endpoint_type, join(path, "endpoint_type"), "api.endpoint_type")
        require(
            self.throttle_rate_limit > 0,
            join(path, "throttle_rate_limit"),
            f"{self.throttle_rate_limit} must be positive",
        )
        require(
            self.throttle_burst_limit >= 1,
            join(path, "throttle_burst_limit"),
            f"{self.throttle_burst_limit} must be at least 1",
        )
        require(
            1 <= self.max_rows <= 10_000,
            join(path, "max_rows"),
            f"{self.max_rows} is outside 1-10000",
        )
        require(
            1024 <= self.max_payload_bytes <= SAGEMAKER_MAX_PAYLOAD_BYTES,
            join(path, "max_payload_bytes"),
            f"{self.max_payload_bytes} is outside 1024-{SAGEMAKER_MAX_PAYLOAD_BYTES} "
            "(SageMaker's real-time InvokeEndpoint limit)",
        )
        for i, name in enumerate(self.feature_names):
            require(
                bool(name.strip()) and "," not in name,
                f"{join(path, 'feature_names')}[{i}]",
                f"{name!r} must be non-empty and contain no comma",
            )
        require(
            len(set(self.feature_names)) == len(self.feature_names),
            join(path, "feature_names"),
            "has duplicates",
        )

    def _validate_function(self, path: str) -> None:
        """The function behind it: concurrency, memory, logs."""
        # Lambda keeps at least 10 concurrent executions of the account unreserved, and a
        # new account may have a quota of 10 in all: reserving any fails there (README).
        require(
            self.reserved_concurrency is None or 1 <= self.reserved_concurrency <= 1000,
            join(path, "reserved_concurrency"),
            f"{self.reserved_concurrency} is outside 1-1000 (or null: no reservation)",
        )
        require(
            128 <= self.function_memory_mb <= 10240,
            join(path, "function_memory_mb"),
            f"{self.function_memory_mb} is outside 128-10240",
        )
        require(
            self.log_retention_days in _LOG_RETENTION_DAYS,
            join(path, "log_retention_days"),
            f"{self.log_retention_days} is not a CloudWatch Logs retention period",
        )

    def _validate_invocation(self, path: str) -> None:
        """Its calls to the endpoint: timeouts and attempts within API Gateway's wait."""
        require(
            0.1 <= self.invoke_connect_timeout_s <= 10,
            join(path, "invoke_connect_timeout_s"),
            f"{self.invoke_connect_timeout_s} is outside 0.1-10",
        )
        require(
            0.1 <= self.invoke_read_timeout_s <= 25,
            join(path, "invoke_read_timeout_s"),
            f"{self.invoke_read_timeout_s} is outside 0.1-25",
        )
        require(
            1 <= self.invoke_max_attempts <= 5,
            join(path, "invoke_max_attempts"),
            f"{self.invoke_max_attempts} is outside 1-5",
        )
        require(
            1 <= self.retry_after_s <= 300,
            join(path, "retry_after_s"),
            f"{self.retry_after_s} is outside 1-300",
        )
        budget = invoke_budget_s(
            self.invoke_connect_timeout_s, self.invoke_read_timeout_s, self.invoke_max_attempts
        )
        require(
            budget < self.function_timeout_s <= API_GATEWAY_INTEGRATION_TIMEOUT_S,
            join(path, "function_timeout_s"),
            f"{self.function_timeout_s} must exceed the SageMaker client's worst case "
            f"{budget:g} s (attempts x (connect + read) + backoff) and be at most "
            f"{API_GATEWAY_INTEGRATION_TIMEOUT_S} s (API Gateway's integration timeout); "
            "lower invoke_* or raise function_timeout_s",
        )
        require(
            self.powertools_version == "" or _SEMVER.match(self.powertools_version) is not None,
            join(path, "powertools_version"),
            f"{self.powertools_version!r} is not MAJOR.MINOR.PATCH or '' (no layer)",
        )

    @property
    def invoke_budget_s(self) -> float:
        """Worst-case time of the function's SageMaker call, retries included."""
        return invoke_budget_s(
            self.invoke_connect_timeout_s, self.invoke_read_timeout_s, self.invoke_max_attempts
        )


_LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
