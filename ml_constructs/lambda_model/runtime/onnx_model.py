"""The model, loaded once per container: ``model.onnx`` and ``code/serving_config.json`` from the
validated ``model.tar.gz``, scored with onnxruntime.

Why the artifact tarball (from S3 at cold start, or a path in the package) rather than a bare
``model.onnx`` built into the function: the promotion validates one file, ``model.tar.gz``, and
its sha256 names the release; reading that same file (its digest pinned by ``MODEL_SHA256``)
serves exactly what was validated, keeps the ONNX graph with the decision threshold and feature
names it was trained with, and lets a promotion publish a function version by changing two
variables instead of rebuilding a ~70 MB package. The cost is one GetObject of ~100 KB at
cold start.

The threshold and output shape follow ``model_code/inference.py``: ``{"probability": p,
"label": 1 if p >= threshold else 0}``, ``p`` the float32 probability as a Python float (what
the TensorFlow path's JSON carries).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from serving_core.errors import ArtifactRejectedError
from serving_core.onnx_member import (
    INPUT_NAME,
    MAX_ONNX_BYTES,
    ONNX_MEMBER,
    OUTPUT_NAME,
    check_structure,
)

SERVING_CONFIG = "code/serving_config.json"
_MAX_CONFIG_BYTES = 1024 * 1024


class ModelLoadError(Exception):
    """The artifact cannot be read, is not the validated one, or does not fit the function."""


@dataclass(frozen=True)
class Prediction:
    """One row's answer, as inference.py writes it."""

    probability: float
    label: int

    def as_dict(self) -> dict[str, Any]:
        return {"probability": self.probability, "label": self.label}


class OnnxModel:
    """An onnxruntime session with the model's serving settings."""

    def __init__(
        self,
        session: Any,
        threshold: float,
        feature_names: tuple[str, ...],
        artifact_sha256: str,
    ) -> None:
        self.session = session
        self.threshold = threshold
        self.feature_names = feature_names
        self.artifact_sha256 = artifact_sha256

    def probabilities(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """float32 probabilities of ``rows`` as Python floats (exceptions: the model's)."""
        import numpy as np

        features = np.asarray(rows, dtype=np.float32)
        (output,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: features})
        return [float(p) for p in np.asarray(output, dtype=np.float32).reshape(-1)]

    def predict(self, rows: Sequence[Sequence[float]]) -> list[Prediction]:
        return [Prediction(p, 1 if p >= self.threshold else 0) for p in self.probabilities(rows)]


def fetch(url: str, s3: Any) -> bytes:
    """The artifact's bytes: ``s3://bucket/key`` through ``s3`` (a boto3 client), or a file."""
    if url.startswith("s3://"):
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except Exception as error:  # botocore's ClientError/BotoCoreError: not imported here
            raise ModelLoadError(f"cannot read {url} ({type(error).__name__}: {error})") from None
    try:
        with open(url, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ModelLoadError(f"cannot read {url} ({error})") from None


def load(
    archive: bytes, feature_count: int, expected_sha256: str = "", threads: int = 1
) -> OnnxModel:
    """The model in ``archive`` (model.tar.gz bytes), checked against the function's settings."""
    digest = hashlib.sha256(archive).hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise ModelLoadError(
            f"the artifact's sha256 is {digest}, not the validated {expected_sha256}"
        )
    onnx_bytes, config = _members(archive)
    names = config.get("feature_names")
    feature_names = tuple(str(n) for n in names) if isinstance(names, list) else ()
    count = config.get("n_features", len(feature_names))
    if count != feature_count:
        raise ModelLoadError(
            f"{SERVING_CONFIG} says the model takes {count} features; the function is "
            f"configured for {feature_count}"
        )
    try:
        check_structure(onnx_bytes, feature_count)
    except ArtifactRejectedError as error:
        raise ModelLoadError(error.reason) from None
    threshold = config.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ModelLoadError(f"{SERVING_CONFIG}: threshold {threshold!r} is not a number")
    return OnnxModel(_session(onnx_bytes, threads), float(threshold), feature_names, digest)


def _members(archive: bytes) -> tuple[bytes, dict[str, Any]]:
    """``model.onnx`` and the serving config, read from the stream (nothing is extracted)."""
    wanted = {ONNX_MEMBER: MAX_ONNX_BYTES, SERVING_CONFIG: _MAX_CONFIG_BYTES}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r|gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name not in wanted or not member.isfile():
                    continue
                if member.size > wanted[name]:
                    raise ModelLoadError(f"{name} is larger than {wanted[name]} bytes")
                handle = tar.extractfile(member)
                found[name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ModelLoadError(f"model.tar.gz cannot be read ({error})") from None
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ModelLoadError(f"model.tar.gz lacks {', '.join(missing)}")
    try:
        config = json.loads(found[SERVING_CONFIG].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelLoadError(f"{SERVING_CONFIG} is not JSON ({error})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{SERVING_CONFIG} is not a JSON object")
    return found[ONNX_MEMBER], config


def _session(onnx_bytes: bytes, threads: int) -> Any:
    """A CPU session tuned for small requests: sequential, ``threads`` intra-op threads and no
    spinning (Lambda bills wall time and shares vCPUs: a spinning pool burns them idle)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: the log is the function's JSON lines
    try:
        return onnxruntime.InferenceSession(
            onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's own exception types (Fail, InvalidGraph, ...)
        raise ModelLoadError(f"onnxruntime cannot load {ONNX_MEMBER} ({error})") from None
