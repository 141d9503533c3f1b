"""inference.py: request parsing, every bad-request case, TFS response handling (no TF)."""

from __future__ import annotations

import ast
import io
import json
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from .conftest import MODEL_CODE_DIR, SMALL_CONFIG, import_like_container


def ctx(content_type: str | None = "application/json", accept: str | None = None) -> Any:
    return SimpleNamespace(request_content_type=content_type, accept_header=accept)


def rows_of(handlers: ModuleType, body: Any, content_type: str = "application/json") -> Any:
    return json.loads(handlers.input_handler(body, ctx(content_type)))["instances"]


def error_of(handlers: ModuleType, body: Any, **context: Any) -> Any:
    with pytest.raises(handlers.InferenceInputError) as info:
        handlers.input_handler(body, ctx(**context))
    return info.value


# --- accepted requests -------------------------------------------------------------------


def test_instances_json_from_stream(handlers: ModuleType) -> None:
    body = io.BytesIO(b'{"instances": [[1, 2.5, -3], [0, 0, 1e3]]}')
    assert rows_of(handlers, body) == [[1.0, 2.5, -3.0], [0.0, 0.0, 1000.0]]


def test_bare_list_and_objects_by_feature_name(handlers: ModuleType) -> None:
    assert rows_of(handlers, "[[1, 2, 3]]") == [[1.0, 2.0, 3.0]]
    body = json.dumps({"instances": [{"c": 3, "a": 1, "b": 2}]})
    assert rows_of(handlers, body) == [[1.0, 2.0, 3.0]]
    assert rows_of(handlers, json.dumps([{"a": 1, "b": 2, "c": 3}])) == [[1.0, 2.0, 3.0]]


def test_csv_with_and_without_header(handlers: ModuleType) -> None:
    assert rows_of(handlers, b"1,2,3\n4,5,6\n", "text/csv") == [[1, 2, 3], [4, 5, 6]]
    body = b"a,b,c\r\n1, 2, 3\r\n\r\n"
    assert rows_of(handlers, body, "text/csv; charset=utf-8") == [[1.0, 2.0, 3.0]]


def test_missing_content_type_means_json(handlers: ModuleType) -> None:
    assert json.loads(handlers.input_handler(b"[[1,2,3]]", ctx(None)))["instances"] == [[1, 2, 3]]


# --- rejected requests: one test per case, with its message --------------------------------


def test_wrong_feature_count_json(handlers: ModuleType) -> None:
    err = error_of(handlers, '{"instances": [[1, 2, 3], [1, 2]]}')
    assert err.status_code == 400
    assert err.message == "Row 1 has 2 values; the model expects 3 features."


def test_wrong_feature_count_csv(handlers: ModuleType) -> None:
    err = error_of(handlers, "1,2,3,4\n", content_type="text/csv")
    assert (err.status_code, err.message) == (
        400,
        "Row 0 has 4 values; the model expects 3 features.",
    )


def test_missing_and_unknown_named_features(handlers: ModuleType) -> None:
    err = error_of(handlers, '[{"a": 1, "b": 2}]')
    assert err.message == "Row 0 is missing feature(s) 'c'."
    err = error_of(handlers, '[{"a": 1, "b": 2, "c": 3, "d": 4}]')
    assert err.message == "Row 0 has unknown feature(s) 'd'."


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ('[[1, "x", 3]]', "application/json", "Row 0, feature 1 ('b'): value 'x' is not a number."),
        ('[[1, "2", 3]]', "application/json", "Row 0, feature 1 ('b'): value '2' is not a number."),
        (
            "[[1, true, 3]]",
            "application/json",
            "Row 0, feature 1 ('b'): value True is not a number.",
        ),
        (
            "[[1, null, 3]]",
            "application/json",
            "Row 0, feature 1 ('b'): value None is not a number.",
        ),
        ("1,2,abc\n", "text/csv", "Row 0, feature 2 ('c'): value 'abc' is not a number."),
        ("1,,3\n", "text/csv", "Row 0, feature 1 ('b'): value '' is not a number."),
    ],
)
def test_non_numeric_values(
    handlers: ModuleType, body: str, content_type: str, message: str
) -> None:
    err = error_of(handlers, body, content_type=content_type)
    assert (err.status_code, err.message) == (400, message)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[[1, NaN, 3]]", "application/json"),
        ("[[1, Infinity, 3]]", "application/json"),
        ("[[1, -Infinity, 3]]", "application/json"),
        ("[[1, 1e999, 3]]", "application/json"),
        ("1,nan,3\n", "text/csv"),
        ("1,inf,3\n", "text/csv"),
    ],
)
def test_nan_and_infinity(handlers: ModuleType, body: str, content_type: str) -> None:
    err = error_of(handlers, body, content_type=content_type)
    assert err.status_code == 400
    assert err.message.startswith("Row 0, feature 1 ('b'): value ")
    assert err.message.endswith("is not finite (NaN and infinity are not allowed).")


def test_out_of_float32_range(handlers: ModuleType) -> None:
    err = error_of(handlers, "[[1, 1e39, 3]]")
    assert err.message == "Row 0, feature 1 ('b'): value 1e+39 is out of float32 range."


@pytest.mark.parametrize("content_type", ["application/json", "text/csv"])
def test_oversized_batch(handlers: ModuleType, content_type: str) -> None:
    body = json.dumps([[1, 2, 3]] * 5) if content_type == "application/json" else "1,2,3\n" * 5
    err = error_of(handlers, body, content_type=content_type)
    assert err.status_code == 413
    assert err.message == (
        "Batch of 5 rows exceeds the limit of 4 rows per request; split it into smaller requests."
    )


def test_unsupported_content_type(handlers: ModuleType) -> None:
    err = error_of(handlers, "1 2 3", content_type="text/plain")
    assert err.status_code == 415
    assert (
        err.message == "Unsupported content type 'text/plain'; send application/json or text/csv."
    )


def test_unsupported_accept(handlers: ModuleType) -> None:
    err = error_of(handlers, "[[1,2,3]]", accept="application/x-protobuf")
    assert err.status_code == 406
    assert "Cannot answer in 'application/x-protobuf'" in err.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Request body is empty."),
        ("{not json", "Request body is not valid JSON: "),
        ('{"inputs": [[1,2,3]]}', 'JSON request must be {"instances": [...]} or a list of rows'),
        ('{"instances": 3}', '"instances" must be a list of rows, not int.'),
        ('{"instances": []}', "Request has no rows to score."),
        ('{"instances": [1, 2, 3]}', "Row 0 must be a list of 3 numbers or an object keyed"),
        (b"\xff\xfe", "Request body is not valid UTF-8"),
    ],
)
def test_malformed_bodies(handlers: ModuleType, body: Any, message: str) -> None:
    err = error_of(handlers, body)
    assert err.status_code == 400
    assert err.message.startswith(message)


# --- output_handler -------------------------------------------------------------------------


def test_output_handler_probabilities_and_labels(handlers: ModuleType) -> None:
    response = SimpleNamespace(status_code=200, content=b'{"predictions": [[0.25], [0.5], [0.9]]}')
    body, content_type = handlers.output_handler(response, ctx())
    assert content_type == "application/json"
    assert json.loads(body) == {
        "predictions": [
            {"probability": 0.25, "label": 0},
            {"probability": 0.5, "label": 1},
            {"probability": 0.9, "label": 1},
        ]
    }
    body, content_type = handlers.output_handler(response, ctx(accept="text/csv"))
    assert (body, content_type) == ("0.25,0\n0.5,1\n0.9,1\n", "text/csv")


def test_threshold_from_config() -> None:
    module = import_like_container(MODEL_CODE_DIR / "inference.py")
    module.configure({**SMALL_CONFIG, "threshold": 0.8})
    response = SimpleNamespace(status_code=200, content=b'{"predictions": [0.7, 0.8]}')
    body, _ = module.output_handler(response, ctx())
    assert [p["label"] for p in json.loads(body)["predictions"]] == [0, 1]


def test_output_handler_tfs_error(handlers: ModuleType) -> None:
    response = SimpleNamespace(status_code=400, content=b'{"error": "bad shape"}')
    with pytest.raises(handlers.InferenceError) as info:
        handlers.output_handler(response, ctx())
    assert info.value.status_code == 500
    assert 'TensorFlow Serving returned HTTP 400: {"error": "bad shape"}' in info.value.message


def test_output_handler_unexpected_body(handlers: ModuleType) -> None:
    response = SimpleNamespace(status_code=200, content=b'{"outputs": []}')
    with pytest.raises(handlers.InferenceError, match="Unexpected response from TensorFlow"):
        handlers.output_handler(response, ctx())


# --- config and container compatibility ----------------------------------------------------


def test_config_from_sibling_file_and_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text((MODEL_CODE_DIR / "inference.py").read_text())
    (code / "serving_config.json").write_text(json.dumps(SMALL_CONFIG))
    monkeypatch.delenv("MODEL_SERVING_CONFIG", raising=False)
    module = import_like_container(code / "inference.py")
    assert module.get_config().feature_names == ("a", "b", "c")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"feature_names": ["x"], "threshold": 0.3}))
    monkeypatch.setenv("MODEL_SERVING_CONFIG", str(other))
    module = import_like_container(code / "inference.py")
    assert module.get_config().n_features == 1
    assert module.get_config().threshold == 0.3


def test_missing_config_is_a_server_error(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODEL_SERVING_CONFIG", raising=False)
    script = tmp_path / "inference.py"
    script.write_text((MODEL_CODE_DIR / "inference.py").read_text())
    module = import_like_container(script)
    with pytest.raises(module.InferenceError, match=r"serving_config\.json not found"):
        module.input_handler(b"[[1]]", ctx())


def test_inference_uses_only_the_standard_library() -> None:
    tree = ast.parse((MODEL_CODE_DIR / "inference.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the container loads it as a file"
            imported.add((node.module or "").split(".")[0])
    imported.discard("__future__")
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
