"""The Model Monitor baseline a model carries (``monitoring/`` in ``model.tar.gz``).

A promotion keeps it beside the release copy and, once the endpoint serves the model, makes it
the monitoring schedules' baseline (their job definitions read fixed keys under
``monitoring/baseline/``): what the monitors compare traffic with always belongs to the model
that answers it, and a rolled-back promotion never touches it. Members are optional (older
models have none) but all or nothing, and the baseline must describe the model's features.
The names match ``model_code.package`` (this module runs in Lambda, without ``model_code``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from serving_core.errors import ArtifactRejectedError

MONITORING_DIR = "monitoring/"
DATA_QUALITY_STATISTICS = "monitoring/data-quality/statistics.json"
DATA_QUALITY_CONSTRAINTS = "monitoring/data-quality/constraints.json"
MODEL_QUALITY_STATISTICS = "monitoring/model-quality/statistics.json"
MODEL_QUALITY_CONSTRAINTS = "monitoring/model-quality/constraints.json"
PREPROCESSOR = "monitoring/preprocessor.py"
MEMBERS = (
    DATA_QUALITY_STATISTICS,
    DATA_QUALITY_CONSTRAINTS,
    MODEL_QUALITY_STATISTICS,
    MODEL_QUALITY_CONSTRAINTS,
    PREPROCESSOR,
)
#: The training rows the in-account monitor tests traffic against: optional even within a
#: baseline (models trained before it have none), checked when present.
REFERENCE_ROWS = "monitoring/reference/features.csv"
OPTIONAL_MEMBERS = (REFERENCE_ROWS,)
ALL_MEMBERS = (*MEMBERS, *OPTIONAL_MEMBERS)
MAX_MEMBER_BYTES = 16 * 1024 * 1024


def check_baseline(
    documents: dict[str, bytes], feature_names: list[str] | None
) -> dict[str, bytes]:
    """The baseline members of an archive, checked; empty when it carries none."""
    present = [m for m in MEMBERS if m in documents]
    if not present:
        if REFERENCE_ROWS in documents:
            raise ArtifactRejectedError(
                "incomplete-baseline",
                f"{REFERENCE_ROWS} comes without the rest of {MONITORING_DIR}",
            )
        return {}
    missing = [m for m in MEMBERS if m not in documents]
    if missing:
        raise ArtifactRejectedError(
            "incomplete-baseline",
            f"the monitoring baseline lacks {', '.join(missing)} (all of {MONITORING_DIR} or none)",
        )
    parsed = {m: _json(m, documents[m]) for m in MEMBERS if m.endswith(".json")}
    _check_preprocessor(documents[PREPROCESSOR])
    features = parsed[DATA_QUALITY_STATISTICS].get("features")
    names = (
        [f.get("name") for f in features if isinstance(f, dict)]
        if isinstance(features, list)
        else None
    )
    if not names:
        raise ArtifactRejectedError(
            "invalid-baseline", f"{DATA_QUALITY_STATISTICS} lists no features"
        )
    if feature_names is not None and names != feature_names:
        raise ArtifactRejectedError(
            "baseline-features-mismatch",
            f"{DATA_QUALITY_STATISTICS} describes {len(names)} features that are not the "
            f"model's {len(feature_names)} (code/serving_config.json), in its order",
        )
    if "binary_classification_constraints" not in parsed[MODEL_QUALITY_CONSTRAINTS]:
        raise ArtifactRejectedError(
            "invalid-baseline",
            f"{MODEL_QUALITY_CONSTRAINTS} has no binary_classification_constraints",
        )
    if REFERENCE_ROWS in documents:
        _check_reference_rows(documents[REFERENCE_ROWS], [str(n) for n in names])
    return {m: documents[m] for m in ALL_MEMBERS if m in documents}


def _check_reference_rows(data: bytes, names: list[str]) -> None:
    """A header of the baseline's feature names, then rows of as many finite numbers."""
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ArtifactRejectedError("invalid-baseline", f"{REFERENCE_ROWS} is not UTF-8") from None
    if not lines or lines[0].split(",") != names:
        raise ArtifactRejectedError(
            "invalid-baseline",
            f"{REFERENCE_ROWS} must start with a header of the baseline's {len(names)} features",
        )
    if len(lines) < 2:
        raise ArtifactRejectedError("invalid-baseline", f"{REFERENCE_ROWS} has no rows")
    for number, line in enumerate(lines[1:], start=2):
        values = line.split(",")
        if len(values) != len(names) or not all(_finite(v) for v in values):
            raise ArtifactRejectedError(
                "invalid-baseline",
                f"{REFERENCE_ROWS} line {number} is not {len(names)} finite numbers",
            )


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _json(name: str, data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactRejectedError(
            "invalid-baseline", f"{name} is not valid JSON ({error})"
        ) from None
    if not isinstance(parsed, dict):
        raise ArtifactRejectedError("invalid-baseline", f"{name} must hold a JSON object")
    return parsed


def _check_preprocessor(data: bytes) -> None:
    """Valid Python that defines the analyzer's entry point (compiled, never run here)."""
    try:
        source = data.decode("utf-8")
        compile(source, PREPROCESSOR, "exec")
    except (UnicodeDecodeError, SyntaxError, ValueError) as error:
        raise ArtifactRejectedError(
            "invalid-baseline", f"{PREPROCESSOR} is not valid Python ({error})"
        ) from None
    if "def preprocess_handler(" not in source:
        raise ArtifactRejectedError(
            "invalid-baseline", f"{PREPROCESSOR} defines no preprocess_handler"
        )


def release_key(release_dir: str, member: str) -> str:
    """Where a promotion keeps ``member`` beside the release copy."""
    return f"{release_dir}{member}"


def monitoring_key(baseline_prefix: str, member: str) -> str:
    """The fixed key a monitoring job definition reads ``member`` from."""
    return f"{baseline_prefix}{member.removeprefix(MONITORING_DIR)}"


def store_beside_release(s3: Any, bucket: str, release_dir: str, members: dict[str, bytes]) -> None:
    """Keep the validated baseline next to the release copy (the bucket's default encryption,
    the project key, applies)."""
    for member, data in members.items():
        s3.put_object(Bucket=bucket, Key=release_key(release_dir, member), Body=data)


def activate(s3: Any, bucket: str, release_dir: str, baseline_prefix: str) -> bool:
    """Make the release's baseline the monitors' one; False when that model carries none
    (the monitors then keep the previous baseline)."""
    try:
        s3.head_object(Bucket=bucket, Key=release_key(release_dir, DATA_QUALITY_STATISTICS))
    except Exception as error:  # botocore's ClientError, without importing botocore here
        if _status(error) == 404:
            return False
        raise
    for member in MEMBERS:
        _copy(s3, bucket, release_dir, baseline_prefix, member)
    for member in OPTIONAL_MEMBERS:
        try:
            _copy(s3, bucket, release_dir, baseline_prefix, member)
        except Exception as error:  # this model carries none: no other model's stays active
            if _status(error) not in (404, 403):
                raise
            s3.delete_object(Bucket=bucket, Key=monitoring_key(baseline_prefix, member))
    return True


def _copy(s3: Any, bucket: str, release_dir: str, baseline_prefix: str, member: str) -> None:
    s3.copy_object(
        Bucket=bucket,
        Key=monitoring_key(baseline_prefix, member),
        CopySource={"Bucket": bucket, "Key": release_key(release_dir, member)},
    )


def _status(error: Exception) -> Any:
    """The HTTP status of botocore's ClientError (without importing botocore here)."""
    return getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
