"""model.tar.gz: layout, size, TF Serving 2.20 compatibility, and the scoring round trip."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model_code import package

from .conftest import MODEL_CODE_DIR


def test_archive_layout_and_size(trained: Any) -> None:
    path = trained.package_path
    assert path.stat().st_size < 1_000_000
    names = package.validate_archive(path)
    for required in (
        "1/saved_model.pb",
        "1/variables/variables.index",
        "code/inference.py",
        "code/serving_config.json",
        "metrics.json",
    ):
        assert required in names
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            assert member.isfile() or member.isdir()
            assert not member.name.startswith("/") and ".." not in member.name.split("/")
        metrics = json.load(tar.extractfile("metrics.json"))  # type: ignore[arg-type]
        script = tar.extractfile("code/inference.py").read()  # type: ignore[union-attr]
    assert metrics == trained.metrics
    assert script == (MODEL_CODE_DIR / "inference.py").read_bytes()


def test_package_cli(trained: Any, tmp_path: Path) -> None:
    output = tmp_path / "again.tar.gz"
    assert package.main(["--model-dir", str(trained.model_dir), "--output", str(output)]) == 0
    assert package.validate_archive(output) == package.validate_archive(trained.package_path)


def test_package_refuses_incomplete_dir(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    with pytest.raises(package.PackageError, match=r"lacks 1/saved_model\.pb"):
        package.package(tmp_path, tmp_path / "x.tar.gz")


def test_unsafe_archive_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(package.PackageError, match="unsafe member path"):
        package.extract(bad, tmp_path / "out")


def test_savedmodel_fits_tensorflow_serving_2_20(trained: Any) -> None:
    """TF Serving 2.20 is built from TF 2.20: the graph was written by TF 2.20 and uses only
    ops registered in TF 2.20's core op registry (no custom or contrib ops)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((trained.saved_model_dir / "saved_model.pb").read_bytes())
    meta = proto.meta_graphs[0]
    assert tf.__version__.startswith("2.20.")
    assert meta.meta_info_def.tensorflow_version.startswith("2.20.")
    assert "serve" in meta.meta_info_def.tags
    signature = meta.signature_def["serving_default"]
    (input_info,) = signature.inputs.values()
    assert input_info.dtype == tf.float32.as_datatype_enum
    assert [d.size for d in input_info.tensor_shape.dim] == [-1, 30]
    ops = {node.op for node in meta.graph_def.node}
    for function in meta.graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    function_names = {f.signature.name for f in meta.graph_def.library.function}
    unknown = {op for op in ops - function_names if op_def_registry.get(op) is None}
    assert not unknown


def test_round_trip_through_inference_py_matches_trained_model(
    trained: Any, tmp_path: Path
) -> None:
    """Unpack model.tar.gz, load it like the server does and score the held-out rows through
    code/inference.py (JSON and CSV): same probabilities as the in-memory Keras model."""
    from model_code.local_server import load_served_model

    root = package.extract(trained.package_path, tmp_path / "unpacked")
    served = load_served_model(root)
    assert served.handlers.__file__ == str(root / "code" / "inference.py")
    rows = trained.test_features.tolist()
    result = served.invoke(json.dumps({"instances": rows}).encode(), "application/json", None)
    assert result.status == 200, result.body
    predictions = json.loads(result.body)["predictions"]
    probabilities = np.array([p["probability"] for p in predictions])
    assert np.max(np.abs(probabilities - trained.test_probabilities)) <= 1e-6
    labels = np.array([p["label"] for p in predictions])
    assert np.array_equal(labels, (trained.test_probabilities >= 0.5).astype(int))

    csv_body = "\n".join(",".join(repr(v) for v in row) for row in rows).encode()
    result = served.invoke(csv_body, "text/csv", "application/json")
    csv_probabilities = np.array([p["probability"] for p in json.loads(result.body)["predictions"]])
    assert np.max(np.abs(csv_probabilities - trained.test_probabilities)) <= 1e-6
