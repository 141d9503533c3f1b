"""Model Monitor record preprocessor: one captured request -> one record per row.

SageMaker's analyzer calls ``preprocess_handler`` for every captured record before it analyzes
them ("Preprocessing and Postprocessing", Model Monitor); it accepts flat JSON records only. A
request to this model holds many rows (``{"instances": [[...], ...]}``, a bare list of rows, or
CSV lines), so each row becomes a record named as the model's features (the names the baseline
uses); returning ``[]`` drops a record. Training writes a copy of this file with
``FEATURE_NAMES`` filled in (``model_code.baselines``); it must stay self-contained (the
analyzer runs it alone, with the standard library).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

FEATURE_NAMES: list[str] = []  # written by model_code.baselines


def _rows(data: str, encoding: str) -> list[Any]:
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
        encoding = "JSON" if data.lstrip()[:1] in ("{", "[") else "CSV"
    if encoding == "CSV":
        return [row for row in csv.reader(io.StringIO(data)) if row]
    body = json.loads(data)
    if isinstance(body, dict):
        body = body.get("instances", [])
    return body if isinstance(body, list) else []


def records(data: str, encoding: str) -> list[dict[str, float]]:
    """The rows of one request as records; a row of another width is skipped."""
    found = []
    for row in _rows(data, encoding):
        if isinstance(row, list) and len(row) == len(FEATURE_NAMES):
            try:
                # indexes, not zip(strict=...): the analyzer's Python may predate 3.10
                found.append({name: float(row[i]) for i, name in enumerate(FEATURE_NAMES)})
            except (TypeError, ValueError):
                continue
    return found


def preprocess_handler(inference_record: Any, logger: Any = None) -> list[dict[str, float]]:
    """The analyzer's entry point."""
    captured = inference_record.endpoint_input
    try:
        return records(captured.data, str(captured.encoding).upper())
    except (ValueError, UnicodeDecodeError) as error:
        if logger is not None:
            logger.warning(f"record skipped: {error}")
        return []
