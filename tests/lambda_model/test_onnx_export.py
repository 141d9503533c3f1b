"""model.onnx, exported at packaging time from the session's trained SavedModel: onnxruntime
gives the SavedModel's probabilities on the held-out rows within the bound, and the packaging
records that (metrics.json) and refuses an export beyond it."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model_code import onnx_export
from model_code.train import TrainConfig, _export_onnx, parse_args


def test_the_export_gives_the_savedmodels_probabilities_on_the_held_out_rows(
    trained: Any,
) -> None:
    exported = (trained.model_dir / "model.onnx").read_bytes()
    ours = onnx_export.onnx_probabilities(exported, trained.test_features)
    theirs = onnx_export.saved_model_probabilities(trained.saved_model_dir, trained.test_features)
    difference = float(np.max(np.abs(ours.astype(np.float64) - theirs)))
    assert len(ours) == len(trained.test_labels) == 114
    assert difference <= onnx_export.MAX_ABS_DIFF
    assert np.array_equal(ours >= 0.5, theirs >= 0.5)
    recorded = trained.metrics["onnx"]
    assert recorded["max_abs_diff"] == pytest.approx(difference, abs=1e-12)
    print(f"max abs difference on {len(ours)} held-out rows: {difference:.3g}")


def test_metrics_json_records_the_check_and_the_members_digest(trained: Any) -> None:
    written = json.loads((trained.model_dir / "metrics.json").read_text())
    onnx = written["onnx"]
    data = (trained.model_dir / "model.onnx").read_bytes()
    assert onnx == {
        "member": "model.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "opset": 17,
        "input": "features",
        "output": "probability",
        "max_abs_diff": onnx["max_abs_diff"],
        "max_abs_diff_bound": 1e-5,
        "checked_rows": 114,
    }
    assert "onnx" not in written["hyperparameters"]
    line = next(line for line in trained.log_lines if line.startswith("onnx: "))
    assert "onnx_max_abs_diff=" in line and "114 held-out rows" in line


def test_the_package_carries_model_onnx_beside_the_savedmodel(trained: Any) -> None:
    with tarfile.open(trained.package_path, "r:gz") as archive:
        names = archive.getnames()
        member = archive.extractfile("model.onnx")
        assert member is not None
        assert member.read() == (trained.model_dir / "model.onnx").read_bytes()
    assert "1/saved_model.pb" in names and "code/inference.py" in names


def test_the_onnx_graph_is_what_the_function_feeds(trained: Any) -> None:
    import onnx

    model = onnx.load_from_string((trained.model_dir / "model.onnx").read_bytes())
    onnx.checker.check_model(model, full_check=True)
    (graph_input,) = model.graph.input
    (graph_output,) = model.graph.output
    assert (graph_input.name, graph_output.name) == ("features", "probability")
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_value for d in dims] == [0, 30] and dims[0].dim_param  # [batch, 30]
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx.ml"}


def test_an_export_beyond_the_bound_fails_and_writes_nothing(trained: Any, tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    with pytest.raises(onnx_export.OnnxExportError, match="differs from the SavedModel"):
        onnx_export.export(trained.saved_model_dir, target, trained.test_features, bound=0.0)
    assert not target.exists()


def test_the_export_is_reproducible(trained: Any) -> None:
    again = onnx_export.convert(trained.saved_model_dir, 30)
    assert hashlib.sha256(again).hexdigest() == trained.metrics["onnx"]["sha256"]


def test_auto_skips_the_export_where_tf2onnx_is_missing(
    trained: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SageMaker's training image has no tf2onnx: ``--onnx auto`` says so and exports nothing
    (a stale export is removed); ``--onnx false`` exports nothing either."""
    lines: list[str] = []
    stale = tmp_path / "model.onnx"
    stale.write_bytes(b"stale")
    monkeypatch.setattr(onnx_export, "available", lambda: False)
    config = TrainConfig(onnx="auto")
    result = _export_onnx(config, trained.saved_model_dir, tmp_path, trained.test_features, print)
    assert result is None and not stale.exists()
    _export_onnx(TrainConfig(onnx="false"), trained.saved_model_dir, tmp_path, [], lines.append)
    assert lines == [] and not stale.exists()
    assert parse_args(["--onnx", "true"], environ={}).onnx == "true"
    assert parse_args([], environ={}).onnx == "auto"
