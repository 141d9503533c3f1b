"""Every request the inference function forwards is one the model's inference.py accepts.

In SageMaker's TensorFlow Serving container an exception in ``input_handler`` becomes an HTTP
500 (``ModelError``), counted in the endpoint's ``Invocation5XXErrors``: a bad client row that
reached the model would trip the 5XX auto-rollback alarm during a canary. The function
validates first; this proves the function's accepted set lies inside the handler's, for any
valid request (hypothesis), with the limits the promotion also enforces on each artifact
(``api.max_rows`` <= the model's ``max_batch_rows``, the same feature names and order).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_constructs.inference_api.runtime.api_config import ApiConfig
from ml_constructs.inference_api.runtime.request_validation import parse_request
from model_code import inference
from tests.inference_api.conftest import FEATURES, MAX_ROWS, event

FLOAT32_MAX = 3.4028234663852886e38
NAMES = tuple(f"feature_{i}" for i in range(FEATURES))
MIN_EXAMPLES = 400

# Every number the API accepts: ints and floats up to float32's range, both signs, -0.0.
numbers = st.one_of(
    st.integers(min_value=-int(FLOAT32_MAX), max_value=int(FLOAT32_MAX)),
    st.floats(min_value=-FLOAT32_MAX, max_value=FLOAT32_MAX, allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 1e-45, -1e-45, FLOAT32_MAX, -FLOAT32_MAX]),
)
list_rows = st.lists(numbers, min_size=FEATURES, max_size=FEATURES)
named_rows = st.fixed_dictionaries(dict.fromkeys(NAMES, numbers))
requests = st.lists(st.one_of(list_rows, named_rows), min_size=1, max_size=MAX_ROWS)

API = ApiConfig(endpoint_name="e", feature_count=FEATURES, feature_names=NAMES, max_rows=MAX_ROWS)
# The model as the promotion admits it: its batch limit covers api.max_rows, same names.
MODEL = inference.ServingConfig(feature_names=NAMES, max_batch_rows=MAX_ROWS)
CONTEXT = SimpleNamespace(request_content_type="application/json", accept_header="application/json")
seen = {"examples": 0}


def handled_by_the_model(payload: bytes) -> list[list[float]]:
    inference.configure(MODEL)
    try:
        document = json.loads(inference.input_handler(payload, CONTEXT))
    finally:
        inference._config = None
    rows: list[list[float]] = document["instances"]
    return rows


@settings(max_examples=MIN_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=requests)
def test_every_forwarded_request_is_accepted_by_inference_py(rows: list[Any]) -> None:
    seen["examples"] += 1
    parsed = parse_request(event(instances=rows), API)
    scored = handled_by_the_model(parsed.payload)
    assert len(scored) == parsed.rows == len(rows)
    for sent, got in zip(rows, scored, strict=True):
        values = [sent[name] for name in NAMES] if isinstance(sent, dict) else sent
        assert got == [float(v) for v in values]


def test_the_property_ran_on_enough_examples() -> None:
    assert seen["examples"] >= MIN_EXAMPLES


def test_the_largest_request_the_api_forwards_fits_the_model() -> None:
    rows = [[-FLOAT32_MAX] * FEATURES for _ in range(MAX_ROWS)]
    parsed = parse_request(event(instances=rows), API)
    assert len(handled_by_the_model(parsed.payload)) == MAX_ROWS
