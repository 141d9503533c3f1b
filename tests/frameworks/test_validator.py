"""The promotion's validator on each framework's real artifact: accepted as trained, and each
defect rejected with its reason, without loading any model (standard library only)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from serving_core.artifact import ArtifactRejectedError, ArtifactRules, validate_artifact
from tests.frameworks.conftest import FRAMEWORKS, Edit, read_archive, write_archive

pytestmark = pytest.mark.slow
MODEL = {"pytorch": "model.pt", "xgboost": "model.json", "sklearn": "model.joblib"}


def rules(framework: str, **overrides: Any) -> ArtifactRules:
    values: dict[str, Any] = {
        "max_bytes": 16 * 1024 * 1024,
        "min_auc": 0.9,
        "feature_count": 30,
        "framework": framework,
        **overrides,
    }
    return ArtifactRules(**values)


def edited(run: Any, tmp_path: Path, edit: Edit) -> str:
    members = read_archive(run.package_path)
    edit(members)
    return write_archive(tmp_path / "edited.tar.gz", members)


def rejected(path: str, rule: ArtifactRules) -> ArtifactRejectedError:
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(path, rule)
    return raised.value


def set_model(members: dict[str, bytes], framework: str, data: bytes) -> None:
    """Replace the model member and record its digest, as a consistent (re)packaging would."""
    members[MODEL[framework]] = data
    metrics = json.loads(members["metrics.json"])
    metrics["framework"]["model_sha256"] = hashlib.sha256(data).hexdigest()
    members["metrics.json"] = json.dumps(metrics).encode()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_trained_artifact_is_accepted(framework_runs: dict[str, Any], framework: str) -> None:
    run = framework_runs[framework]
    report = validate_artifact(str(run.package_path), rules(framework, require_onnx=True))
    assert report.framework == framework
    assert report.model is not None and report.model.member == MODEL[framework]
    assert report.model.sha256 == run.metrics["framework"]["model_sha256"]
    assert report.feature_count == 30 and report.onnx is not None
    assert report.as_dict()["model"]["model_format"] == run.metrics["framework"]["model_format"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("defect", "code"),
    [
        ("no-model", "missing-model"),
        ("no-inference-code", "missing-inference-code"),
        ("no-shared-code", "missing-inference-code"),
        ("no-metrics", "missing-metrics"),
        ("wrong-feature-count", "feature-count-mismatch"),
        ("other-framework", "framework-mismatch"),
        ("undeclared-framework", "undeclared-framework"),
        ("swapped-model", "model-sha256-mismatch"),
    ],
)
def test_each_defect_is_rejected_with_its_reason(
    framework_runs: dict[str, Any], framework: str, defect: str, code: str, tmp_path: Path
) -> None:
    run = framework_runs[framework]
    rule = rules(framework)

    def edit(members: dict[str, bytes]) -> None:
        metrics = json.loads(members["metrics.json"])
        if defect == "no-model":
            del members[MODEL[framework]]
        elif defect == "no-inference-code":
            del members["code/inference.py"]
        elif defect == "no-shared-code":
            del members["code/serving_io.py"]
        elif defect == "no-metrics":
            del members["metrics.json"]
        elif defect == "other-framework":
            metrics["framework"]["name"] = "tensorflow"
        elif defect == "undeclared-framework":
            del metrics["framework"]
        elif defect == "swapped-model":
            other = next(f for f in FRAMEWORKS if f != framework)
            members[MODEL[framework]] = read_archive(framework_runs[other].package_path)[
                MODEL[other]
            ]
        if "metrics.json" in members:
            members["metrics.json"] = json.dumps(metrics).encode()

    if defect == "wrong-feature-count":
        rule = rules(framework, feature_count=29)
    error = rejected(edited(run, tmp_path, edit), rule)
    assert error.code == code, error.reason
    assert error.reason


def test_a_tensorflow_endpoint_refuses_a_pytorch_artifact(
    framework_runs: dict[str, Any],
) -> None:
    error = rejected(str(framework_runs["pytorch"].package_path), rules("tensorflow"))
    assert error.code == "missing-savedmodel"


def test_torchscript_is_checked_by_listing(framework_runs: dict[str, Any], tmp_path: Path) -> None:
    import torch

    run = framework_runs["pytorch"]
    state = io.BytesIO()
    torch.save(run.model.state_dict(), state)  # a zip too, but not TorchScript (no code/)
    error = rejected(
        edited(run, tmp_path, lambda m: set_model(m, "pytorch", state.getvalue())), rules("pytorch")
    )
    assert error.code == "invalid-torchscript" and "torch.jit.save" in error.reason
    error = rejected(
        edited(run, tmp_path, lambda m: set_model(m, "pytorch", b"not a zip")), rules("pytorch")
    )
    assert error.code == "invalid-torchscript" and "not a zip" in error.reason

    members = read_archive(run.package_path)
    original = zipfile.ZipFile(io.BytesIO(members["model.pt"]))
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as target:
        for name in original.namelist():
            data = b"x" if name.endswith("/version") else original.read(name)
            target.writestr(name, data)
    error = rejected(
        edited(run, tmp_path, lambda m: set_model(m, "pytorch", forged.getvalue())),
        rules("pytorch"),
    )
    assert error.code == "invalid-torchscript" and "version" in error.reason


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (
            lambda d: d["learner"]["objective"].update(name="reg:squarederror"),
            "invalid-xgboost-model",
            "binary:logistic",
        ),
        (
            lambda d: d["learner"]["learner_model_param"].update(num_feature="29"),
            "feature-count-mismatch",
            "num_feature",
        ),
        (
            lambda d: d["learner"].update(feature_names=["x"] * 30),
            "feature-names-mismatch",
            "serving_config",
        ),
        (
            lambda d: d["learner"]["gradient_booster"]["model"].update(trees=[]),
            "invalid-xgboost-model",
            "no trees",
        ),
        (lambda d: d.pop("learner"), "invalid-xgboost-model", "learner"),
    ],
)
def test_xgboost_json_is_parsed_not_loaded(
    framework_runs: dict[str, Any], tmp_path: Path, change: Any, code: str, words: str
) -> None:
    run = framework_runs["xgboost"]
    document = json.loads(read_archive(run.package_path)["model.json"])
    change(document)
    data = json.dumps(document).encode()
    error = rejected(
        edited(run, tmp_path, lambda m: set_model(m, "xgboost", data)), rules("xgboost")
    )
    assert error.code == code and words in error.reason


def test_xgboost_ubjson_and_pickles_are_refused(
    framework_runs: dict[str, Any], tmp_path: Path
) -> None:
    run = framework_runs["xgboost"]
    ubj = bytes(run.model.save_raw(raw_format="ubj"))
    error = rejected(
        edited(run, tmp_path, lambda m: set_model(m, "xgboost", ubj)), rules("xgboost")
    )
    assert error.code == "invalid-xgboost-model" and "UBJSON" in error.reason


def test_sklearn_needs_its_declared_format_and_the_pickles_digest(
    framework_runs: dict[str, Any], tmp_path: Path
) -> None:
    run = framework_runs["sklearn"]

    def no_onnx(members: dict[str, bytes]) -> None:
        del members["model.onnx"]
        metrics = json.loads(members["metrics.json"])
        del metrics["onnx"]
        members["metrics.json"] = json.dumps(metrics).encode()

    assert rejected(edited(run, tmp_path, no_onnx), rules("sklearn")).code == "missing-onnx"

    def no_digest(members: dict[str, bytes]) -> None:
        metrics = json.loads(members["metrics.json"])
        del metrics["framework"]["model_sha256"]
        members["metrics.json"] = json.dumps(metrics).encode()

    assert rejected(edited(run, tmp_path, no_digest), rules("sklearn")).code == "model-unverified"

    def no_pins(members: dict[str, bytes]) -> None:
        del members["code/requirements.txt"]

    error = rejected(edited(run, tmp_path, no_pins), rules("sklearn"))
    assert error.code == "missing-inference-code" and "requirements.txt" in error.reason


def test_unknown_framework_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown framework 'caffe'"):
        rules("caffe")
