"""The served model as ONNX (``model.onnx`` beside the SavedModel), for serving it in AWS Lambda
with onnxruntime instead of TensorFlow Serving on SageMaker.

The export starts from the SavedModel as packaged (``1/``, its ``serving_default`` signature),
so what Lambda serves is what the endpoint serves: tf2onnx traces it at opset 17 into a graph
with one input ``features`` (float32 [None, n]) and one output ``probability`` ([None, 1]). It is
kept only when onnxruntime gives the SavedModel's probabilities on the held-out rows within
:data:`MAX_ABS_DIFF`; the difference, the bound and the member's sha256 go into metrics.json
(``onnx``), which the promotion's validator reads (``serving_core.onnx_member``).

tf2onnx 1.16.1 is installed without its dependencies (its protobuf~=3.20 pin conflicts with
TensorFlow 2.20; requirements-nodeps.txt). TensorFlow, tf2onnx, onnx and onnxruntime are imported
inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ONNX_MEMBER = "model.onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "probability"
SIGNATURE_NAME = "serving_default"
#: Opset 17: what the brief's probe verified with tf2onnx 1.16.1, and old enough for every
#: onnxruntime release of the last years (1.32.0 runs opsets up to 23).
OPSET = 17
#: float32 rounding differs between TensorFlow's and onnxruntime's kernels (fused ops, order of
#: sums); 1e-5 on a probability is far below anything the 0.5 threshold or the AUC can notice.
MAX_ABS_DIFF = 1e-5
#: The packages the export needs; ``--onnx auto`` exports only where all are installed.
REQUIRED_MODULES = ("tf2onnx", "onnx", "onnxruntime")
_KNOWN_REWRITER_ERROR = "`np.cast` was removed"
_REWRITER_LOGGER = "tf2onnx.tfonnx"


class OnnxExportError(RuntimeError):
    """The export failed, or its probabilities differ from the SavedModel's beyond the bound."""


@dataclass(frozen=True)
class OnnxExport:
    """What was exported and how closely it matches the SavedModel (metrics.json's ``onnx``)."""

    sha256: str
    size_bytes: int
    max_abs_diff: float
    checked_rows: int
    bound: float = MAX_ABS_DIFF
    opset: int = OPSET
    #: What the ONNX copy was checked against (the model the serving container loads).
    reference: str = "the SavedModel"

    def to_metrics(self) -> dict[str, Any]:
        return {
            "member": ONNX_MEMBER,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "opset": self.opset,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "max_abs_diff": self.max_abs_diff,
            "max_abs_diff_bound": self.bound,
            "checked_rows": self.checked_rows,
        }

    def summary(self) -> str:
        return (
            f"onnx: {ONNX_MEMBER} ({self.size_bytes} bytes, opset {self.opset}); max abs "
            f"difference from {self.reference} on {self.checked_rows} held-out rows "
            f"{self.max_abs_diff:.3g} (bound {self.bound:g}); onnx_max_abs_diff="
            f"{self.max_abs_diff:.9g};"
        )


def available(modules: tuple[str, ...] = REQUIRED_MODULES) -> bool:
    """Whether ``modules`` (default: tf2onnx, onnx and onnxruntime) are all installed (not so
    in SageMaker's training images)."""
    return all(importlib.util.find_spec(name) is not None for name in modules)


class _DropKnownRewriterError(logging.Filter):
    """tf2onnx 1.16.1's constant-fold rewriter calls ``np.cast`` (gone in numpy 2) and logs an
    error; the conversion goes on without that pass, and :func:`check` gates the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _KNOWN_REWRITER_ERROR not in record.getMessage()


def convert(saved_model_dir: Path, n_features: int) -> bytes:
    """The SavedModel's serving signature as a serialized ONNX ModelProto."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    loaded = tf.saved_model.load(str(saved_model_dir))
    signature = loaded.signatures[SIGNATURE_NAME]
    spec = [tf.TensorSpec([None, n_features], tf.float32, name=INPUT_NAME)]
    function = tf.function(
        lambda features: signature(**{INPUT_NAME: features})[OUTPUT_NAME], input_signature=spec
    )
    tf2onnx_logger = logging.getLogger(_REWRITER_LOGGER)
    quiet = _DropKnownRewriterError()
    tf2onnx_logger.addFilter(quiet)
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    except Exception as error:  # tf2onnx raises anything from TensorFlow or its rewriters
        raise OnnxExportError(f"tf2onnx could not convert {saved_model_dir}: {error}") from error
    finally:
        tf2onnx_logger.removeFilter(quiet)
    _fold_captures(proto, function.get_concrete_function())
    _name_output(proto)
    _make_reproducible(proto)
    onnx.checker.check_model(proto, full_check=True)
    return bytes(proto.SerializeToString())


def _fold_captures(proto: Any, concrete: Any) -> None:
    """Captured constants (the Normalization layer's mean and variance) stay graph inputs after
    tf2onnx: each one a node reads becomes an initializer holding its value, unread ones go."""
    from onnx import numpy_helper

    captures = {internal.name: external for external, internal in concrete.graph.captures}
    used = {name for node in proto.graph.node for name in node.input}
    for graph_input in list(proto.graph.input):
        if graph_input.name == INPUT_NAME:
            continue
        if graph_input.name in used:
            value = captures.get(graph_input.name)
            if value is None or not hasattr(value, "numpy"):
                raise OnnxExportError(
                    f"the ONNX graph reads input {graph_input.name!r}, which is not a constant "
                    "the signature captured"
                )
            proto.graph.initializer.append(numpy_helper.from_array(value.numpy(), graph_input.name))
        proto.graph.input.remove(graph_input)
    names = [i.name for i in proto.graph.input]
    if names != [INPUT_NAME]:
        raise OnnxExportError(f"the ONNX graph's inputs are {names}, not [{INPUT_NAME!r}]")


def _name_output(proto: Any) -> None:
    """tf2onnx names the output after the TensorFlow tensor (``Identity:0``): ``probability``."""
    if len(proto.graph.output) != 1:
        raise OnnxExportError(f"the ONNX graph has {len(proto.graph.output)} outputs, not 1")
    old = proto.graph.output[0].name
    for node in proto.graph.node:
        for index, name in enumerate(node.output):
            if name == old:
                node.output[index] = OUTPUT_NAME
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = OUTPUT_NAME
    proto.graph.output[0].name = OUTPUT_NAME


def _make_reproducible(proto: Any) -> None:
    """tf2onnx names unknown dimensions from a process-wide counter (``unk__8``, then
    ``unk__15`` on the next export) and the graph after the traced function (``..._231``):
    renamed in order of appearance (``batch`` first) and fixed, the same model gives the same
    bytes, so its sha256 in metrics.json is reproducible."""
    names: dict[str, str] = {}
    graph = proto.graph
    graph.doc_string = f"tf2onnx export of the SavedModel's {SIGNATURE_NAME} signature"
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                new = names.setdefault(dim.dim_param, "batch" if not names else f"d{len(names)}")
                dim.dim_param = new


def onnx_probabilities(model: bytes, rows: NDArray[Any]) -> NDArray[Any]:
    """onnxruntime's probabilities for ``rows``, shape [n] float32."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    (output,) = session.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(rows, dtype=np.float32)})
    return np.asarray(output, dtype=np.float32).reshape(-1)


def saved_model_probabilities(saved_model_dir: Path, rows: NDArray[Any]) -> NDArray[Any]:
    """The SavedModel's probabilities through its serving signature, shape [n] float32."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved_model_dir)).signatures[SIGNATURE_NAME]
    output = signature(**{INPUT_NAME: tf.constant(rows, dtype=tf.float32)})[OUTPUT_NAME]
    return np.asarray(output, dtype=np.float32).reshape(-1)


def check(model: bytes, saved_model_dir: Path, rows: NDArray[Any]) -> float:
    """Max abs difference between onnxruntime's and the SavedModel's probabilities."""
    if len(rows) == 0:
        raise OnnxExportError("no held-out rows to check the ONNX export on")
    ours = onnx_probabilities(model, rows)
    theirs = saved_model_probabilities(saved_model_dir, rows)
    if ours.shape != theirs.shape:
        raise OnnxExportError(f"ONNX gives {ours.shape} probabilities, SavedModel {theirs.shape}")
    return float(np.max(np.abs(ours.astype(np.float64) - theirs.astype(np.float64))))


def export(
    saved_model_dir: Path, destination: Path, rows: NDArray[Any], bound: float = MAX_ABS_DIFF
) -> OnnxExport:
    """Convert, check on ``rows`` (the held-out rows) and write ``destination``; raises
    :class:`OnnxExportError` (and writes nothing) above ``bound``."""
    data = convert(saved_model_dir, int(np.asarray(rows).shape[1]))
    difference = check(data, saved_model_dir, rows)
    return write_checked(data, destination, difference, len(rows), bound)


def write_checked(
    data: bytes,
    destination: Path,
    difference: float,
    checked_rows: int,
    bound: float = MAX_ABS_DIFF,
    opset: int = OPSET,
    reference: str = "the SavedModel",
) -> OnnxExport:
    """Write ``data`` when its largest difference from ``reference`` is within ``bound``;
    raises :class:`OnnxExportError` (and writes nothing) above it."""
    if not difference <= bound:  # NaN fails too
        raise OnnxExportError(
            f"the ONNX export differs from {reference} by up to {difference:.3g} on the "
            f"held-out rows (bound {bound:g}); not packaged"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(data)
    return OnnxExport(
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        max_abs_diff=difference,
        checked_rows=checked_rows,
        bound=bound,
        opset=opset,
        reference=reference,
    )


def export_checked(
    data: bytes,
    destination: Path,
    rows: NDArray[Any],
    reference_probabilities: NDArray[Any],
    opset: int,
    reference: str,
    bound: float = MAX_ABS_DIFF,
) -> OnnxExport:
    """A converted model (any framework's) checked on the held-out ``rows`` against the
    probabilities its own framework gives them, then written (see :func:`write_checked`)."""
    if len(rows) == 0:
        raise OnnxExportError("no held-out rows to check the ONNX export on")
    ours = onnx_probabilities(data, rows).astype(np.float64)
    theirs = np.asarray(reference_probabilities, dtype=np.float64).reshape(-1)
    if ours.shape != theirs.shape:
        raise OnnxExportError(f"ONNX gives {ours.shape} probabilities, {reference} {theirs.shape}")
    difference = float(np.max(np.abs(ours - theirs)))
    return write_checked(data, destination, difference, len(rows), bound, opset, reference)


def class_one_probability(proto: Any, opset: int) -> bytes:
    """A converted classifier (skl2onnx, onnxmltools: outputs ``label`` and ``probabilities``
    [batch, 2]) reduced to the serving interface: ``probability`` = column 1, [batch, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    sources = [o.name for o in graph.output if o.name != "label"]
    if len(sources) != 1:
        raise OnnxExportError(f"the converted classifier's outputs are {sources}, not one")
    if [i.name for i in graph.input] != [INPUT_NAME]:
        raise OnnxExportError(f"the converted model's inputs are not [{INPUT_NAME!r}]")
    del graph.output[:]
    for name, value in (("class_one_start", 1), ("class_one_end", 2), ("class_one_axis", 1)):
        graph.initializer.append(numpy_helper.from_array(np.array([value], np.int64), name))
    graph.node.append(
        helper.make_node(
            "Slice",
            [sources[0], "class_one_start", "class_one_end", "class_one_axis"],
            [OUTPUT_NAME],
            name="class_one_probability",
        )
    )
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1]))
    for dim in graph.input[0].type.tensor_type.shape.dim[:1]:
        dim.dim_param = "batch"
    graph.name = "classifier"  # onnxmltools names it with a random UUID: bytes reproducible
    defaults = [o for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not defaults:
        proto.opset_import.append(helper.make_opsetid("", opset))
    onnx.checker.check_model(proto, full_check=True)
    return bytes(proto.SerializeToString())
