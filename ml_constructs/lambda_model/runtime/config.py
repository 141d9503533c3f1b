"""The Lambda-hosted model's settings: written by its construct as the function's environment
(:meth:`ModelFunctionConfig.to_env`) and read back once per container (:meth:`from_env`), so both
ends share one typed definition. Problems name their variable.

The request limits use the inference API's variable names (``FEATURE_COUNT``, ``FEATURE_NAMES``,
``MAX_ROWS``, ``MAX_PAYLOAD_BYTES``): both functions check requests with the same code
(``serving_core.predict_request``) against the same settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from serving_core.env_values import ConfigurationError as ConfigurationError
from serving_core.env_values import env_int

ENDPOINT_NAME = "ENDPOINT_NAME"
VARIANT_NAME = "VARIANT_NAME"
MODEL_DATA_URL = "MODEL_DATA_URL"
MODEL_SHA256 = "MODEL_SHA256"
FEATURE_COUNT = "FEATURE_COUNT"
FEATURE_NAMES = "FEATURE_NAMES"
MAX_ROWS = "MAX_ROWS"
MAX_PAYLOAD_BYTES = "MAX_PAYLOAD_BYTES"
INTRA_OP_THREADS = "ORT_INTRA_OP_THREADS"
CAPTURE_PERCENT = "CAPTURE_PERCENT"
CAPTURE_BUCKET = "CAPTURE_BUCKET"
CAPTURE_PREFIX = "CAPTURE_PREFIX"
CAPTURE_KMS_KEY_ARN = "CAPTURE_KMS_KEY_ARN"
CAPTURE_MAX_RECORDS = "CAPTURE_MAX_RECORDS"
CAPTURE_MAX_AGE_S = "CAPTURE_MAX_AGE_S"
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
#: Lambda's synchronous invocation payload limit (6 MB, as SageMaker's real-time one).
LAMBDA_MAX_PAYLOAD_BYTES = 6_291_456
#: SageMaker's data-capture prefix in the project bucket (ml_constructs.artifact_storage's).
DEFAULT_CAPTURE_PREFIX = "data-capture/"
DEFAULT_VARIANT = "AllTraffic"
#: An endpoint-like name: it is a folder of the capture prefix the monitors read.
_NAME = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+")


@dataclass(frozen=True)
class ModelFunctionConfig:
    """Validated settings of one container."""

    #: The name callers and the monitors know the model by: the response's ``model.endpoint``
    #: and the capture folder ``<prefix><endpoint_name>/<variant_name>/``.
    endpoint_name: str
    #: ``model.tar.gz``: ``s3://bucket/key`` (read at cold start) or an absolute path in the
    #: function's package.
    model_data_url: str
    feature_count: int
    variant_name: str = DEFAULT_VARIANT
    #: The validated artifact's sha256 (the promotion's report); the cold start refuses other
    #: bytes. Empty: not checked.
    model_sha256: str = ""
    feature_names: tuple[str, ...] = ()
    max_rows: int = 100
    max_payload_bytes: int = LAMBDA_MAX_PAYLOAD_BYTES
    #: onnxruntime's intra-op threads: 1 suits single-row requests on Lambda's vCPU share.
    intra_op_threads: int = 1
    #: SageMaker's InitialSamplingPercentage: 0 captures nothing.
    capture_percent: int = 0
    capture_bucket: str = ""
    capture_prefix: str = DEFAULT_CAPTURE_PREFIX
    capture_kms_key_arn: str = ""
    #: Records per capture object: 1 writes each sampled request before answering it; more
    #: batches them in the container (fewer PUTs, but a reclaimed container loses its batch).
    capture_max_records: int = 1
    #: A batch is written by the first invocation after it is this old.
    capture_max_age_s: int = 60
    service_name: str = ""
    metrics_namespace: str = ""
    log_level: str = "INFO"

    def to_env(self) -> dict[str, str]:
        """The environment :meth:`from_env` reads (the construct writes it)."""
        variables = {
            ENDPOINT_NAME: self.endpoint_name,
            VARIANT_NAME: self.variant_name,
            MODEL_DATA_URL: self.model_data_url,
            MODEL_SHA256: self.model_sha256,
            FEATURE_COUNT: str(self.feature_count),
            FEATURE_NAMES: ",".join(self.feature_names),
            MAX_ROWS: str(self.max_rows),
            MAX_PAYLOAD_BYTES: str(self.max_payload_bytes),
            INTRA_OP_THREADS: str(self.intra_op_threads),
            CAPTURE_PERCENT: str(self.capture_percent),
            POWERTOOLS_SERVICE_NAME: self.service_name,
            POWERTOOLS_METRICS_NAMESPACE: self.metrics_namespace,
            POWERTOOLS_LOG_LEVEL: self.log_level,
        }
        if self.capture_percent > 0:
            variables |= {
                CAPTURE_BUCKET: self.capture_bucket,
                CAPTURE_PREFIX: self.capture_prefix,
                CAPTURE_KMS_KEY_ARN: self.capture_kms_key_arn,
                CAPTURE_MAX_RECORDS: str(self.capture_max_records),
                CAPTURE_MAX_AGE_S: str(self.capture_max_age_s),
            }
        return variables

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelFunctionConfig:
        """Read and check the variables; raises ConfigurationError naming the variable."""
        env = os.environ if environ is None else environ

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        names_text = text(FEATURE_NAMES)
        config = cls(
            endpoint_name=text(ENDPOINT_NAME),
            model_data_url=text(MODEL_DATA_URL),
            feature_count=env_int(env, FEATURE_COUNT, None, 1, 10_000),
            variant_name=text(VARIANT_NAME, DEFAULT_VARIANT),
            model_sha256=text(MODEL_SHA256).lower(),
            feature_names=tuple(n.strip() for n in names_text.split(",")) if names_text else (),
            max_rows=env_int(env, MAX_ROWS, 100, 1, 10_000),
            max_payload_bytes=env_int(
                env, MAX_PAYLOAD_BYTES, LAMBDA_MAX_PAYLOAD_BYTES, 1, LAMBDA_MAX_PAYLOAD_BYTES
            ),
            intra_op_threads=env_int(env, INTRA_OP_THREADS, 1, 1, 16),
            capture_percent=env_int(env, CAPTURE_PERCENT, 0, 0, 100),
            capture_bucket=text(CAPTURE_BUCKET),
            capture_prefix=text(CAPTURE_PREFIX, DEFAULT_CAPTURE_PREFIX),
            capture_kms_key_arn=text(CAPTURE_KMS_KEY_ARN),
            capture_max_records=env_int(env, CAPTURE_MAX_RECORDS, 1, 1, 10_000),
            capture_max_age_s=env_int(env, CAPTURE_MAX_AGE_S, 60, 1, 3600),
            service_name=text(POWERTOOLS_SERVICE_NAME),
            metrics_namespace=text(POWERTOOLS_METRICS_NAMESPACE),
            log_level=text(POWERTOOLS_LOG_LEVEL, "INFO"),
        )
        config.check()
        return config

    def check(self) -> None:
        """Raise ConfigurationError for the first setting that cannot work."""
        for variable, value in (
            (ENDPOINT_NAME, self.endpoint_name),
            (VARIANT_NAME, self.variant_name),
        ):
            if not _NAME.match(value):
                raise ConfigurationError(
                    f"{variable}={value!r} is not 1-63 letters, digits and hyphens"
                )
        url = self.model_data_url
        if not (_S3_URL.match(url) or url.startswith("/")):
            raise ConfigurationError(
                f"{MODEL_DATA_URL}={url!r} is neither s3://bucket/key nor an absolute path"
            )
        if self.model_sha256 and not _SHA256.match(self.model_sha256):
            raise ConfigurationError(f"{MODEL_SHA256} is not 64 hex digits")
        names = self.feature_names
        if names and (len(names) != self.feature_count or len(set(names)) != len(names)):
            raise ConfigurationError(
                f"{FEATURE_NAMES} must list {self.feature_count} distinct names, got {len(names)}"
            )
        if self.capture_percent > 0:
            for variable, value in (
                (CAPTURE_BUCKET, self.capture_bucket),
                (CAPTURE_KMS_KEY_ARN, self.capture_kms_key_arn),
            ):
                if not value:
                    raise ConfigurationError(f"{variable} is not set ({CAPTURE_PERCENT} > 0)")
            if not self.capture_prefix.endswith("/") or self.capture_prefix.startswith("/"):
                raise ConfigurationError(
                    f"{CAPTURE_PREFIX}={self.capture_prefix!r} must be relative and end with '/'"
                )

    @property
    def capture_folder(self) -> str:
        """Where this variant's captures go (the monitors read ``<prefix><endpoint>/``)."""
        return f"{self.capture_prefix}{self.endpoint_name}/{self.variant_name}/"
