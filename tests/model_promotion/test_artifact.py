"""The artifact validator on its own: every malformed archive gets its specific reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from serving_core.artifact import (
    ArtifactRejectedError,
    ArtifactRules,
    validate_artifact,
)
from tests.model_promotion import artifacts

RULES = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=artifacts.FEATURES)


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(data)
    return str(path)


def test_valid_artifact_is_accepted_with_its_evidence(tmp_path: Path) -> None:
    report = validate_artifact(write(tmp_path, artifacts.build()), RULES)
    assert report.model_version == "1"
    assert report.roc_auc == pytest.approx(0.97)
    assert report.feature_count == artifacts.FEATURES
    assert len(report.sha256) == 64
    assert report.member_count == len(artifacts.valid_members())


def test_metrics_are_required_by_default(tmp_path: Path) -> None:
    data = artifacts.build(artifacts.without("metrics.json"))
    assert ArtifactRules(max_bytes=1, min_auc=0.5).require_metrics
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(write(tmp_path, data), RULES)
    assert raised.value.code == "missing-metrics"
    assert "require_metrics" in raised.value.reason


def test_metrics_may_be_waived_explicitly(tmp_path: Path) -> None:
    data = artifacts.build(artifacts.without("metrics.json", "code/serving_config.json"))
    rules = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, require_metrics=False)
    report = validate_artifact(write(tmp_path, data), rules)
    assert report.roc_auc is None
    assert report.feature_count is None


def test_a_waived_floor_still_checks_metrics_that_are_there(tmp_path: Path) -> None:
    data = artifacts.build(artifacts.replacing("metrics.json", artifacts.metrics(0.5)))
    rules = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, require_metrics=False)
    with pytest.raises(ArtifactRejectedError, match="auc-below-floor"):
        validate_artifact(write(tmp_path, data), rules)


def test_control_characters_are_not_echoed_into_the_reason(tmp_path: Path) -> None:
    data, _ = artifacts.malformed()["newline-in-name"]
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(write(tmp_path, data), RULES)
    assert "\n" not in raised.value.reason and "\\n" in raised.value.reason


def test_model_batch_limit_must_cover_what_the_api_forwards(tmp_path: Path) -> None:
    config = {"feature_names": [f"f{i}" for i in range(30)], "max_batch_rows": 50}
    data = artifacts.build(
        artifacts.replacing("code/serving_config.json", json.dumps(config).encode())
    )
    path = write(tmp_path, data)
    fits = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, api_max_rows=50)
    assert validate_artifact(path, fits).model_version == "1"
    too_many = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, api_max_rows=100)
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(path, too_many)
    assert raised.value.code == "batch-limit-below-api"
    # inference.py's own default (1000 rows) applies when the config names no limit.
    default = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, api_max_rows=1001)
    with pytest.raises(ArtifactRejectedError, match="batch-limit-below-api"):
        validate_artifact(write(tmp_path, artifacts.build()), default)


def test_named_features_must_be_in_the_models_order(tmp_path: Path) -> None:
    path = write(tmp_path, artifacts.build())
    names = tuple(f"f{i}" for i in range(30))
    same = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, api_feature_names=names)
    assert validate_artifact(path, same).feature_count == 30
    swapped = (names[1], names[0], *names[2:])
    other = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, api_feature_names=swapped)
    with pytest.raises(ArtifactRejectedError, match="feature-names-mismatch"):
        validate_artifact(path, other)


def test_highest_numbered_savedmodel_and_dot_slash_names(tmp_path: Path) -> None:
    members = [(f"./{n}", d) for n, d in artifacts.valid_members()]
    members += [("./2/saved_model.pb", b"x"), ("./10/saved_model.pb", b"y")]
    report = validate_artifact(write(tmp_path, artifacts.build(members)), RULES)
    assert report.model_version == "10"


@pytest.mark.parametrize("case", sorted(artifacts.malformed()))
def test_malformed_artifact_is_rejected_with_specific_reason(tmp_path: Path, case: str) -> None:
    data, code = artifacts.malformed()[case]
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(write(tmp_path, data), RULES)
    assert raised.value.code == code, raised.value.reason
    assert raised.value.reason


def test_oversize_artifact_is_rejected(tmp_path: Path) -> None:
    data = artifacts.build([*artifacts.valid_members(), ("1/variables/big", bytes(4096))])
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(write(tmp_path, data), ArtifactRules(len(data) - 1, 0.9, 30))
    assert raised.value.code == "too-large"
    assert str(len(data)) in raised.value.reason


def test_gzip_bomb_is_rejected_on_uncompressed_size(tmp_path: Path) -> None:
    data = artifacts.build([*artifacts.valid_members(), ("1/variables/zeros", bytes(2_000_000))])
    rules = ArtifactRules(max_bytes=100_000, min_auc=0.9, feature_count=30)
    assert len(data) < rules.max_bytes  # small on disk, huge once unpacked
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(write(tmp_path, data), rules)
    assert raised.value.code == "uncompressed-too-large"


def test_auc_exactly_at_floor_is_accepted(tmp_path: Path) -> None:
    data = artifacts.build(artifacts.replacing("metrics.json", artifacts.metrics(0.9)))
    assert validate_artifact(write(tmp_path, data), RULES).roc_auc == pytest.approx(0.9)


def test_feature_count_is_not_checked_without_configured_width(tmp_path: Path) -> None:
    data = artifacts.build(
        artifacts.replacing("code/serving_config.json", artifacts.serving_config(12))
    )
    rules = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=None)
    # metrics.json still says 30 and serving_config says 12: the first source is reported.
    assert validate_artifact(write(tmp_path, data), rules).feature_count == 12


def test_artifact_packaged_by_model_code_is_accepted(tmp_path: Path) -> None:
    """The layout written by model_code.package (the training side) passes validation."""
    package = pytest.importorskip("model_code.package")
    model_dir = tmp_path / "model"
    for name, data in artifacts.valid_members():
        (model_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (model_dir / name).write_bytes(data)
    archive = package.package(model_dir, tmp_path / "out" / "model.tar.gz")
    report = validate_artifact(str(archive), RULES)
    assert report.model_version == "1"
    assert report.feature_count == artifacts.FEATURES


def test_trained_artifact_is_accepted(trained: Any) -> None:
    """The session's real trained artifact (model_code's packaging) passes validation."""
    rules = ArtifactRules(max_bytes=5 * 1024**3, min_auc=0.9, feature_count=30)
    report = validate_artifact(str(trained.package_path), rules)
    assert report.model_version.isdigit()
