"""Validation of an uploaded ``model.tar.gz`` before anything about the endpoint changes.

The archive is read, never extracted: every member is checked for a safe relative
path and a plain file/directory type, then the layout the configured framework's SageMaker
container needs (``ArtifactRules.framework``: TensorFlow Serving's ``<N>/saved_model.pb`` and
``code/inference.py``; PyTorch's, XGBoost's and scikit-learn's model member and script-mode
code, checked by structure and declared format in ``serving_core.model_formats``, never
loaded) and the quality evidence that may come with it (``metrics.json``,
``code/serving_config.json``), and the ONNX copy that a Lambda-hosted variant serves
(``model.onnx``: ``serving_core.onnx_member``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import tarfile
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from serving_core.baseline import ALL_MEMBERS, MAX_MEMBER_BYTES, check_baseline
from serving_core.errors import ArtifactRejectedError
from serving_core.model_formats import (
    FRAMEWORKS,
    FrameworkLayout,
    ModelReport,
    SpooledMember,
    check_code,
    check_declared,
    check_model,
    layout_for,
    spool_digest,
)
from serving_core.onnx_member import (
    MAX_ABS_DIFF,
    MAX_ONNX_BYTES,
    ONNX_MEMBER,
    OnnxReport,
    check_onnx,
    check_size,
)

__all__ = [
    "FRAMEWORKS",
    "ArtifactRejectedError",
    "ArtifactReport",
    "ArtifactRules",
    "validate_artifact",
]

GZIP_MAGIC = b"\x1f\x8b"
_VERSION_DIR = re.compile(r"^[0-9]+$")
_MAX_JSON_BYTES = 1024 * 1024
_MAX_MEMBERS = 20_000
# A small archive may expand enormously (a "gzip bomb"); SageMaker unpacks it on the
# instance's disk, so the uncompressed total is bounded too.
UNCOMPRESSED_RATIO = 8
#: inference.py's batch limit when serving_config.json names none.
DEFAULT_MAX_BATCH_ROWS = 1000
# Unicode categories refused in member names: control characters (C0, DEL, C1) and line or
# paragraph separators. They forge log lines and break the tools that list or unpack archives.
_FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
#: The model member is copied to disk past this size while it is read (Lambda's /tmp).
_SPOOL_IN_MEMORY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ArtifactRules:
    """Limits from configuration: size, AUC floor, the model's input width, and what the
    inference API forwards (rows per request, feature names), which the model must accept."""

    max_bytes: int
    min_auc: float
    feature_count: int | None = None
    require_metrics: bool = True
    api_max_rows: int | None = None
    api_feature_names: tuple[str, ...] = ()
    #: A variant served by onnxruntime needs ``model.onnx`` (checked whenever present).
    require_onnx: bool = False
    max_onnx_bytes: int = MAX_ONNX_BYTES
    onnx_max_abs_diff: float = MAX_ABS_DIFF
    #: The framework the endpoint's serving image runs (``serving_core.model_formats``):
    #: ``tensorflow``, ``pytorch``, ``xgboost`` or ``sklearn``.
    framework: str = "tensorflow"

    def __post_init__(self) -> None:
        layout_for(self.framework)  # ValueError for an unknown framework

    @property
    def max_uncompressed_bytes(self) -> int:
        return self.max_bytes * UNCOMPRESSED_RATIO


@dataclass(frozen=True)
class ArtifactReport:
    """What was checked, for the promotion's log, tags and notification."""

    sha256: str
    size_bytes: int
    member_count: int
    #: The SavedModel version directory (TensorFlow) or the model member (the others).
    model_version: str
    roc_auc: float | None
    feature_count: int | None
    #: The Model Monitor baseline members it carries (none for older models).
    baseline: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    #: ``model.onnx`` as checked (None when the archive has none).
    onnx: OnnxReport | None = None
    framework: str = "tensorflow"
    #: The model member as checked (script-mode frameworks; None for TensorFlow).
    model: ModelReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "member_count": self.member_count,
            "model_version": self.model_version,
            "roc_auc": self.roc_auc,
            "feature_count": self.feature_count,
            "baseline": bool(self.baseline),
            "onnx": self.onnx.as_dict() if self.onnx is not None else None,
            "framework": self.framework,
            "model": self.model.as_dict() if self.model is not None else None,
        }


def validate_artifact(path: str, rules: ArtifactRules) -> ArtifactReport:
    """Check the archive at ``path``; raise ArtifactRejectedError with the first problem."""
    with open(path, "rb") as handle:
        head = handle.read(2)
        handle.seek(0, 2)
        size = handle.tell()
    if size == 0:
        raise ArtifactRejectedError("empty", "the object is empty (0 bytes)")
    if size > rules.max_bytes:
        raise ArtifactRejectedError(
            "too-large", f"{size} bytes is above the limit of {rules.max_bytes} bytes"
        )
    if head != GZIP_MAGIC:
        raise ArtifactRejectedError("not-gzip", "the object does not start with the gzip signature")
    layout = layout_for(rules.framework)
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY_BYTES) as spool:
        members, documents, model_member = _read_members(path, rules, layout, spool)
        names = {_normalized(m.name) for m in members}
        if layout.model_member is None:
            version = _saved_model_version(names)
        else:
            version = layout.model_member
        check_code(layout, names)
        auc = _check_metrics(documents.get("metrics.json"), rules)
        features = _check_feature_count(documents, rules)
        _check_serving_limits(documents.get("code/serving_config.json"), rules)
        metrics = _metrics_document(documents)
        check_declared(layout, metrics)
        baseline = check_baseline(documents, _feature_names(documents))
        width = features if features is not None else rules.feature_count
        onnx = check_onnx(
            documents.get(ONNX_MEMBER),
            metrics,
            required=rules.require_onnx or layout.requires_onnx,
            feature_count=width,
            max_abs_diff=rules.onnx_max_abs_diff,
        )
        model = check_model(layout, model_member, metrics, width, _feature_names(documents))
    return ArtifactReport(
        sha256=_sha256(path),
        size_bytes=size,
        member_count=len(members),
        model_version=version,
        roc_auc=auc,
        feature_count=features,
        baseline=baseline,
        onnx=onnx,
        framework=layout.name,
        model=model,
    )


def _read_members(
    path: str, rules: ArtifactRules, layout: FrameworkLayout, spool: IO[bytes]
) -> tuple[list[tarfile.TarInfo], dict[str, bytes], SpooledMember | None]:
    """Walk the whole archive (detects truncation) and keep the members checked below (the
    small JSON documents, the monitoring baseline and model.onnx; the framework's model
    member is copied into ``spool`` with its digest, to be listed or parsed, never loaded)."""
    wanted = {"metrics.json", "code/serving_config.json", ONNX_MEMBER, *ALL_MEMBERS}
    members: list[tarfile.TarInfo] = []
    documents: dict[str, bytes] = {}
    model_member: SpooledMember | None = None
    seen: set[str] = set()
    total = 0
    try:
        # Names are decoded as UTF-8 whatever the locale; bytes that are not UTF-8 become
        # lone surrogates, which _check_member refuses.
        with tarfile.open(path, mode="r|gz", encoding="utf-8", errors="surrogateescape") as archive:
            for member in archive:
                _check_member(member)
                name = _normalized(member.name)
                if name in seen:
                    raise ArtifactRejectedError(
                        "duplicate-member", f"{member.name!r} appears more than once"
                    )
                seen.add(name)
                members.append(member)
                if len(members) > _MAX_MEMBERS:
                    raise ArtifactRejectedError(
                        "too-many-members", f"more than {_MAX_MEMBERS} members"
                    )
                total += member.size
                if total > rules.max_uncompressed_bytes:
                    raise ArtifactRejectedError(
                        "uncompressed-too-large",
                        f"members add up to more than {rules.max_uncompressed_bytes} bytes",
                    )
                if name in wanted and member.isfile():
                    limit = _MAX_JSON_BYTES
                    if name in ALL_MEMBERS:
                        limit = MAX_MEMBER_BYTES
                    elif name == ONNX_MEMBER:
                        check_size(member.size, rules.max_onnx_bytes)
                        limit = rules.max_onnx_bytes
                    documents[name] = _read_document(archive.extractfile(member), name, limit)
                elif name == layout.model_member and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is None:
                        raise ArtifactRejectedError("invalid-document", f"{name} cannot be read")
                    size, digest = spool_digest(handle, spool)
                    model_member = SpooledMember(spool, size, digest)
    except ArtifactRejectedError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ArtifactRejectedError(
            "truncated", f"the gzip stream is truncated or corrupt ({error})"
        ) from None
    except tarfile.ReadError as error:
        message = str(error)
        code = "truncated" if "unexpected end" in message.lower() else "not-a-tar"
        raise ArtifactRejectedError(code, f"not a readable tar archive ({message})") from None
    except (tarfile.TarError, OSError) as error:
        raise ArtifactRejectedError("not-a-tar", f"not a readable tar archive ({error})") from None
    if not members:
        raise ArtifactRejectedError("empty", "the archive has no members")
    return members, documents, model_member


def _check_member(member: tarfile.TarInfo) -> None:
    raw = member.name
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise ArtifactRejectedError(
            "name-not-utf8", f"member {raw!a} has a name that is not valid UTF-8"
        ) from None
    if any(unicodedata.category(char) in _FORBIDDEN_NAME_CATEGORIES for char in raw):
        raise ArtifactRejectedError(
            "control-character-in-name",
            f"member {raw!a} has a control character or line break in its name",
        )
    pure = PurePosixPath(raw)
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        raise ArtifactRejectedError("absolute-path", f"member {raw!r} has an absolute path")
    if ".." in pure.parts or ".." in raw.split("\\"):
        raise ArtifactRejectedError("path-traversal", f"member {raw!r} climbs out with '..'")
    if member.issym() or member.islnk():
        raise ArtifactRejectedError(
            "link", f"member {raw!r} is a link to {member.linkname!r}; links are not allowed"
        )
    if not (member.isfile() or member.isdir()):
        raise ArtifactRejectedError(
            "special-file", f"member {raw!r} is a device, FIFO or other special file"
        )


def _normalized(name: str) -> str:
    """``./1/saved_model.pb`` and ``1/saved_model.pb`` are the same member; no trailing '/'."""
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _saved_model_version(names: set[str]) -> str:
    versions = sorted(
        (p.parts[0] for p in map(PurePosixPath, names) if len(p.parts) == 2),
        key=lambda part: (len(part), part),
    )
    found = [v for v in versions if _VERSION_DIR.match(v) and f"{v}/saved_model.pb" in names]
    if not found:
        raise ArtifactRejectedError(
            "missing-savedmodel",
            "no numbered SavedModel directory (<N>/saved_model.pb) at the archive root",
        )
    return found[-1]


def _read_document(handle: IO[bytes] | None, name: str, limit: int) -> bytes:
    if handle is None:
        raise ArtifactRejectedError("invalid-document", f"{name} cannot be read")
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise ArtifactRejectedError("invalid-document", f"{name} is larger than {limit} bytes")
    return data


def _feature_names(documents: dict[str, bytes]) -> list[str] | None:
    """The model's feature names from code/serving_config.json (validated before)."""
    data = documents.get("code/serving_config.json")
    if data is None:
        return None
    names = _parse_json(data, "code/serving_config.json", "invalid-serving-config").get(
        "feature_names"
    )
    return [str(n) for n in names] if isinstance(names, list) else None


def _metrics_document(documents: dict[str, bytes]) -> dict[str, Any] | None:
    """metrics.json as parsed (validated before, when present)."""
    data = documents.get("metrics.json")
    return None if data is None else _parse_json(data, "metrics.json", "invalid-metrics")


def _parse_json(data: bytes, name: str, code: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactRejectedError(code, f"{name} is not valid JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise ArtifactRejectedError(code, f"{name} must hold a JSON object")
    return parsed


def _check_metrics(data: bytes | None, rules: ArtifactRules) -> float | None:
    if data is None:
        if rules.require_metrics:
            raise ArtifactRejectedError(
                "missing-metrics",
                f"metrics.json is missing, so the quality floor (test ROC AUC >= "
                f"{rules.min_auc:.4f}) cannot be checked; package the training run's "
                "metrics.json (or set promotion.require_metrics: false)",
            )
        return None
    metrics = _parse_json(data, "metrics.json", "invalid-metrics")
    test = metrics.get("test")
    auc = test.get("roc_auc") if isinstance(test, dict) else None
    if auc is None:
        raise ArtifactRejectedError(
            "missing-auc", "metrics.json has no test.roc_auc to check the quality floor"
        )
    if isinstance(auc, bool) or not isinstance(auc, int | float) or not math.isfinite(auc):
        raise ArtifactRejectedError(
            "invalid-metrics", f"metrics.json test.roc_auc {auc!r} is not a finite number"
        )
    if not 0.0 <= auc <= 1.0:
        raise ArtifactRejectedError(
            "invalid-metrics", f"metrics.json test.roc_auc {auc} is not in 0-1"
        )
    if auc < rules.min_auc:
        raise ArtifactRejectedError(
            "auc-below-floor", f"test ROC AUC {auc:.4f} is below the floor {rules.min_auc:.4f}"
        )
    return float(auc)


def _check_feature_count(documents: dict[str, bytes], rules: ArtifactRules) -> int | None:
    """The model's input width, from serving_config.json or metrics.json, must match config."""
    counts: dict[str, int] = {}
    if "code/serving_config.json" in documents:
        config = _parse_json(
            documents["code/serving_config.json"],
            "code/serving_config.json",
            "invalid-serving-config",
        )
        names = config.get("feature_names")
        count = config.get("n_features", len(names) if isinstance(names, list) else None)
        if not isinstance(count, int) or isinstance(count, bool):
            raise ArtifactRejectedError(
                "invalid-serving-config",
                "code/serving_config.json has neither n_features nor feature_names",
            )
        if isinstance(names, list) and len(names) != count:
            raise ArtifactRejectedError(
                "invalid-serving-config",
                f"code/serving_config.json: n_features={count} but {len(names)} feature names",
            )
        counts["code/serving_config.json"] = count
    if "metrics.json" in documents:
        data = _parse_json(documents["metrics.json"], "metrics.json", "invalid-metrics").get("data")
        count = data.get("n_features") if isinstance(data, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            counts["metrics.json"] = count
    if rules.feature_count is not None:
        for source, count in counts.items():
            if count != rules.feature_count:
                raise ArtifactRejectedError(
                    "feature-count-mismatch",
                    f"{source} says the model takes {count} features; the endpoint's "
                    f"callers send {rules.feature_count}",
                )
    return next(iter(counts.values()), None)


def _check_serving_limits(data: bytes | None, rules: ArtifactRules) -> None:
    """Every request the API forwards must be one the model's inference.py accepts: a bad row
    answered by the container is an HTTP 500, which trips the 5XX rollback alarm."""
    if data is None:
        return
    config = _parse_json(data, "code/serving_config.json", "invalid-serving-config")
    batch = config.get("max_batch_rows", DEFAULT_MAX_BATCH_ROWS)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ArtifactRejectedError(
            "invalid-serving-config",
            f"code/serving_config.json: max_batch_rows {batch!r} is not a positive integer",
        )
    if rules.api_max_rows is not None and batch < rules.api_max_rows:
        raise ArtifactRejectedError(
            "batch-limit-below-api",
            f"the model accepts {batch} rows per request but the inference API forwards up "
            f"to {rules.api_max_rows} (api.max_rows): larger batches would fail in the model",
        )
    names = config.get("feature_names")
    if (
        rules.api_feature_names
        and isinstance(names, list)
        and tuple(names) != rules.api_feature_names
    ):
        raise ArtifactRejectedError(
            "feature-names-mismatch",
            "code/serving_config.json orders its features differently from "
            "api.feature_names: rows sent by name would reach the model in the wrong order",
        )


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
