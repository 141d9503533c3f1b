"""``model.framework``: each framework's pinned versions, checked against the SageMaker SDK's
image tables; its serving and training images (CPU or GPU, in every region the SDK lists); the
environment its serving container needs; and each framework's templates, clean for cdk-nag,
cfn-lint and checkov."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sagemaker.core import image_uris

from serving_config import ConfigError, load_settings
from serving_core.frameworks import FRAMEWORK_NAMES, FRAMEWORKS, container_environment
from serving_core.image_tables import ImageSpec, sdk_image_config, version_key
from tests.synth_cache import synth_framework

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
OTHERS = [name for name in FRAMEWORK_NAMES if name != "tensorflow"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "me-central-1", "cn-north-1"]
LINT_REGIONS = ["us-east-1"]
#: The images each framework serves and trains with in us-east-1 (account/repository:tag).
IMAGES = {
    "tensorflow": (
        "763104351884/tensorflow-inference:2.20-cpu-py312",
        "763104351884/tensorflow-training:2.19-cpu-py312",
    ),
    "pytorch": (
        "763104351884/pytorch-inference:2.6-cpu-py312",
        "763104351884/pytorch-training:2.6-cpu-py312",
    ),
    "xgboost": ("683313688378/sagemaker-xgboost:3.2-0", "683313688378/sagemaker-xgboost:3.2-0"),
    "sklearn": (
        "683313688378/sagemaker-scikit-learn:1.9-0-cpu-py3",
        "683313688378/sagemaker-scikit-learn:1.9-0-cpu-py3",
    ),
}


def load_with(tmp_path: Path, data: dict[str, Any]) -> Any:
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(data))
    return load_settings("test", tmp_path)


def image(spec: ImageSpec, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{spec.registries()[region]}.dkr.ecr.{region}.{suffix}/{spec.repository}:{spec.tag}"


# -- configuration -----------------------------------------------------------------------------


def test_tensorflow_is_the_default_with_todays_versions() -> None:
    model = load_settings("dev").model
    assert (model.framework, model.framework_version, model.training_framework_version) == (
        "tensorflow",
        "2.20",
        "2.19",
    )


def _full(table: str, scope: str, version: str) -> str:
    scoped = sdk_image_config(table)[scope]
    return str(scoped.get("version_aliases", {}).get(version, version))


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
def test_default_versions_are_the_newest_cpu_images_the_sdk_lists(framework: str) -> None:
    """Serving: the newest inference version with a CPU image; training: the newest training
    version with a CPU image not newer than it (a model written by an older framework loads in a
    newer one). A new sagemaker-core pin that lists newer images fails here: move the pins."""
    facts = FRAMEWORKS[framework]  # type: ignore[index]

    def cpu_versions(scope: str) -> list[str]:
        versions = sdk_image_config(facts.sdk_table)[scope]["versions"]
        return [v for v in versions if ImageSpec(facts.sdk_table, v, scope).has_image_for("cpu")]  # type: ignore[arg-type]

    serving = max(cpu_versions("inference"), key=version_key)
    assert _full(facts.sdk_table, "inference", facts.serving_version) == serving
    training = max(
        (v for v in cpu_versions("training") if version_key(v) <= version_key(serving)),
        key=version_key,
    )
    assert _full(facts.sdk_table, "training", facts.training_version) == training


@pytest.mark.parametrize("framework", OTHERS)
def test_a_framework_brings_its_pinned_versions(tmp_path: Path, framework: str) -> None:
    model = load_with(tmp_path, {"model": {"framework": framework}}).model
    facts = FRAMEWORKS[framework]  # type: ignore[index]
    assert model.framework_version == facts.serving_version
    assert model.training_framework_version == facts.training_version


@pytest.mark.parametrize(
    ("model", "field", "message"),
    [
        ({"framework": "mxnet"}, "model.framework", "'mxnet' is not one of 'tensorflow'"),
        (
            {"framework": "pytorch", "framework_version": "2.7"},
            "model.framework_version",
            "pytorch inference image 2.7 is unknown to sagemaker-core",
        ),
        (
            {"framework": "xgboost", "training_framework_version": "9.9-9"},
            "model.training_framework_version",
            "xgboost training image 9.9-9 is unknown to sagemaker-core",
        ),
        (
            {"framework_version": "2.20.9"},
            "model.framework_version",
            "tensorflow inference image 2.20.9 is unknown",
        ),
    ],
)
def test_a_version_the_sdk_does_not_know_is_an_error_naming_the_field(
    tmp_path: Path, model: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"test.yaml: {re.escape(field)}: {re.escape(message)}"):
        load_with(tmp_path, {"model": model})


def test_scikit_learn_on_a_gpu_instance_type_is_an_error_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"endpoint.instance_type: ml.g5.xlarge is a GPU instance type, and SageMaker's "
        r"scikit-learn images are CPU only .* use a CPU instance type",
    ):
        load_with(
            tmp_path,
            {"model": {"framework": "sklearn"}, "endpoint": {"instance_type": "ml.g5.xlarge"}},
        )


@pytest.mark.parametrize(
    ("framework", "tag"),
    [("xgboost", "3.2-0"), ("pytorch", "2.6-gpu-py312"), ("tensorflow", "2.20-gpu-py312")],
)
def test_a_gpu_instance_type_serves_the_gpu_image(tmp_path: Path, framework: str, tag: str) -> None:
    settings = load_with(
        tmp_path,
        {"model": {"framework": framework}, "endpoint": {"instance_type": "ml.g5.xlarge"}},
    )
    spec = settings.model.image_spec("inference", settings.variant.processor)
    assert spec.tag == tag
    assert image(spec, "eu-west-1") == image_uris.retrieve(
        framework=framework,
        region="eu-west-1",
        version=spec.version,
        image_scope="inference",
        instance_type="ml.g5.xlarge",
        py_version=spec.py_version,
    )


def test_an_image_not_published_in_the_region_is_an_error_naming_the_field(
    tmp_path: Path,
) -> None:
    region = "mx-central-1"  # TensorFlow's and PyTorch's images are there, XGBoost's are not
    assert region in ImageSpec("tensorflow", "2.20", "inference").registries()
    assert load_with(tmp_path, {"account": "123456789012", "region": region}).region == region
    with pytest.raises(
        ConfigError,
        match=r"model.framework_version: XGBoost 3.2-0 inference images are not published in "
        r"mx-central-1",
    ):
        load_with(
            tmp_path,
            {"account": "123456789012", "region": region, "model": {"framework": "xgboost"}},
        )


# -- images and container environment ----------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
@pytest.mark.parametrize("scope", ["inference", "training"])
@pytest.mark.parametrize("region", REGIONS)
def test_images_match_the_sdks_retrieve(framework: str, scope: str, region: str) -> None:
    facts = FRAMEWORKS[framework]  # type: ignore[index]
    version = facts.serving_version if scope == "inference" else facts.training_version
    spec = ImageSpec(facts.sdk_table, version, scope)  # type: ignore[arg-type]
    if region not in spec.registries():
        pytest.skip(f"{framework} {scope} is not published in {region}")
    assert image(spec, region) == image_uris.retrieve(
        framework=facts.sdk_table,
        region=region,
        version=version,
        image_scope=scope,
        instance_type="ml.m5.large",
        py_version=spec.py_version,
    )


def test_tensorflow_serving_needs_no_container_environment() -> None:
    assert container_environment("tensorflow", "eu-west-1") == {}


@pytest.mark.parametrize("framework", OTHERS)
def test_script_mode_containers_run_the_artifacts_inference_script(framework: str) -> None:
    """The SageMaker SDK's script-mode variables for a model whose code is in the artifact
    (``/opt/ml/model/code``: repacked, or under network isolation)."""
    assert container_environment(framework, "eu-west-1") == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "eu-west-1",
    }


# -- templates ---------------------------------------------------------------------------------


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == kind]
    return dict(resource["Properties"])


def _uri(value: Any) -> str:
    """``account.dkr.ecr.us-east-1.{URLSuffix}/repo:tag`` -> ``account/repo:tag``."""
    parts = value["Fn::Join"][1]
    return parts[0].split(".")[0] + parts[-1]


@pytest.mark.parametrize("framework", OTHERS)
def test_the_model_serves_the_frameworks_image_with_its_environment(framework: str) -> None:
    synthesized = synth_framework(framework)
    container = _one(synthesized.serving_json, "AWS::SageMaker::Model")["PrimaryContainer"]
    serving, training = IMAGES[framework]
    assert _uri(container["Image"]) == serving
    assert container["Environment"] == container_environment(framework, "us-east-1")
    outputs = synthesized.data_json["Outputs"]
    assert _uri(outputs["ServingImageUri"]["Value"]) == serving
    assert _uri(outputs["TrainingImageUri"]["Value"]) == training
    assert FRAMEWORKS[framework].serving_container in outputs["ServingImageUri"]["Description"]  # type: ignore[index]


@pytest.mark.parametrize("framework", OTHERS)
def test_the_roles_pull_only_the_frameworks_repositories(framework: str) -> None:
    text = json.dumps(synth_framework(framework).data_json)
    serving, training = (uri.split(":")[0].split("/", 1)[1] for uri in IMAGES[framework])
    assert f"repository/{serving}" in text and f"repository/{training}" in text
    for other in {"tensorflow-inference", "tensorflow-training"}:
        assert f"repository/{other}" not in text


def test_the_tensorflow_model_has_no_container_environment() -> None:
    from tests.synth_cache import synth

    container = _one(synth("local").serving_json, "AWS::SageMaker::Model")["PrimaryContainer"]
    assert "Environment" not in container
    assert _uri(container["Image"]) == IMAGES["tensorflow"][0]


@pytest.mark.parametrize("framework", OTHERS)
def test_each_framework_synthesizes_clean_for_cdk_nag_and_cfn_lint(framework: str) -> None:
    from tests.cfn_lint import lint

    synthesized = synth_framework(framework)  # raises on an unacknowledged cdk-nag finding
    reports = synthesized.validation_report["pluginReports"]
    assert {r["pluginName"] for r in reports} == {"AwsSolutions", "NIST.800.53.R5"}
    assert all(r["violations"] == [] for r in reports)
    problems = [
        f"{path.name}: {m.rule.id} {m.message} at {m.path}"
        for path in sorted(synthesized.outdir.glob("*.template.json"))
        for m in lint(path.read_text(), LINT_REGIONS)
    ]
    assert problems == []


def test_checkov_finds_nothing_unacknowledged_in_any_frameworks_templates() -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run scripts/bootstrap.sh (it builds .venv-checkov)")
    templates = sorted(
        path for name in OTHERS for path in synth_framework(name).outdir.glob("*.template.json")
    )
    command = [str(CHECKOV), "--framework", "cloudformation", "-o", "json", "--skip-download"]
    for path in templates:
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = json.loads(result.stdout)
    assert output["summary"]["parsing_errors"] == 0 and output["summary"]["passed"] > 100
    failed = [
        f"{f['check_id']} {f['resource']} in {Path(f['file_path']).name}"
        for f in output["results"]["failed_checks"]
    ]
    assert failed == []


def _function_variables(framework: str, suffix: str) -> dict[str, Any]:
    """The environment of the serving stack's function named ``<prefix><suffix>``."""
    functions = [
        r["Properties"]
        for r in synth_framework(framework).serving_json["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("FunctionName", "").endswith(suffix)
    ]
    (variables,) = [f["Environment"]["Variables"] for f in functions]
    return dict(variables)


@pytest.mark.parametrize("framework", OTHERS)
def test_retraining_runs_train_py_with_the_framework_in_its_training_image(
    framework: str,
) -> None:
    """SageMaker runs ``train.py`` (the one trainer that runs as a script in /opt/ml/code) with
    the hyperparameter ``framework``, passed to it as ``--framework <name>``."""
    variables = _function_variables(framework, "-retraining")
    assert "ENTRY_SCRIPT" not in variables  # train.py, the runtime's only script
    assert json.loads(variables["HYPERPARAMETERS"])["framework"] == framework
    assert variables["TRAINING_REQUIREMENTS"] == f"requirements-{framework}.txt"
    assert _uri(variables["TRAINING_IMAGE_URI"]) == IMAGES[framework][1]


@pytest.mark.parametrize("framework", OTHERS)
def test_promotion_validates_and_creates_models_for_the_framework(framework: str) -> None:
    """The promotion function's config names the framework: its validator requires that
    framework's layout, and every Model it creates gets the framework's container
    environment (tests/model_promotion pin both at run time)."""
    variables = _function_variables(framework, "-model-promotion")
    assert variables["MODEL_FRAMEWORK"] == framework


@pytest.mark.parametrize("framework", OTHERS)
def test_each_frameworks_policies_lint_clean(framework: str) -> None:
    from deploy_tools import iam_lint

    findings = iam_lint.failures(iam_lint.lint_assembly(synth_framework(framework).outdir))
    assert [str(f) for f in findings] == []
