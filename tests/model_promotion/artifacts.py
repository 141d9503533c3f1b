"""Hand-built model.tar.gz archives (no TensorFlow): a valid one and malformed variants."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Callable, Iterable

FEATURES = 30
Member = tuple[str, bytes]


def metrics(auc: float = 0.97, n_features: int = FEATURES) -> bytes:
    return json.dumps(
        {
            "test": {"roc_auc": auc, "accuracy": 0.93},
            "baseline": {"roc_auc": 0.95, "accuracy": 0.9},
            "data": {"n_features": n_features},
        }
    ).encode()


def serving_config(n_features: int = FEATURES) -> bytes:
    names = [f"f{i}" for i in range(n_features)]
    return json.dumps({"feature_names": names, "n_features": n_features}).encode()


def valid_members() -> list[Member]:
    return [
        ("1/saved_model.pb", b"\x08\x01fake-saved-model"),
        ("1/variables/variables.index", b"index"),
        ("1/variables/variables.data-00000-of-00001", b"\x00" * 64),
        ("code/inference.py", b"def input_handler(data, context):\n    return data\n"),
        ("code/serving_config.json", serving_config()),
        ("metrics.json", metrics()),
    ]


def _torchscript() -> bytes:
    """A zip laid out as ``torch.jit.save`` writes it (the validator lists it, never loads it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (
            ("model/data.pkl", b"pickle"),
            ("model/constants.pkl", b"pickle"),
            ("model/version", b"3\n"),
            ("model/code/__torch__.py", b"class Classifier: pass\n"),
        ):
            archive.writestr(name, data)
    return buffer.getvalue()


def _xgboost_json() -> bytes:
    """XGBoost JSON by structure: a binary:logistic learner with trees over 30 features."""
    learner = {
        "learner_model_param": {"num_feature": str(FEATURES)},
        "objective": {"name": "binary:logistic"},
        "gradient_booster": {"model": {"trees": [{"id": 0}]}},
    }
    return json.dumps({"learner": learner}).encode()


#: Each script-mode framework's model member, its declared format and hand-built bytes.
SCRIPT_MODE_MODELS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    "pytorch": ("model.pt", "torchscript", _torchscript),
    "xgboost": ("model.json", "xgboost-json", _xgboost_json),
    "sklearn": ("model.joblib", "joblib", lambda: b"a pickle the validator never loads"),
}


def script_mode_members(framework: str = "xgboost") -> list[Member]:
    """A script-mode artifact the validator accepts for ``framework``: its model member (by
    structure), the handler code and a metrics.json that declares the framework and the
    model's digest; scikit-learn's also ``model.onnx`` with its evidence (the validator's
    stand-in for the pickle) and ``code/requirements.txt``."""
    member, model_format, make = SCRIPT_MODE_MODELS[framework]
    model = make()
    declared = json.loads(metrics())
    declared["framework"] = {
        "name": framework,
        "model_member": member,
        "model_format": model_format,
        "model_sha256": hashlib.sha256(model).hexdigest(),
    }
    members = [
        (member, model),
        ("code/inference.py", b"def model_fn(model_dir):\n    return model_dir\n"),
        ("code/script_mode.py", b"# shared handler code\n"),
        ("code/serving_io.py", b"# request parsing\n"),
        ("code/serving_config.json", serving_config()),
    ]
    if framework == "sklearn":
        from tests.lambda_model.test_onnx_member import metrics_with, tiny_onnx

        onnx = tiny_onnx()
        declared["onnx"] = json.loads(metrics_with(onnx))["onnx"]
        members += [("model.onnx", onnx), ("code/requirements.txt", b"scikit-learn==1.7.2\n")]
    return [*members, ("metrics.json", json.dumps(declared).encode())]


def baseline_members(names: list[str] | None = None, tag: str = "") -> list[Member]:
    """A minimal Model Monitor baseline (``tag`` makes two baselines differ)."""
    names = names if names is not None else [f"f{i}" for i in range(FEATURES)]
    statistics = {"version": 0.0, "tag": tag, "features": [{"name": n} for n in names]}
    quality = {"binary_classification_constraints": {"auc": {"threshold": 0.9}}}
    return [
        ("monitoring/data-quality/statistics.json", json.dumps(statistics).encode()),
        ("monitoring/data-quality/constraints.json", b'{"version": 0.0, "features": []}'),
        ("monitoring/model-quality/statistics.json", b'{"version": 0.0}'),
        ("monitoring/model-quality/constraints.json", json.dumps(quality).encode()),
        (
            "monitoring/preprocessor.py",
            b"def preprocess_handler(record, logger=None):\n    return []\n",
        ),
    ]


REFERENCE_ROWS = "monitoring/reference/features.csv"


def reference_rows(names: list[str] | None = None, rows: int = 3, tag: str = "") -> Member:
    """The training rows the in-account monitor compares traffic with (CSV with a header)."""
    names = names if names is not None else [f"f{i}" for i in range(FEATURES)]
    offset = float(len(tag))
    lines = [",".join(names)] + [
        ",".join(str(offset + r + i / 10) for i in range(len(names))) for r in range(rows)
    ]
    return REFERENCE_ROWS, ("\n".join(lines) + "\n").encode()


def with_baseline(tag: str = "", reference: bool = False) -> bytes:
    """A valid artifact that carries a monitoring baseline (and its reference rows)."""
    extra = [reference_rows(tag=tag)] if reference else []
    return build([*valid_members(), *baseline_members(tag=tag), *extra])


def build(
    members: Iterable[Member] | None = None,
    extra: Callable[[tarfile.TarFile], None] | None = None,
) -> bytes:
    """A gzip tar with ``members`` (default: a valid artifact) and ``extra`` raw entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in valid_members() if members is None else members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra is not None:
            extra(tar)
    return gzip.compress(buffer.getvalue(), mtime=0)


def with_entry(
    name: str, kind: bytes, linkname: str = "", data: bytes = b""
) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    return add


def replacing(name: str, data: bytes) -> list[Member]:
    return [(n, data if n == name else d) for n, d in valid_members()]


def without(*names: str) -> list[Member]:
    return [(n, d) for n, d in valid_members() if n not in names]


def malformed() -> dict[str, tuple[bytes, str]]:
    """Name -> (artifact bytes, the rejection code it must get)."""
    valid = build()
    return {
        "path-traversal": (
            build(extra=with_entry("../../etc/cron.d/x", tarfile.REGTYPE, data=b"x")),
            "path-traversal",
        ),
        "absolute-path": (
            build(extra=with_entry("/etc/passwd", tarfile.REGTYPE, data=b"x")),
            "absolute-path",
        ),
        "symlink": (
            build(extra=with_entry("1/variables/evil", tarfile.SYMTYPE, "/etc/shadow")),
            "link",
        ),
        "hardlink": (
            build(extra=with_entry("code/inference2.py", tarfile.LNKTYPE, "code/inference.py")),
            "link",
        ),
        "device-file": (build(extra=with_entry("1/dev", tarfile.CHRTYPE)), "special-file"),
        "fifo": (build(extra=with_entry("1/pipe", tarfile.FIFOTYPE)), "special-file"),
        "missing-savedmodel": (build(without("1/saved_model.pb")), "missing-savedmodel"),
        "unnumbered-savedmodel": (
            build([("model/saved_model.pb", b"x"), *without("1/saved_model.pb")]),
            "missing-savedmodel",
        ),
        "missing-inference-code": (build(without("code/inference.py")), "missing-inference-code"),
        "wrong-feature-count": (
            build(replacing("code/serving_config.json", serving_config(12))),
            "feature-count-mismatch",
        ),
        "metrics-below-floor": (build(replacing("metrics.json", metrics(0.71))), "auc-below-floor"),
        "metrics-not-json": (build(replacing("metrics.json", b"{not json")), "invalid-metrics"),
        "metrics-without-auc": (
            build(replacing("metrics.json", b'{"test": {"accuracy": 0.9}}')),
            "missing-auc",
        ),
        "metrics-auc-not-a-number": (
            build(replacing("metrics.json", b'{"test": {"roc_auc": "0.99"}}')),
            "invalid-metrics",
        ),
        "missing-metrics": (build(without("metrics.json")), "missing-metrics"),
        "incomplete-baseline": (
            build([*valid_members(), *baseline_members()[:2]]),
            "incomplete-baseline",
        ),
        "baseline-not-json": (
            build(
                [
                    *valid_members(),
                    *[
                        (n, b"{oops" if n.endswith("constraints.json") else d)
                        for n, d in baseline_members()
                    ],
                ]
            ),
            "invalid-baseline",
        ),
        "baseline-of-other-features": (
            build([*valid_members(), *baseline_members([f"x{i}" for i in range(FEATURES)])]),
            "baseline-features-mismatch",
        ),
        "reference-rows-of-other-features": (
            build(
                [
                    *valid_members(),
                    *baseline_members(),
                    reference_rows([f"x{i}" for i in range(FEATURES)]),
                ]
            ),
            "invalid-baseline",
        ),
        "reference-rows-not-numbers": (
            build(
                [
                    *valid_members(),
                    *baseline_members(),
                    (REFERENCE_ROWS, reference_rows()[1].replace(b"0.1", b"abc", 1)),
                ]
            ),
            "invalid-baseline",
        ),
        "reference-rows-without-baseline": (
            build([*valid_members(), reference_rows()]),
            "incomplete-baseline",
        ),
        "preprocessor-not-python": (
            build(
                [
                    *valid_members(),
                    *[(n, b"def (:" if n.endswith(".py") else d) for n, d in baseline_members()],
                ]
            ),
            "invalid-baseline",
        ),
        "newline-in-name": (
            build(extra=with_entry("code/x\nforged log line", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        "carriage-return-in-name": (
            build(extra=with_entry("code/x\r.py", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        # A NUL survives in a PAX path record (a plain header field would end at it).
        "nul-in-name": (
            build(extra=with_entry("code/" + "a" * 120 + "\x00.py", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        "escape-sequence-in-name": (
            build(extra=with_entry("code/\x1b[31mred.py", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        "c1-control-in-name": (
            build(extra=with_entry("code/next\x85line.py", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        "line-separator-in-name": (
            build(extra=with_entry("code/a\u2028b.py", tarfile.REGTYPE, data=b"x")),
            "control-character-in-name",
        ),
        # Raw byte 0xff: not UTF-8 (tarfile carries it as a lone surrogate).
        "non-utf8-name": (
            build(extra=with_entry("code/\udcff.py", tarfile.REGTYPE, data=b"x")),
            "name-not-utf8",
        ),
        "truncated-gzip": (valid[: len(valid) // 2], "truncated"),
        "not-gzip": (b"PK\x03\x04 this is a zip file" + b"\x00" * 64, "not-gzip"),
        "gzip-not-tar": (gzip.compress(b"just some text, not a tar archive" * 40), "not-a-tar"),
        "empty-object": (b"", "empty"),
        "empty-archive": (build([]), "empty"),
        "duplicate-member": (
            build([*valid_members(), ("code/inference.py", b"print('shadowed')")]),
            "duplicate-member",
        ),
    }
