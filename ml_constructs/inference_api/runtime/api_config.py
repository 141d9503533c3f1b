"""The function's configuration, read once per container from environment variables.

The stack sets these; the local rehearsal sets them by hand. Nothing here is hard-coded
for a particular model: the feature count, limits and timeouts all come from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from serving_core.env_values import ConfigurationError as ConfigurationError
from serving_core.env_values import env_float, env_int

ENDPOINT_NAME = "ENDPOINT_NAME"
FEATURE_COUNT = "FEATURE_COUNT"
FEATURE_NAMES = "FEATURE_NAMES"
MAX_ROWS = "MAX_ROWS"
MAX_PAYLOAD_BYTES = "MAX_PAYLOAD_BYTES"
INVOKE_CONNECT_TIMEOUT_S = "INVOKE_CONNECT_TIMEOUT_S"
INVOKE_READ_TIMEOUT_S = "INVOKE_READ_TIMEOUT_S"
INVOKE_MAX_ATTEMPTS = "INVOKE_MAX_ATTEMPTS"
RETRY_AFTER_S = "RETRY_AFTER_S"
#: ``realtime`` (POST /predict -> InvokeEndpoint) or ``async`` (POST /predict-async ->
#: InvokeEndpointAsync, GET /predict-async/{id}); async needs the bucket and key below.
INVOCATION_MODE = "INVOCATION_MODE"
ASYNC_BUCKET = "ASYNC_BUCKET"
ASYNC_KMS_KEY_ARN = "ASYNC_KMS_KEY_ARN"
MODES = ("realtime", "async")
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
#: The bucket prefixes of asynchronous inference (ml_constructs.artifact_storage's; a test
#: keeps them equal): request bodies, SageMaker's results and failures, the API's records.
ASYNC_INPUT_PREFIX = "async/input/"
ASYNC_OUTPUT_PREFIX = "async/output/"
ASYNC_FAILURES_PREFIX = "async/failures/"
ASYNC_REQUESTS_PREFIX = "async/requests/"

#: Every variable the function reads (besides AWS_*, POWERTOOLS_* and LOG_LEVEL).
ENVIRONMENT_VARIABLES = (
    ENDPOINT_NAME,
    FEATURE_COUNT,
    FEATURE_NAMES,
    MAX_ROWS,
    MAX_PAYLOAD_BYTES,
    INVOKE_CONNECT_TIMEOUT_S,
    INVOKE_READ_TIMEOUT_S,
    INVOKE_MAX_ATTEMPTS,
    RETRY_AFTER_S,
    INVOCATION_MODE,
)
#: Read only in async mode.
ASYNC_ENVIRONMENT_VARIABLES = (ASYNC_BUCKET, ASYNC_KMS_KEY_ARN)
SAGEMAKER_MAX_PAYLOAD_BYTES = 6_291_456
#: The custom metric names the handler emits, one count per request.
OUTCOMES = (
    "Success",
    "ClientError",
    "ModelError",
    "Throttled",
    "Timeout",
    "UpstreamError",
    "InternalError",
)


def invoke_budget_s(connect_timeout_s: float, read_timeout_s: float, max_attempts: int) -> float:
    """Worst-case seconds of one SageMaker call with botocore's standard retries.

    Same formula as ``serving_config.api.invoke_budget_s`` (a test keeps them equal).
    """
    backoff = sum(min(2.0**i, 20.0) + 5.0 for i in range(max_attempts - 1))
    return max_attempts * (connect_timeout_s + read_timeout_s) + backoff


@dataclass(frozen=True)
class ApiConfig:
    """Validated settings of one container."""

    endpoint_name: str
    feature_count: int
    feature_names: tuple[str, ...] = ()
    max_rows: int = 100
    max_payload_bytes: int = SAGEMAKER_MAX_PAYLOAD_BYTES
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 3.0
    max_attempts: int = 3
    retry_after_s: int = 2
    mode: str = "realtime"
    async_bucket: str = ""
    async_kms_key_arn: str = ""
    #: Powertools' settings (its logger and metrics read them from the environment itself).
    service_name: str = ""
    metrics_namespace: str = ""
    log_level: str = "INFO"

    def to_env(self) -> dict[str, str]:
        """The environment :meth:`from_environment` reads (the construct writes it)."""
        variables = {
            ENDPOINT_NAME: self.endpoint_name,
            FEATURE_COUNT: str(self.feature_count),
            FEATURE_NAMES: ",".join(self.feature_names),
            MAX_ROWS: str(self.max_rows),
            MAX_PAYLOAD_BYTES: str(self.max_payload_bytes),
            INVOKE_CONNECT_TIMEOUT_S: f"{self.connect_timeout_s:g}",
            INVOKE_READ_TIMEOUT_S: f"{self.read_timeout_s:g}",
            INVOKE_MAX_ATTEMPTS: str(self.max_attempts),
            RETRY_AFTER_S: str(self.retry_after_s),
            POWERTOOLS_SERVICE_NAME: self.service_name,
            POWERTOOLS_METRICS_NAMESPACE: self.metrics_namespace,
            POWERTOOLS_LOG_LEVEL: self.log_level,
            INVOCATION_MODE: self.mode,
        }
        if self.mode == "async":
            variables[ASYNC_BUCKET] = self.async_bucket
            variables[ASYNC_KMS_KEY_ARN] = self.async_kms_key_arn
        return variables

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """Read and check the variables; raises ConfigurationError naming the variable."""
        env = os.environ if environ is None else environ
        endpoint = env.get(ENDPOINT_NAME, "").strip()
        if not endpoint:
            raise ConfigurationError(f"{ENDPOINT_NAME} is not set")
        names_text = env.get(FEATURE_NAMES, "").strip()
        names = tuple(n.strip() for n in names_text.split(",")) if names_text else ()
        config = cls(
            endpoint_name=endpoint,
            feature_count=env_int(env, FEATURE_COUNT, None, 1, 10_000),
            feature_names=names,
            max_rows=env_int(env, MAX_ROWS, 100, 1, 10_000),
            max_payload_bytes=env_int(
                env, MAX_PAYLOAD_BYTES, SAGEMAKER_MAX_PAYLOAD_BYTES, 1, SAGEMAKER_MAX_PAYLOAD_BYTES
            ),
            connect_timeout_s=env_float(env, INVOKE_CONNECT_TIMEOUT_S, 1.0, 0.01, 60.0),
            read_timeout_s=env_float(env, INVOKE_READ_TIMEOUT_S, 3.0, 0.01, 60.0),
            max_attempts=env_int(env, INVOKE_MAX_ATTEMPTS, 3, 1, 10),
            retry_after_s=env_int(env, RETRY_AFTER_S, 2, 1, 3600),
            mode=env.get(INVOCATION_MODE, "").strip() or "realtime",
            async_bucket=env.get(ASYNC_BUCKET, "").strip(),
            async_kms_key_arn=env.get(ASYNC_KMS_KEY_ARN, "").strip(),
            service_name=env.get(POWERTOOLS_SERVICE_NAME, "").strip(),
            metrics_namespace=env.get(POWERTOOLS_METRICS_NAMESPACE, "").strip(),
            log_level=env.get(POWERTOOLS_LOG_LEVEL, "").strip() or "INFO",
        )
        if config.mode not in MODES:
            raise ConfigurationError(f"{INVOCATION_MODE}={config.mode!r} is not one of {MODES}")
        if config.mode == "async":
            for name, value in (
                (ASYNC_BUCKET, config.async_bucket),
                (ASYNC_KMS_KEY_ARN, config.async_kms_key_arn),
            ):
                if not value:
                    raise ConfigurationError(f"{name} is not set ({INVOCATION_MODE}=async)")
        if names and (len(names) != config.feature_count or len(set(names)) != len(names)):
            raise ConfigurationError(
                f"{FEATURE_NAMES} must list {config.feature_count} distinct names, got {len(names)}"
            )
        return config

    @property
    def invoke_budget_s(self) -> float:
        """Worst-case time of the SageMaker call, retries included."""
        return invoke_budget_s(self.connect_timeout_s, self.read_timeout_s, self.max_attempts)
