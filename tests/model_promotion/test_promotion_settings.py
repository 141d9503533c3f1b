"""Promotion settings validate with field paths, and construct props reject bad values."""

from __future__ import annotations

import pytest

from serving_config import ConfigError, PromotionSettings
from serving_config._parsing import build


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"min_auc": 1.2}, r"promotion\.min_auc: 1\.2 is outside 0-1"),
        ({"max_artifact_mb": 6000}, r"promotion\.max_artifact_mb: 6000 is outside 1-5120"),
        ({"traffic_shifting": "rolling"}, r"promotion\.traffic_shifting: 'rolling' is not one"),
        ({"canary_percent": 0}, r"promotion\.canary_percent: 0 is outside 1-50"),
        ({"wait_before_shift_s": 4000}, r"promotion\.wait_before_shift_s: 4000 is outside"),
        ({"max_execution_timeout_s": 300}, r"promotion\.max_execution_timeout_s: 300 is outside"),
        # SageMaker's MaximumExecutionTimeoutInSeconds: 600-28800 (BlueGreenUpdatePolicy).
        (
            {"max_execution_timeout_s": 28_801},
            r"promotion\.max_execution_timeout_s: 28801 is outside 600-28800",
        ),
        (
            {
                "wait_before_shift_s": 3600,
                "termination_wait_s": 3600,
                "max_execution_timeout_s": 7000,
            },
            r"max_execution_timeout_s: 7000 s does not cover",
        ),
        ({"queue_max_receive_count": 1}, r"promotion\.queue_max_receive_count: 1 is outside"),
        ({"retry_delay_s": 50_000}, r"promotion\.retry_delay_s: 50000 is outside"),
    ],
)
def test_invalid_promotion_settings_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(PromotionSettings, data, "promotion")


def test_the_longest_blue_green_timeout_sagemaker_allows_is_accepted() -> None:
    assert build(PromotionSettings, {"max_execution_timeout_s": 28_800}, "promotion")


def test_visibility_timeout_is_at_least_six_function_timeouts() -> None:
    from ml_constructs.model_promotion.construct import ModelPromotionProps

    props = ModelPromotionProps.__new__(ModelPromotionProps)
    object.__setattr__(props, "retry_delay_s", 60)
    object.__setattr__(props, "function_timeout_s", 300)
    assert props.visibility_timeout_s == 1800
    object.__setattr__(props, "retry_delay_s", 3600)
    assert props.visibility_timeout_s == 3600
