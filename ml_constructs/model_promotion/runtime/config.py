"""The promotion function's settings, read from its environment and validated at cold start.

The construct writes these variables from the stack's own values (variant, image,
role, key, alarms), so a promoted model gets exactly the stack's endpoint settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TRAFFIC_SHIFTING = ("canary", "linear", "all_at_once")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


class ConfigurationError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class PromotionConfig:
    """Everything a promotion needs to know about the stack it promotes into."""

    endpoint_name: str
    name_prefix: str
    production_variant: dict[str, Any]
    image_uri: str
    execution_role_arn: str
    volume_kms_key_arn: str | None
    data_capture_config: dict[str, Any] | None
    rollback_alarm_names: tuple[str, ...]
    traffic_shifting: str
    canary_percent: int
    wait_before_shift_s: int
    termination_wait_s: int
    max_execution_timeout_s: int
    min_auc: float
    max_artifact_bytes: int
    feature_count: int | None
    artifact_parameter: str
    topic_arn: str | None
    metrics_namespace: str
    models_prefix: str = "models/"
    releases_prefix: str = "models/releases/"
    artifact_file_name: str = "model.tar.gz"

    @property
    def resource_prefix(self) -> str:
        """Models and endpoint configs of promotions are ``<prefix>-p-<id>`` (IAM scope)."""
        return f"{self.name_prefix}-p-"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PromotionConfig:
        """Parse the environment; every problem names the variable."""
        reader = _Reader(env)
        config = cls(
            endpoint_name=reader.text("ENDPOINT_NAME"),
            name_prefix=reader.text("NAME_PREFIX"),
            production_variant=reader.json_object("PRODUCTION_VARIANT"),
            image_uri=reader.text("IMAGE_URI"),
            execution_role_arn=reader.text("EXECUTION_ROLE_ARN"),
            volume_kms_key_arn=reader.optional("VOLUME_KMS_KEY_ARN"),
            data_capture_config=reader.optional_json_object("DATA_CAPTURE_CONFIG"),
            rollback_alarm_names=reader.string_list("ROLLBACK_ALARM_NAMES"),
            traffic_shifting=reader.choice("TRAFFIC_SHIFTING", TRAFFIC_SHIFTING),
            canary_percent=reader.integer("CANARY_PERCENT", 1, 100),
            wait_before_shift_s=reader.integer("WAIT_BEFORE_SHIFT_S", 0, 3600),
            termination_wait_s=reader.integer("TERMINATION_WAIT_S", 0, 3600),
            max_execution_timeout_s=reader.integer("MAX_EXECUTION_TIMEOUT_S", 600, 14_400),
            min_auc=reader.number("MIN_AUC", 0.0, 1.0),
            max_artifact_bytes=reader.integer("MAX_ARTIFACT_BYTES", 1, 10 * 1024**3),
            feature_count=reader.optional_integer("FEATURE_COUNT"),
            artifact_parameter=reader.text("ARTIFACT_PARAMETER"),
            topic_arn=reader.optional("TOPIC_ARN"),
            metrics_namespace=reader.text("METRICS_NAMESPACE"),
        )
        if not _PREFIX.match(config.name_prefix):
            raise ConfigurationError(f"NAME_PREFIX: {config.name_prefix!r} is not a name prefix")
        if "VariantName" not in config.production_variant:
            raise ConfigurationError("PRODUCTION_VARIANT: VariantName is missing")
        if not config.artifact_parameter.startswith("/"):
            raise ConfigurationError("ARTIFACT_PARAMETER: must be a path like /project/env/name")
        return config


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise ConfigurationError(f"{name}: required environment variable is not set")
        return value

    def _json(self, name: str, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{name}: not valid JSON ({error})") from None

    def json_object(self, name: str) -> dict[str, Any]:
        value = self._json(name, self.text(name))
        if not isinstance(value, dict):
            raise ConfigurationError(f"{name}: expected a JSON object")
        return value

    def optional_json_object(self, name: str) -> dict[str, Any] | None:
        return self.json_object(name) if self.optional(name) else None

    def string_list(self, name: str) -> tuple[str, ...]:
        text = self.optional(name)
        value = self._json(name, text) if text else []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigurationError(f"{name}: expected a JSON list of names")
        return tuple(value)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise ConfigurationError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        text = self.text(name)
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(f"{name}: {text!r} is not an integer") from None
        if not low <= value <= high:
            raise ConfigurationError(f"{name}: {value} is outside {low}-{high}")
        return value

    def optional_integer(self, name: str) -> int | None:
        return self.integer(name, 1, 1_000_000) if self.optional(name) else None

    def number(self, name: str, low: float, high: float) -> float:
        text = self.text(name)
        try:
            value = float(text)
        except ValueError:
            raise ConfigurationError(f"{name}: {text!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigurationError(f"{name}: {value} is outside {low}-{high}")
        return value
