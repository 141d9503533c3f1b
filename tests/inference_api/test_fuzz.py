"""Property-based fuzzing of POST /predict bodies: every malformed body gets a 4xx JSON error,
the handler never raises or answers 5xx, and the endpoint is never called."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_constructs.inference_api.runtime import handler
from tests.inference_api.conftest import FEATURES, MAX_ROWS, RecordingClient, event

MIN_EXAMPLES = 1000
FLOAT32_MAX = 3.4028234663852886e38

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
good_row = st.lists(finite, min_size=FEATURES, max_size=FEATURES)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)
not_a_number = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=10),
    st.lists(finite, max_size=3),
    st.dictionaries(st.text(max_size=5), finite, max_size=2),
)


def _is_valid(document: Any) -> bool:
    """The oracle: what the API accepts (written independently of the handler)."""
    if not isinstance(document, dict) or set(document) != {"instances"}:
        return False
    rows = document["instances"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        return False
    return all(
        isinstance(r, list)
        and len(r) == FEATURES
        and all(
            not isinstance(v, bool)
            and isinstance(v, int | float)
            and math.isfinite(v)
            and abs(v) <= FLOAT32_MAX
            for v in r
        )
        for r in rows
    )


@st.composite
def wrong_feature_count(draw: st.DrawFn) -> str:
    rows = draw(st.lists(good_row, min_size=1, max_size=3))
    n = draw(st.integers(0, 3 * FEATURES).filter(lambda k: k != FEATURES))
    rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(finite, min_size=n, max_size=n)))
    return json.dumps({"instances": rows})


@st.composite
def one_bad_value(draw: st.DrawFn) -> str:
    rows = draw(st.lists(good_row, min_size=1, max_size=3))
    i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, FEATURES - 1))
    rows[i][j] = draw(not_a_number)
    return json.dumps({"instances": rows})


@st.composite
def non_finite_or_huge_literal(draw: st.DrawFn) -> str:
    literal = draw(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "3.5e38", "1e39"])
        | st.integers(39, 400).map(lambda d: "9" * d)
        | st.integers(4301, 6000).map(lambda d: "1" * d)
    )
    values = [str(v) for v in draw(good_row)]
    values[draw(st.integers(0, FEATURES - 1))] = literal
    return '{"instances": [[' + ",".join(values) + "]]}"


@st.composite
def truncated(draw: st.DrawFn) -> str:
    text = json.dumps({"instances": draw(st.lists(good_row, min_size=1, max_size=2))})
    return text[: draw(st.integers(0, len(text) - 1))]


@st.composite
def too_many_rows(draw: st.DrawFn) -> str:
    n = draw(st.integers(MAX_ROWS + 1, MAX_ROWS * 3))
    return json.dumps({"instances": [[0.5] * FEATURES] * n})


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    depth = draw(st.integers(2, 5000))
    opener = draw(st.sampled_from(["[", '{"instances": [', '{"a":']))
    return opener * depth


@st.composite
def wrong_envelope(draw: st.DrawFn) -> str:
    document = draw(
        json_values
        | st.dictionaries(st.text(max_size=12), json_values, max_size=4)
        | st.fixed_dictionaries({"instances": json_values})
        | st.fixed_dictionaries({"instances": st.just([]) | st.lists(json_values, max_size=4)})
        | st.fixed_dictionaries(
            {"instances": st.lists(good_row, min_size=1, max_size=2), "extra": json_values}
        )
    )
    if _is_valid(document):  # practically never; the oracle keeps the property honest
        document = {"instances": document["instances"], "unexpected": True}
    return json.dumps(document, ensure_ascii=draw(st.booleans()))


bodies = st.one_of(
    st.text(max_size=200),  # any unicode text, including lone surrogates
    truncated(),
    wrong_envelope(),
    wrong_feature_count(),
    one_bad_value(),
    non_finite_or_huge_literal(),
    too_many_rows(),
    deep_nesting(),
)

events = st.one_of(
    bodies.map(lambda body: event(body=body)),
    bodies.map(lambda body: event(body=body, content_type="text/plain")),
    st.binary(max_size=100).map(
        lambda raw: event(body=__import__("base64").b64encode(raw).decode(), base64=True)
    ),
    st.text(max_size=50).map(lambda body: event(body=body, base64=True)),
    st.sampled_from([None, "", "  \n"]).map(lambda body: event(body=body)),
)


def test_fuzzed_malformed_bodies_get_4xx_json_and_never_reach_the_endpoint(
    function_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = RecordingClient()
    handler._client = fake
    checked: list[int] = []

    @settings(
        max_examples=1200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(evt=events)
    def check(evt: dict[str, Any]) -> None:
        result = handler.lambda_handler(evt, None)
        status = result["statusCode"]
        assert 400 <= status < 500, (status, result["body"][:300])
        body = json.loads(result["body"])
        assert set(body) == {"error", "request_id"}
        assert body["error"]["code"] and body["error"]["message"] and body["error"]["field"]
        assert result["headers"]["Content-Type"] == "application/json"
        assert fake.calls == []
        checked.append(status)

    check()
    capsys.readouterr()  # drop the per-request log lines
    assert len(checked) >= MIN_EXAMPLES
    print(f"fuzzed {len(checked)} malformed requests: statuses {sorted(set(checked))}")
