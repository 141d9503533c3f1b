"""Each framework's model member, checked by structure and declared format, never loaded.

The promotion function validates ``model.tar.gz`` with the standard library alone (no numpy,
torch, xgboost or scikit-learn) and must never run the model's code: no unpickling, no
TorchScript loading. What each framework's archive must hold and what is checked of it:

- ``tensorflow``: ``<N>/saved_model.pb`` and ``code/inference.py`` (TensorFlow Serving's
  handlers); checked by ``serving_core.artifact`` as before frameworks were declared.
- ``pytorch``: ``model.pt``, a TorchScript archive (``torch.jit.save``): a zip whose entries
  all lie under one folder holding ``data.pkl``, ``constants.pkl``, ``version`` (a number) and
  the compiled ``code/**/*.py``. Checked by listing the zip (its central directory and the
  ``version`` entry), never by unpickling: a ``torch.save`` of a state dict or a pickled module
  has no ``code/`` and is refused. The input width is not readable without loading it; it is
  checked on ``model.onnx`` when the archive carries one (the trainer exports it).
- ``xgboost``: ``model.json``, XGBoost's own JSON model format (``Booster.save_model``; UBJSON
  and pickles are refused): parsed with ``json``; ``learner`` with a ``binary:logistic``
  objective, trees, ``num_feature`` equal to the model's feature count, and its
  ``feature_names`` (when saved) equal to ``code/serving_config.json``'s.
- ``sklearn``: ``model.joblib`` is a pickle, which only the serving container loads. The
  validator trusts the declared format beside it instead: ``model.onnx`` (required), checked by
  ``serving_core.onnx_member`` (structure, input width = feature count, the packaging step's
  evidence that it gives the pipeline's probabilities on the held-out rows), and
  ``framework.model_sha256`` in metrics.json, which must be the sha256 of this
  ``model.joblib``: the pickle is the very file that evidence was measured on. Like the test
  AUC, that evidence comes from the training run; the gate catches mistakes (a stale, swapped
  or truncated file, a model of another width), not a hostile uploader, whom the bucket's
  permissions keep out.

The three script-mode frameworks also need ``code/inference.py`` (``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``) with ``code/script_mode.py`` and ``code/serving_io.py``, which it
imports; scikit-learn needs ``code/requirements.txt`` (the versions the pickle was written
with). ``metrics.json``'s ``framework`` section, when present, must name the configured
framework, its model member and format.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any

from serving_core.errors import ArtifactRejectedError

_SCRIPT_MODE_CODE = ("code/inference.py", "code/script_mode.py", "code/serving_io.py")
#: XGBoost JSON is parsed in memory; the example model is about 200 KB.
MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024
_TORCHSCRIPT_VERSION = re.compile(rb"^\s*[0-9]{1,4}\s*$")


@dataclass(frozen=True)
class FrameworkLayout:
    """What one framework's archive holds and which serving image runs it."""

    name: str
    #: The model member at the archive root (None: TensorFlow's ``<N>/`` SavedModel).
    model_member: str | None
    model_format: str
    image: str
    code: tuple[str, ...]
    #: ``model.onnx`` is the declared format the validator checks (the model itself is a pickle).
    requires_onnx: bool = False


LAYOUTS = {
    "tensorflow": FrameworkLayout(
        "tensorflow", None, "savedmodel", "TensorFlow Serving", ("code/inference.py",)
    ),
    "pytorch": FrameworkLayout(
        "pytorch", "model.pt", "torchscript", "PyTorch inference", _SCRIPT_MODE_CODE
    ),
    "xgboost": FrameworkLayout(
        "xgboost", "model.json", "xgboost-json", "XGBoost", _SCRIPT_MODE_CODE
    ),
    "sklearn": FrameworkLayout(
        "sklearn",
        "model.joblib",
        "joblib",
        "scikit-learn",
        (*_SCRIPT_MODE_CODE, "code/requirements.txt"),
        requires_onnx=True,
    ),
}


FRAMEWORKS = tuple(LAYOUTS)


def layout_for(framework: str) -> FrameworkLayout:
    if framework not in LAYOUTS:
        raise ValueError(f"unknown framework {framework!r}; one of {', '.join(FRAMEWORKS)}")
    return LAYOUTS[framework]


@dataclass(frozen=True)
class ModelReport:
    """The model member as checked (script-mode frameworks)."""

    framework: str
    member: str
    model_format: str
    sha256: str
    size_bytes: int
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        fields = {k: v for k, v in vars(self).items() if k != "details"}
        return fields | self.details


@dataclass
class SpooledMember:
    """The model member as read from the archive (a seekable copy and its digest)."""

    handle: IO[bytes]
    size: int
    sha256: str


def check_code(layout: FrameworkLayout, names: set[str]) -> None:
    """The serving image's code must be in the archive."""
    for member in layout.code:
        if member not in names:
            raise ArtifactRejectedError(
                "missing-inference-code",
                f"{member} is missing (the {layout.name} artifact's code for SageMaker's "
                f"{layout.image} image)",
            )


def check_declared(layout: FrameworkLayout, metrics: dict[str, Any] | None) -> None:
    """metrics.json's ``framework`` section (when present) must be the configured framework's."""
    declared = metrics.get("framework") if isinstance(metrics, dict) else None
    if declared is None:
        if metrics is not None and layout.name != "tensorflow":
            raise ArtifactRejectedError(
                "undeclared-framework",
                f"metrics.json has no 'framework' section; a {layout.name} model must declare "
                "its framework, model member and format",
            )
        return
    if not isinstance(declared, dict):
        raise ArtifactRejectedError("invalid-metrics", "metrics.json 'framework' is not an object")
    name = declared.get("name")
    if name != layout.name:
        raise ArtifactRejectedError(
            "framework-mismatch",
            f"metrics.json declares framework {name!r} but this endpoint serves {layout.name!r} "
            f"(SageMaker's {layout.image} image)",
        )
    expected_values = {"model_format": layout.model_format}
    if layout.model_member is not None:  # TensorFlow's version directory is found by listing
        expected_values["model_member"] = layout.model_member
    for key, expected in expected_values.items():
        value = declared.get(key)
        if value != expected:
            raise ArtifactRejectedError(
                "framework-mismatch",
                f"metrics.json declares {key} {value!r}; a {layout.name} model is {expected!r}",
            )


def check_model(
    layout: FrameworkLayout,
    member: SpooledMember | None,
    metrics: dict[str, Any] | None,
    feature_count: int | None,
    feature_names: list[str] | None,
) -> ModelReport | None:
    """The model member checked by structure; None for TensorFlow (checked by the caller)."""
    if layout.model_member is None:
        return None
    if member is None:
        raise ArtifactRejectedError(
            "missing-model",
            f"{layout.model_member} is missing (the {layout.name} model, {layout.model_format})",
        )
    _check_digest(layout, member, metrics)
    details: dict[str, Any] = {}
    if layout.name == "pytorch":
        details = _check_torchscript(member.handle)
    elif layout.name == "xgboost":
        details = _check_xgboost(member, feature_count, feature_names)
    return ModelReport(
        layout.name, layout.model_member, layout.model_format, member.sha256, member.size, details
    )


def _check_digest(
    layout: FrameworkLayout, member: SpooledMember, metrics: dict[str, Any] | None
) -> None:
    declared = metrics.get("framework") if isinstance(metrics, dict) else None
    digest = declared.get("model_sha256") if isinstance(declared, dict) else None
    if digest is None:
        if layout.requires_onnx and metrics is not None:
            raise ArtifactRejectedError(
                "model-unverified",
                f"metrics.json has no framework.model_sha256: nothing ties {layout.model_member} "
                "to the model.onnx it is validated by",
            )
        return
    if digest != member.sha256:
        raise ArtifactRejectedError(
            "model-sha256-mismatch",
            f"{layout.model_member} has sha256 {member.sha256[:16]}..., not the "
            f"{str(digest)[:16]}... metrics.json was measured on (a stale or swapped model)",
        )


def _check_torchscript(handle: IO[bytes]) -> dict[str, Any]:
    def reject(reason: str) -> ArtifactRejectedError:
        return ArtifactRejectedError("invalid-torchscript", f"model.pt {reason}")

    try:
        with zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
            roots = {name.split("/", 1)[0] for name in names}
            if len(roots) != 1 or any("/" not in name for name in names):
                raise reject("is not a TorchScript archive (its entries are not under one folder)")
            root = roots.pop()
            code = [n for n in names if n.startswith(f"{root}/code/") and n.endswith(".py")]
            if not code:
                raise reject(
                    f"has no compiled code ({root}/code/*.py): a state dict or a pickled module "
                    "is not TorchScript (save it with torch.jit.save)"
                )
            missing = [
                f"{root}/{entry}"
                for entry in ("data.pkl", "constants.pkl", "version")
                if f"{root}/{entry}" not in names
            ]
            if missing:
                raise reject(f"is not a TorchScript archive (it lacks {', '.join(missing)})")
            info = archive.getinfo(f"{root}/version")
            if info.file_size > 16:
                raise reject("has a version entry that is not a number")
            version = archive.read(info)
    except zipfile.BadZipFile as error:
        raise reject(f"is not a zip archive ({error})") from None
    if not _TORCHSCRIPT_VERSION.match(version):
        raise reject("has a version entry that is not a number")
    return {"torchscript_version": int(version), "code_files": len(code)}


def _check_xgboost(
    member: SpooledMember, feature_count: int | None, feature_names: list[str] | None
) -> dict[str, Any]:
    def reject(code: str, reason: str) -> ArtifactRejectedError:
        return ArtifactRejectedError(code, f"model.json {reason}")

    if member.size > MAX_MODEL_JSON_BYTES:
        raise reject("invalid-xgboost-model", f"is larger than {MAX_MODEL_JSON_BYTES} bytes")
    member.handle.seek(0)
    try:  # json.loads detects UTF-8/16/32; UnicodeDecodeError is a ValueError too
        document = json.loads(member.handle.read())
    except ValueError as error:
        message = f"is not XGBoost JSON ({error}; UBJSON is not accepted)"
        raise reject("invalid-xgboost-model", message) from None
    learner = document.get("learner") if isinstance(document, dict) else None
    if not isinstance(learner, dict):
        raise reject("invalid-xgboost-model", "has no 'learner' (not an XGBoost JSON model)")
    params = learner.get("learner_model_param")
    objective = learner.get("objective")
    booster = learner.get("gradient_booster")
    if not isinstance(params, dict) or not isinstance(booster, dict):
        raise reject("invalid-xgboost-model", "has no learner_model_param or gradient_booster")
    name = objective.get("name") if isinstance(objective, dict) else None
    if name != "binary:logistic":
        raise reject(
            "invalid-xgboost-model",
            f"has objective {name!r}; the serving script reads predict() as the probability of "
            "class 1, which needs binary:logistic",
        )
    trees = (
        booster.get("model", {}).get("trees") if isinstance(booster.get("model"), dict) else None
    )
    if not isinstance(trees, list) or not trees:
        raise reject("invalid-xgboost-model", "has no trees")
    try:
        width = int(params.get("num_feature"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise reject("invalid-xgboost-model", "has no numeric num_feature") from None
    if feature_count is not None and width != feature_count:
        raise reject(
            "feature-count-mismatch",
            f"takes {width} features (num_feature); the model's callers send {feature_count}",
        )
    names = learner.get("feature_names") or []
    if names and feature_names is not None and list(names) != list(feature_names):
        raise reject(
            "feature-names-mismatch",
            "names its features differently from code/serving_config.json",
        )
    return {"num_feature": width, "trees": len(trees), "objective": name}


def spool_digest(handle: IO[bytes], target: IO[bytes]) -> tuple[int, str]:
    """Copy ``handle`` into ``target`` in blocks; the size and sha256 of what was copied."""
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(block)
        target.write(block)
        size += len(block)
    target.seek(0)
    return size, digest.hexdigest()
