"""Typed, validated per-environment configuration for the serving app.

Every environment difference (account, region, instance type, scaling limits,
removal policy, thresholds) lives in ``environments/<name>.yaml``; nothing in
the stacks or constructs branches on the environment name.
"""

from serving_config.loader import (
    ENVIRONMENTS_DIR,
    Delivery,
    Stage,
    available_environments,
    available_pipelines,
    load_pipeline,
    load_settings,
)
from serving_config.pipeline import (
    PipelineSettings,
    PostDeployTest,
    SourceSettings,
    StageSettings,
)
from serving_config.settings import (
    AlarmSettings,
    ApiSettings,
    ConfigError,
    EndpointSettings,
    ModelMonitorSettings,
    ModelSettings,
    PromotionSettings,
    RegistrySettings,
    RetrainingSettings,
    ScalingSettings,
    Settings,
)

__all__ = [
    "ENVIRONMENTS_DIR",
    "AlarmSettings",
    "ApiSettings",
    "ConfigError",
    "Delivery",
    "EndpointSettings",
    "ModelMonitorSettings",
    "ModelSettings",
    "PipelineSettings",
    "PostDeployTest",
    "PromotionSettings",
    "RegistrySettings",
    "RetrainingSettings",
    "ScalingSettings",
    "Settings",
    "SourceSettings",
    "Stage",
    "StageSettings",
    "available_environments",
    "available_pipelines",
    "load_pipeline",
    "load_settings",
]
