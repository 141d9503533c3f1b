"""Each framework's artifact served by the local server through its own code/inference.py, as
its SageMaker image would: the runtime route gives the in-process probabilities, and requests
are refused with the same statuses and messages as the TensorFlow handlers'."""

from __future__ import annotations

import ast
import json
import runpy
import sys
import types
from typing import Any

import numpy as np
import pytest

from model_code.local_server import ScriptModeModel, runtime_endpoint_client
from tests.frameworks.conftest import FRAMEWORKS
from tests.model_code.conftest import MODEL_CODE_DIR

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_runtime_route_gives_the_in_process_probabilities(
    framework_runs: dict[str, Any], framework_server: Any, framework: str
) -> None:
    run = framework_runs[framework]
    client = runtime_endpoint_client(framework_server.url)
    rows = run.test_features.tolist()
    response = client.invoke_endpoint(
        EndpointName=framework, Body=json.dumps({"instances": rows}), ContentType="application/json"
    )
    assert response["ContentType"] == "application/json"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-invoked-production-variant"]
    predictions = json.loads(response["Body"].read())["predictions"]
    served = np.array([p["probability"] for p in predictions])
    assert np.max(np.abs(served - run.test_probabilities)) <= 1e-6
    labels = [p["label"] for p in predictions]
    assert labels == [int(p >= 0.5) for p in served]

    csv_body = "\n".join(",".join(repr(v) for v in row) for row in rows[:5])
    response = client.invoke_endpoint(
        EndpointName=framework, Body=csv_body, ContentType="text/csv", Accept="text/csv"
    )
    lines = response["Body"].read().decode().splitlines()
    from_csv = np.array([float(line.split(",")[0]) for line in lines])
    assert np.max(np.abs(from_csv - served[:5])) <= 1e-6  # float32 sums differ by batch size


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bad_requests_get_the_shared_statuses(framework_server: Any, framework: str) -> None:
    served = framework_server.endpoints[framework]
    assert isinstance(served, ScriptModeModel) and served.framework == framework
    row = [1.0] * 30
    cases = [
        (b'{"instances": [[1, 2]]}', "application/json", None, 400, "Row 0 has 2 values"),
        (json.dumps([[*row[:-1], "x"]]).encode(), "application/json", None, 400, "not a number"),
        (json.dumps([row] * 1001).encode(), "application/json", None, 413, "exceeds the limit"),
        (b"1,2", "application/x-npy", None, 415, "Unsupported content type"),
        (json.dumps([row]).encode(), "application/json", "image/png", 406, "Cannot answer"),
    ]
    for body, content_type, accept, status, message in cases:
        result = served.invoke(body, content_type, accept)
        assert result.status == status, (result.status, result.error_message)
        assert message in (result.error_message or "")


def test_runtime_route_reports_a_model_error_like_sagemaker(framework_server: Any) -> None:
    client = runtime_endpoint_client(framework_server.url)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName="xgboost", Body="1,2", ContentType="text/csv")
    assert raised.value.response["OriginalStatusCode"] == 400
    assert "the model expects 30 features" in raised.value.response["OriginalMessage"]


SCRIPTS = ("script_mode.py", *(f"inference_{f}.py" for f in FRAMEWORKS))


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_import_only_the_standard_library_at_module_level(script: str) -> None:
    """The images import code/inference.py as a file: no model_code, no relative imports, and
    the framework itself only inside the handlers."""
    tree = ast.parse((MODEL_CODE_DIR / script).read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    imported.discard("__future__")
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_the_pytorch_toolkit_gets_its_own_error_with_the_status(
    framework_runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the PyTorch image, a bad request is the toolkit's GenericInferenceToolkitError with
    the status (the toolkit answers any other exception with 500)."""

    class GenericInferenceToolkitError(Exception):
        def __init__(self, status_code: int, message: str | None = None) -> None:
            super().__init__(message)
            self.status_code, self.message = status_code, message

    errors = types.ModuleType("sagemaker_inference.errors")
    errors.GenericInferenceToolkitError = GenericInferenceToolkitError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker_inference", types.ModuleType("sagemaker_inference"))
    monkeypatch.setitem(sys.modules, "sagemaker_inference.errors", errors)
    code = framework_runs["pytorch"].model_dir / "code"
    shared = runpy.run_path(str(code / "script_mode.py"))
    with pytest.raises(GenericInferenceToolkitError) as raised:
        shared["input_fn"](b"1,2", "text/csv")
    assert raised.value.status_code == 400 and "expects 30 features" in str(raised.value.message)
    with pytest.raises(GenericInferenceToolkitError) as raised:
        shared["output_fn"]([0.5], "image/png")
    assert raised.value.status_code == 406
