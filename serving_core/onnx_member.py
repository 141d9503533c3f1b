"""The ONNX member of ``model.tar.gz`` (``model.onnx``), checked without running it.

The validator runs in the promotion function (standard library and boto3; no ``onnx``, no
onnxruntime), and no model is ever loaded during validation. So the member is checked by what
can be read, and the rest is evidence from the packaging step:

- **read here**: its size (before reading it), that it is a complete protobuf ``ModelProto``
  (every field's wire type and length consistent, nothing left over), an IR version and a
  default-domain opset the pinned onnxruntime (1.32.0) supports, only the ``ai.onnx`` and
  ``ai.onnx.ml`` domains (no custom-op libraries in the function), no external data (the
  function loads ``model.onnx`` alone), nodes in topological order reading only defined values,
  and the serving interface: one input ``features`` float32 ``[batch, n]`` with ``n`` the
  model's feature count, one output ``probability`` float32 ``[batch, 1]`` produced by a node;
- **trusted from metrics.json**: that onnxruntime gives the SavedModel's probabilities within
  a bound on the held-out rows (``onnx.max_abs_diff``, measured by ``model_code.onnx_export`` at
  packaging time), tied to these bytes by ``onnx.sha256``. It is trusted as the test AUC beside
  it is: both come from the training run, and whoever may upload under ``models/`` could forge
  either; the gate catches mistakes (a stale or swapped export, an unchecked one, a corrupt or
  truncated file), not a hostile uploader, who is kept out by the bucket's permissions.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from serving_core.errors import ArtifactRejectedError

ONNX_MEMBER = "model.onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "probability"
#: The function reads the whole file into memory at cold start; the example model is 8 KB.
MAX_ONNX_BYTES = 64 * 1024 * 1024
#: The bound model_code.onnx_export applies at packaging time (the validator's default).
MAX_ABS_DIFF = 1e-5
#: onnxruntime 1.32.0 refuses IR versions above 14 and officially runs ai.onnx opsets up to 28
#: (tests/lambda_model pin both against the installed onnxruntime); 7 is its oldest opset.
MIN_IR_VERSION = 3
MAX_IR_VERSION = 14
MIN_OPSET = 7
MAX_OPSET = 28
DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
ALLOWED_DOMAINS = DEFAULT_DOMAINS | {"ai.onnx.ml"}
_FLOAT = 1  # TensorProto.DataType.FLOAT
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5

Fields = list[tuple[int, int, Any]]


@dataclass(frozen=True)
class OnnxReport:
    """What the validator found: the member's digest and the packaging step's evidence."""

    sha256: str
    size_bytes: int
    ir_version: int
    opset: int
    max_abs_diff: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "ir_version": self.ir_version,
            "opset": self.opset,
            "max_abs_diff": self.max_abs_diff,
        }


def _reject(code: str, reason: str) -> ArtifactRejectedError:
    return ArtifactRejectedError(code, f"{ONNX_MEMBER} {reason}")


def check_size(size: int, limit: int) -> None:
    """Refuse an oversized member before reading it."""
    if size > limit:
        raise _reject("onnx-too-large", f"is {size} bytes, above the limit of {limit} bytes")


def check_onnx(
    data: bytes | None,
    metrics: dict[str, Any] | None,
    *,
    required: bool,
    feature_count: int | None,
    max_abs_diff: float = MAX_ABS_DIFF,
) -> OnnxReport | None:
    """The ONNX member checked against its metrics.json evidence; None when absent and not
    required. Raises ArtifactRejectedError with the first problem."""
    declared = metrics.get("onnx") if isinstance(metrics, dict) else None
    if data is None:
        if required:
            raise _reject(
                "missing-onnx",
                "is missing; this model is served by onnxruntime (package it with "
                "model_code.train --onnx true)",
            )
        if declared is not None:
            raise _reject("missing-onnx", "is declared by metrics.json but the archive lacks it")
        return None
    digest = hashlib.sha256(data).hexdigest()
    ir_version, opset = check_structure(data, feature_count)
    difference = _check_evidence(declared, digest, required, max_abs_diff)
    return OnnxReport(digest, len(data), ir_version, opset, difference)


def _check_evidence(declared: Any, digest: str, required: bool, bound: float) -> float | None:
    if declared is None:
        if required:
            raise _reject(
                "onnx-unverified",
                "has no evidence in metrics.json ('onnx'): nothing shows that it gives the "
                "SavedModel's probabilities",
            )
        return None
    if not isinstance(declared, dict):
        raise _reject(
            "invalid-metrics", "has evidence in metrics.json ('onnx') that is not an object"
        )
    if declared.get("sha256") != digest:
        raise _reject(
            "onnx-digest-mismatch",
            "has another sha256 than metrics.json records: it is not the export that was "
            "checked against the SavedModel",
        )
    difference = declared.get("max_abs_diff")
    rows = declared.get("checked_rows")
    if (
        isinstance(difference, bool)
        or not isinstance(difference, int | float)
        or not math.isfinite(difference)
        or difference < 0
    ):
        raise _reject("invalid-metrics", f"has onnx.max_abs_diff {difference!r} in metrics.json")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise _reject("invalid-metrics", f"has onnx.checked_rows {rows!r} in metrics.json")
    if difference > bound:
        raise _reject(
            "onnx-mismatch",
            f"differs from the SavedModel by up to {difference:.3g} on the held-out rows "
            f"(bound {bound:g})",
        )
    return float(difference)


# -- structure ------------------------------------------------------------------------------


def check_structure(data: bytes, feature_count: int | None) -> tuple[int, int]:
    """(IR version, default-domain opset) of a well-formed ModelProto with the serving
    interface; raises ``invalid-onnx``/``onnx-unsupported``/``onnx-interface`` otherwise."""
    model = _fields(memoryview(data), "the model")
    ir_version = _single(model, 1, _VARINT, "ir_version")
    if not MIN_IR_VERSION <= ir_version <= MAX_IR_VERSION:
        raise _reject(
            "onnx-unsupported",
            f"has IR version {ir_version}, outside {MIN_IR_VERSION}-{MAX_IR_VERSION} "
            "(what the pinned onnxruntime loads)",
        )
    graph = _fields(_single(model, 7, _LEN, "graph"), "the graph")
    domains = _opsets(model)
    default = max((v for d, v in domains.items() if d in DEFAULT_DOMAINS), default=None)
    if default is None:
        raise _reject("invalid-onnx", "imports no ai.onnx opset")
    if not MIN_OPSET <= default <= MAX_OPSET:
        raise _reject(
            "onnx-unsupported",
            f"has ai.onnx opset {default}, outside {MIN_OPSET}-{MAX_OPSET}",
        )
    _check_graph(graph, set(domains), feature_count)
    return ir_version, default


def _opsets(model: Fields) -> dict[str, int]:
    domains: dict[str, int] = {}
    for entry in _repeated(model, 8, "opset_import"):
        fields = _fields(entry, "an opset_import")
        domain = _text(_optional(fields, 1, _LEN), "an opset domain")
        version = _optional(fields, 2, _VARINT)
        if domain not in ALLOWED_DOMAINS:
            raise _reject(
                "onnx-unsupported",
                f"imports operator domain {domain!r}; only ai.onnx and ai.onnx.ml are served",
            )
        if not isinstance(version, int):
            raise _reject("invalid-onnx", f"imports domain {domain!r} without a version")
        domains[domain] = version
    return domains


def _check_graph(graph: Fields, domains: set[str], feature_count: int | None) -> None:
    initializers = set()
    for tensor in _repeated(graph, 5, "initializer"):
        fields = _fields(tensor, "an initializer")
        name = _text(_optional(fields, 8, _LEN), "an initializer name")
        if _optional(fields, 14, _VARINT) == _EXTERNAL or _repeated(fields, 13, "external_data"):
            raise _reject(
                "onnx-external-data",
                f"keeps initializer {name!r} in another file; the function loads "
                f"{ONNX_MEMBER} alone",
            )
        initializers.add(name)
    for sparse in _repeated(graph, 15, "sparse_initializer"):
        values = _optional(_fields(sparse, "a sparse initializer"), 1, _LEN)
        tensor = _fields(values, "a sparse initializer") if values is not None else []
        initializers.add(_text(_optional(tensor, 8, _LEN), "a sparse initializer name"))
    inputs = [_value_info(v) for v in _repeated(graph, 11, "input")]
    fed = [i for i in inputs if i[0] not in initializers]
    outputs = [_value_info(v) for v in _repeated(graph, 12, "output")]
    _check_interface(fed, outputs, feature_count)
    defined = {name for name, _, _ in inputs} | initializers
    nodes = _repeated(graph, 1, "node")
    if not nodes:
        raise _reject("invalid-onnx", "has a graph without nodes")
    for index, node in enumerate(nodes):
        fields = _fields(node, f"node {index}")
        domain = _text(_optional(fields, 7, _LEN), "a node domain")
        if domain not in domains and not (domain in DEFAULT_DOMAINS and domains & DEFAULT_DOMAINS):
            raise _reject("invalid-onnx", f"has node {index} in domain {domain!r}, not imported")
        for value in _repeated(fields, 1, "node input"):
            name = _text(value, "a node input")
            if name and name not in defined:
                raise _reject(
                    "invalid-onnx",
                    f"has node {index} reading {name!r}, which no input, initializer or "
                    "earlier node defines",
                )
        defined |= {_text(v, "a node output") for v in _repeated(fields, 2, "node output")}
    if OUTPUT_NAME not in defined:
        raise _reject("invalid-onnx", f"has no node producing the output {OUTPUT_NAME!r}")


def _check_interface(
    inputs: list[tuple[str, int | None, list[int | None] | None]],
    outputs: list[tuple[str, int | None, list[int | None] | None]],
    feature_count: int | None,
) -> None:
    if [i[0] for i in inputs] != [INPUT_NAME] or [o[0] for o in outputs] != [OUTPUT_NAME]:
        raise _reject(
            "onnx-interface",
            f"takes {[i[0] for i in inputs]} and returns {[o[0] for o in outputs]}; the "
            f"function feeds [{INPUT_NAME!r}] and reads [{OUTPUT_NAME!r}]",
        )
    _, kind, shape = inputs[0]
    if kind != _FLOAT or shape is None or len(shape) != 2:
        raise _reject("onnx-interface", f"takes {INPUT_NAME!r} that is not float32 [batch, n]")
    if shape[0] is not None:
        raise _reject("onnx-interface", f"takes {INPUT_NAME!r} in batches of exactly {shape[0]}")
    if feature_count is not None and shape[1] != feature_count:
        raise _reject(
            "onnx-interface",
            f"takes {shape[1]} features in {INPUT_NAME!r}; the model takes {feature_count}",
        )
    _, kind, shape = outputs[0]
    if (
        kind != _FLOAT
        or shape is None
        or len(shape) not in (1, 2)
        or shape[1:] not in ([], [1], [None])
    ):
        raise _reject("onnx-interface", f"returns {OUTPUT_NAME!r} that is not float32 [batch, 1]")


def _value_info(data: Any) -> tuple[str, int | None, list[int | None] | None]:
    """(name, element type, dims: an int or None when symbolic) of a ValueInfoProto."""
    fields = _fields(data, "a value info")
    name = _text(_optional(fields, 1, _LEN), "a value name")
    kind, dims = None, None
    type_proto = _optional(fields, 2, _LEN)
    tensor = _optional(_fields(type_proto, "a type"), 1, _LEN) if type_proto is not None else None
    if tensor is not None:
        tensor_fields = _fields(tensor, "a tensor type")
        kind = _optional(tensor_fields, 1, _VARINT)
        shape = _optional(tensor_fields, 2, _LEN)
        if shape is not None:
            dims = [
                _optional(_fields(d, "a dimension"), 1, _VARINT)
                for d in _repeated(_fields(shape, "a shape"), 1, "dim")
            ]
    return name, kind, dims


# -- protobuf wire format -------------------------------------------------------------------


def _fields(data: Any, where: str) -> Fields:
    """(field number, wire type, value) of every field of one message, in order."""
    view = memoryview(data)
    fields: Fields = []
    position, end = 0, len(view)
    while position < end:
        key, position = _varint(view, position, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _reject("invalid-onnx", f"is not a protobuf ({where} has a field numbered 0)")
        value: Any
        if wire == _VARINT:
            value, position = _varint(view, position, where)
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
            value, position = view[position : position + size], position + size
        elif wire == _LEN:
            size, position = _varint(view, position, where)
            value, position = view[position : position + size], position + size
        else:
            raise _reject("invalid-onnx", f"is not an ONNX protobuf ({where} has wire type {wire})")
        if position > end:
            raise _reject("invalid-onnx", f"is truncated or corrupt ({where} ends inside a field)")
        fields.append((number, wire, value))
    return fields


def _varint(view: memoryview, position: int, where: str) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if position >= len(view):
            raise _reject("invalid-onnx", f"is truncated or corrupt ({where} ends inside a number)")
        byte = view[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise _reject("invalid-onnx", f"is corrupt ({where} has a number over 10 bytes)")


def _repeated(fields: Fields, number: int, name: str) -> list[Any]:
    values = [value for n, wire, value in fields if n == number]
    if any(wire != _LEN for n, wire, _ in fields if n == number):
        raise _reject("invalid-onnx", f"is not an ONNX model ({name} has the wrong wire type)")
    return values


def _optional(fields: Fields, number: int, wire: int) -> Any:
    """The last value of a field (protobuf's rule for repeated scalars), or None."""
    found = None
    for n, w, value in fields:
        if n == number:
            if w != wire:
                raise _reject(
                    "invalid-onnx", f"is not an ONNX model (field {number}: wire type {w})"
                )
            found = value
    return found


def _single(fields: Fields, number: int, wire: int, name: str) -> Any:
    value = _optional(fields, number, wire)
    if value is None:
        raise _reject("invalid-onnx", f"is not an ONNX model (it has no {name})")
    return value


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise _reject("invalid-onnx", f"is corrupt ({what} is not UTF-8)") from None
