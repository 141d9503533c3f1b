"""The artifact validator checks model.onnx without running it (the promotion function has no
onnx or onnxruntime): present when required, within its size limit, a well-formed ONNX model
with the serving interface, and the export metrics.json vouches for. Each rejection names why."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from serving_core import onnx_member
from serving_core.artifact import ArtifactRejectedError, ArtifactRules, validate_artifact
from serving_core.onnx_member import check_structure
from tests.model_promotion import artifacts

FEATURES = artifacts.FEATURES
RULES = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=FEATURES, require_onnx=True)


def tiny_onnx(
    features: int = FEATURES,
    input_name: str = "features",
    output_name: str = "probability",
    ir_version: int = 8,
    opset: int = 17,
    domain: str = "",
    batch: int | None = None,
    external: bool = False,
) -> bytes:
    """A logistic regression over ``features`` inputs, as tf2onnx would lay it out."""
    weights = numpy_helper.from_array(np.full((features, 1), 0.1, np.float32), "w")
    if external:
        weights.data_location = TensorProto.EXTERNAL
        entry = weights.external_data.add()
        entry.key, entry.value = "location", "weights.bin"
        weights.ClearField("raw_data")
    nodes = [
        helper.make_node("MatMul", [input_name, "w"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], [output_name]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch or "N", features])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch or "N", 1])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, opset)])
    model.ir_version = ir_version
    return bytes(model.SerializeToString())


def metrics_with(onnx_bytes: bytes, **overrides: Any) -> bytes:
    document = json.loads(artifacts.metrics())
    document["onnx"] = {
        "member": "model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "size_bytes": len(onnx_bytes),
        "max_abs_diff": 6e-8,
        "max_abs_diff_bound": 1e-5,
        "checked_rows": 114,
        **overrides,
    }
    return json.dumps(document).encode()


def archive(onnx_bytes: bytes | None, metrics: bytes | None = None) -> bytes:
    members = artifacts.valid_members()
    if onnx_bytes is not None:
        metrics = metrics if metrics is not None else metrics_with(onnx_bytes)
        members = [m for m in members if m[0] != "metrics.json"]
        members += [("metrics.json", metrics), ("model.onnx", onnx_bytes)]
    elif metrics is not None:
        members = [m for m in members if m[0] != "metrics.json"] + [("metrics.json", metrics)]
    return artifacts.build(members)


def rejection(tmp_path: Path, data: bytes, rules: ArtifactRules = RULES) -> ArtifactRejectedError:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(data)
    with pytest.raises(ArtifactRejectedError) as raised:
        validate_artifact(str(path), rules)
    assert raised.value.reason.startswith("model.onnx ")
    return raised.value


def test_a_good_onnx_member_is_accepted_with_its_evidence(tmp_path: Path) -> None:
    member = tiny_onnx()
    path = tmp_path / "model.tar.gz"
    path.write_bytes(archive(member))
    report = validate_artifact(str(path), RULES)
    assert report.onnx is not None
    assert report.onnx.as_dict() == {
        "sha256": hashlib.sha256(member).hexdigest(),
        "size_bytes": len(member),
        "ir_version": 8,
        "opset": 17,
        "max_abs_diff": 6e-8,
    }
    assert report.as_dict()["onnx"]["opset"] == 17


def test_the_session_artifact_passes_with_onnx_required(trained: Any) -> None:
    report = validate_artifact(str(trained.package_path), RULES)
    assert report.onnx is not None
    assert report.onnx.sha256 == trained.metrics["onnx"]["sha256"]
    assert report.onnx.max_abs_diff == trained.metrics["onnx"]["max_abs_diff"]


def test_a_missing_member_is_refused_only_where_required(tmp_path: Path) -> None:
    error = rejection(tmp_path, archive(None))
    assert error.code == "missing-onnx" and "--onnx true" in error.reason
    path = tmp_path / "sagemaker.tar.gz"
    path.write_bytes(archive(None))
    sagemaker_only = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=FEATURES)
    assert validate_artifact(str(path), sagemaker_only).onnx is None


def test_a_member_metrics_json_declares_must_be_there(tmp_path: Path) -> None:
    lost = archive(None, metrics=metrics_with(tiny_onnx()))
    not_required = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=FEATURES)
    error = rejection(tmp_path, lost, not_required)
    assert error.code == "missing-onnx" and "declared by metrics.json" in error.reason


def test_an_oversized_member_is_refused_before_it_is_read(tmp_path: Path) -> None:
    member = tiny_onnx()
    small = ArtifactRules(
        max_bytes=1024 * 1024,
        min_auc=0.9,
        feature_count=FEATURES,
        require_onnx=True,
        max_onnx_bytes=len(member) - 1,
    )
    error = rejection(tmp_path, archive(member), small)
    assert error.code == "onnx-too-large"
    assert f"is {len(member)} bytes, above the limit of {len(member) - 1}" in error.reason


@pytest.mark.parametrize(
    ("corrupt", "why"),
    [
        (lambda m: m[: len(m) // 2], "truncated"),
        (lambda m: m[:-3], "truncated"),
        (lambda m: b"\x00" * 64, "field numbered 0"),
        (lambda m: json.dumps({"not": "onnx"}).encode(), "wire type"),
        (lambda m: b"\x08\x08", "no graph"),
        (lambda m: bytes(range(256)) * 8, ""),
    ],
    ids=["half", "last-bytes", "zeros", "json", "header-only", "noise"],
)
def test_a_corrupt_member_is_refused_with_the_reason(
    tmp_path: Path, corrupt: Any, why: str
) -> None:
    member = corrupt(tiny_onnx())
    error = rejection(tmp_path, archive(member))  # metrics.json vouches for these bytes
    assert error.code == "invalid-onnx"
    assert why in error.reason


def test_every_truncation_of_the_real_export_is_refused_cleanly(trained: Any) -> None:
    data = (trained.model_dir / "model.onnx").read_bytes()
    assert check_structure(data, FEATURES) == (8, 17)
    for end in range(0, len(data), 7):
        with pytest.raises(ArtifactRejectedError) as raised:
            check_structure(data[:end], FEATURES)
        assert raised.value.code in ("invalid-onnx", "onnx-interface")


@pytest.mark.parametrize(
    ("member", "code", "why"),
    [
        (tiny_onnx(input_name="x"), "onnx-interface", "takes ['x']"),
        (tiny_onnx(output_name="y"), "onnx-interface", "returns ['y']"),
        (tiny_onnx(features=29), "onnx-interface", "takes 29 features"),
        (tiny_onnx(batch=1), "onnx-interface", "batches of exactly 1"),
        (tiny_onnx(ir_version=15), "onnx-unsupported", "IR version 15"),
        (tiny_onnx(opset=29), "onnx-unsupported", "opset 29"),
        (tiny_onnx(opset=6), "onnx-unsupported", "opset 6"),
        (tiny_onnx(domain="com.example"), "onnx-unsupported", "'com.example'"),
        (tiny_onnx(external=True), "onnx-external-data", "another file"),
    ],
    ids=[
        "input-name",
        "output-name",
        "width",
        "fixed-batch",
        "ir",
        "opset-new",
        "opset-old",
        "domain",
        "external",
    ],
)
def test_a_member_the_function_cannot_serve_is_refused(
    tmp_path: Path, member: bytes, code: str, why: str
) -> None:
    error = rejection(tmp_path, archive(member))
    assert error.code == code and why in error.reason


def test_a_graph_reading_an_undefined_value_is_refused(tmp_path: Path) -> None:
    model = onnx.load_from_string(tiny_onnx())
    model.graph.node[1].input[0] = "nowhere"
    error = rejection(tmp_path, archive(model.SerializeToString()))
    assert error.code == "invalid-onnx" and "'nowhere'" in error.reason


@pytest.mark.parametrize(
    ("overrides", "code", "why"),
    [
        ({"sha256": "0" * 64}, "onnx-digest-mismatch", "not the export that was checked"),
        ({"max_abs_diff": 2e-5}, "onnx-mismatch", "up to 2e-05"),
        ({"max_abs_diff": float("nan")}, "invalid-metrics", "max_abs_diff"),
        ({"max_abs_diff": "small"}, "invalid-metrics", "max_abs_diff"),
        ({"checked_rows": 0}, "invalid-metrics", "checked_rows"),
    ],
    ids=["swapped", "beyond-bound", "nan", "text", "no-rows"],
)
def test_the_evidence_must_vouch_for_these_bytes(
    tmp_path: Path, overrides: dict[str, Any], code: str, why: str
) -> None:
    member = tiny_onnx()
    error = rejection(tmp_path, archive(member, metrics_with(member, **overrides)))
    assert error.code == code and why in error.reason


def test_an_unvouched_member_is_refused_where_required(tmp_path: Path) -> None:
    error = rejection(tmp_path, archive(tiny_onnx(), metrics=artifacts.metrics()))
    assert error.code == "onnx-unverified"
    path = tmp_path / "other.tar.gz"
    path.write_bytes(archive(tiny_onnx(), metrics=artifacts.metrics()))
    not_required = ArtifactRules(max_bytes=1024 * 1024, min_auc=0.9, feature_count=FEATURES)
    report = validate_artifact(str(path), not_required)
    assert report.onnx is not None and report.onnx.max_abs_diff is None


def _loads(model: bytes) -> bool:
    try:
        onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    except Exception:
        return False
    return True


def test_the_version_bounds_are_what_the_pinned_onnxruntime_loads() -> None:
    newest = tiny_onnx(ir_version=onnx_member.MAX_IR_VERSION, opset=onnx_member.MAX_OPSET)
    assert check_structure(newest, FEATURES) == (onnx_member.MAX_IR_VERSION, 28)
    assert _loads(newest)
    assert not _loads(tiny_onnx(ir_version=onnx_member.MAX_IR_VERSION + 1))
    assert _loads(tiny_onnx(opset=onnx_member.MIN_OPSET))
    assert _loads(tiny_onnx())


def test_the_runtimes_onnxruntime_is_the_pinned_one() -> None:
    root = Path(__file__).resolve().parents[2]
    pins = {}
    for path in (
        root / "requirements-model.txt",
        root / "ml_constructs/lambda_model/runtime/requirements.txt",
    ):
        lines = path.read_text().splitlines()
        pins[path.name + str(len(pins))] = {
            line.split("==")[0]: line.split("==")[1]
            for line in lines
            if "==" in line and not line.startswith("#")
        }
    model, function = pins.values()
    assert function["onnxruntime"] == model["onnxruntime"] == onnxruntime.__version__
    assert function["numpy"] == model["numpy"] == np.__version__
