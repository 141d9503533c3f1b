"""The typed hosting variants: their rules, what each supports (AWS's documented limits), the
one renderer shared by the template and the promotion, and no kind string branched on
elsewhere."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving_config import ENVIRONMENTS_DIR, load_settings
from serving_config.hosting import kind_overrides
from serving_core.variants import (
    VARIANT_CLASSES,
    AsyncOutput,
    AsyncVariant,
    DataCapture,
    InstanceVariant,
    LambdaVariant,
    ServerlessVariant,
    VariantError,
    variant_from_api_shape,
)
from tests.synth_cache import synth

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("stacks", "ml_constructs", "serving_config", "serving_core", "deploy_tools", "rehearsal")
KINDS = {"instance", "serverless", "async", "lambda"}
#: The kinds served by a SageMaker endpoint (they render its API shapes).
ENDPOINT_KINDS = sorted(KINDS - {"lambda"})

# What each kind supports, with the AWS statement behind each "no" (pinned: a change of a
# variant's capabilities must be a change of this table).
SUPPORT = {
    # "Feature exclusions" (Serverless Inference): no data capture, no VPC, no network
    # isolation, no Model Monitor; no instances to autoscale or to step traffic by.
    "serverless": {
        "sagemaker_endpoint": True,
        "autoscaling": False,
        "async_invocation": False,
        "data_capture": False,
        "monitoring": False,
        "vpc": False,
        "network_isolation": False,
        "stepped_traffic_shifting": False,
    },
    # Asynchronous inference runs on instance variants, scales on its backlog (to zero),
    # and this project captures and monitors real-time traffic only.
    "async": {
        "sagemaker_endpoint": True,
        "autoscaling": False,
        "async_invocation": True,
        "data_capture": False,
        "monitoring": False,
        "vpc": True,
        "network_isolation": True,
        "stepped_traffic_shifting": False,
    },
    "instance": {
        "sagemaker_endpoint": True,
        "autoscaling": True,
        "async_invocation": False,
        "data_capture": True,
        "monitoring": True,
        "vpc": True,
        "network_isolation": True,
        "stepped_traffic_shifting": True,
    },
    # The model inside a Lambda function: no SageMaker endpoint, so no SageMaker target
    # tracking, asynchronous queue or network isolation (a SageMaker model setting); it writes
    # SageMaker-format capture (monitored), runs in the VPC like any function, and CodeDeploy
    # shifts its alias in canary or linear percentages ("Working with deployment
    # configurations in CodeDeploy", Lambda compute platform).
    "lambda": {
        "sagemaker_endpoint": False,
        "autoscaling": False,
        "async_invocation": False,
        "data_capture": True,
        "monitoring": True,
        "vpc": True,
        "network_isolation": False,
        "stepped_traffic_shifting": True,
    },
}
VARIANTS = {
    "instance": InstanceVariant(instance_type="ml.c5.xlarge", initial_instance_count=2),
    "serverless": ServerlessVariant(memory_mb=3072, max_concurrency=7, provisioned_concurrency=2),
    "async": AsyncVariant(
        instance_type="ml.m5.large", max_capacity=3, max_concurrent_invocations_per_instance=4
    ),
    "lambda": LambdaVariant(
        memory_mb=1024,
        reserved_concurrency=10,
        provisioned_concurrency=2,
        provisioned_concurrency_max=5,
    ),
}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


OUTPUT = AsyncOutput("s3://b/o/", "s3://b/f/", "arn:key", "arn:ok", "arn:error")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_supports_what_aws_documents(kind: str) -> None:
    variant = VARIANTS[kind]
    assert variant.kind == kind
    assert {c: variant.supports(c) for c in SUPPORT[kind]} == SUPPORT[kind]
    for capability, supported in SUPPORT[kind].items():
        assert bool(variant.why_not(capability)) is not supported, capability


def test_a_burstable_fleet_cannot_autoscale_wherever_it_is_asked() -> None:
    burstable = InstanceVariant(instance_type="ml.t2.medium")
    assert not burstable.supports("autoscaling")
    assert burstable.why_not("autoscaling") == "SageMaker cannot autoscale burstable ml.t2.medium"
    with pytest.raises(VariantError, match="instance_type: SageMaker cannot autoscale burstable"):
        AsyncVariant(instance_type="ml.t3.large")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: InstanceVariant(name="bad name"), "name"),
        (lambda: InstanceVariant(initial_instance_count=0), "initial_instance_count"),
        (lambda: InstanceVariant(initial_instance_count=3, fleet=(1, 2)), "initial_instance_count"),
        (lambda: InstanceVariant(instance_type="ml.inf2.xlarge"), "instance_type"),
        (lambda: ServerlessVariant(memory_mb=1000), "memory_mb"),
        (lambda: ServerlessVariant(max_concurrency=201), "max_concurrency"),
        (lambda: ServerlessVariant(provisioned_concurrency=6), "provisioned_concurrency"),
        (lambda: AsyncVariant(min_capacity=-1), "min_capacity"),
        (lambda: LambdaVariant(memory_mb=127), "memory_mb"),
        (lambda: LambdaVariant(memory_mb=10_241), "memory_mb"),
        (lambda: LambdaVariant(timeout_s=30), "timeout_s"),
        (lambda: LambdaVariant(reserved_concurrency=0), "reserved_concurrency"),
        (
            lambda: LambdaVariant(reserved_concurrency=2, provisioned_concurrency=3),
            "provisioned_concurrency",
        ),
        (
            lambda: LambdaVariant(reserved_concurrency=2, provisioned_concurrency_max=3),
            "provisioned_concurrency_max",
        ),
    ],
)
def test_a_broken_rule_names_its_field(build: Any, field: str) -> None:
    with pytest.raises(VariantError) as error:
        build()
    assert [name for name, _ in error.value.problems] == [field]


def test_every_problem_is_reported_together() -> None:
    with pytest.raises(VariantError) as error:
        ServerlessVariant(name="-", memory_mb=1, max_concurrency=0)
    assert [name for name, _ in error.value.problems] == ["name", "memory_mb", "max_concurrency"]
    assert str(error.value).startswith("name: '-' is not a valid SageMaker variant name; memory_mb")


def test_fleet_ranges_and_endpoint_identity() -> None:
    assert VARIANTS["instance"].fleet_range == (2, 2)
    assert InstanceVariant(fleet=(1, 8)).fleet_range == (1, 8)
    assert VARIANTS["async"].fleet_range == (0, 3)
    assert VARIANTS["serverless"].fleet_range == (1, 1)
    assert VARIANTS["lambda"].fleet_range == (1, 1)
    assert VARIANTS["lambda"].warm_range == (2, 5)  # type: ignore[attr-defined]
    labels = {kind: v.fleet_label for kind, v in VARIANTS.items()}
    assert labels == {
        "instance": "c5-xlarge",
        "serverless": "serverless",
        "async": "async-m5-large",
        "lambda": "lambda",
    }


def test_linear_steps_must_fit_every_fleet_size() -> None:
    assert (
        InstanceVariant(initial_instance_count=2, fleet=(2, 8)).traffic_shifting_problem("linear")
        is None
    )
    problem = InstanceVariant(initial_instance_count=2, fleet=(2, 30)).traffic_shifting_problem(
        "linear"
    )
    assert problem is not None and "from 2 to 30" in problem
    assert VARIANTS["async"].traffic_shifting_problem("canary") is not None
    assert VARIANTS["async"].traffic_shifting_problem("all_at_once") is None
    assert VARIANTS["serverless"].traffic_shifting_problem("canary") is None  # SageMaker falls back


def test_the_shapes_are_sagemakers() -> None:
    assert VARIANTS["instance"].production_variant("m") == {
        "VariantName": "AllTraffic",
        "ModelName": "m",
        "InstanceType": "ml.c5.xlarge",
        "InitialInstanceCount": 2,
        "InitialVariantWeight": 1.0,
    }
    assert VARIANTS["serverless"].production_variant("m")["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 7,
        "ProvisionedConcurrency": 2,
    }
    assert VARIANTS["async"].async_inference_config(OUTPUT) == {
        "OutputConfig": {
            "S3OutputPath": "s3://b/o/",
            "S3FailurePath": "s3://b/f/",
            "KmsKeyId": "arn:key",
            "NotificationConfig": {"SuccessTopic": "arn:ok", "ErrorTopic": "arn:error"},
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    assert VARIANTS["instance"].async_inference_config(None) is None
    with pytest.raises(VariantError, match="async_output"):
        VARIANTS["instance"].async_inference_config(OUTPUT)
    with pytest.raises(VariantError, match="async_output"):
        VARIANTS["async"].async_inference_config(None)
    assert DataCapture(0, "s3://b/dc/", "k").api_shape() is None
    capture = DataCapture(20, "s3://b/dc/", "k").api_shape()
    assert capture is not None and capture["InitialSamplingPercentage"] == 20


def test_a_lambda_variant_has_no_sagemaker_shape() -> None:
    variant = VARIANTS["lambda"]
    with pytest.raises(VariantError, match="kind: a lambda variant runs the model inside"):
        variant.production_variant("m")
    assert variant.async_inference_config(None) is None
    assert not variant.shifts_all_at_once  # CodeDeploy shifts the alias in percentages


@pytest.mark.parametrize("kind", ENDPOINT_KINDS)
def test_a_variant_is_read_back_from_its_shapes(kind: str) -> None:
    variant = VARIANTS[kind]
    shape = variant.production_variant("m")
    read = variant_from_api_shape(
        shape,
        variant.async_inference_config(OUTPUT if variant.supports("async_invocation") else None),
    )
    assert read.kind == kind
    assert read.production_variant("m") == shape
    assert read.shifts_all_at_once == variant.shifts_all_at_once


@pytest.mark.parametrize("env", ["prod", "batch", "lowtraffic"])
def test_template_and_promotion_get_the_same_rendering(env: str) -> None:
    """One renderer: the template's ProductionVariants and the promotion function's
    PRODUCTION_VARIANT are the same shape, and the configuration's variant renders both."""
    settings = load_settings(env)
    template = synth(env).serving_json
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (in_template,) = config["ProductionVariants"]
    promotion = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if "PRODUCTION_VARIANT" in f.get("Environment", {}).get("Variables", {})
    ]
    in_function = json.loads(promotion[0]["Environment"]["Variables"]["PRODUCTION_VARIANT"])
    expected = settings.variant.production_variant("MODEL")
    expected.pop("ModelName")
    assert {k: v for k, v in in_template.items() if k != "ModelName"} == expected
    assert in_function == json.loads(json.dumps(expected))  # 1.0 -> 1.0 in JSON
    assert ("AsyncInferenceConfig" in config) == settings.variant.supports("async_invocation")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_environment_moves_to_any_kind_and_stays_valid(kind: str, tmp_path: Path) -> None:
    data = yaml.safe_load((ENVIRONMENTS_DIR / "local.yaml").read_text(encoding="utf-8"))
    for name, value in kind_overrides(kind).items():
        merge = isinstance(value, dict) and isinstance(data.get(name), dict)
        data[name] = {**data[name], **value} if merge else value
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(data))
    variant = load_settings("local", tmp_path).variant
    assert variant.kind == kind
    variant_class = VARIANT_CLASSES[kind]  # type: ignore[index]
    # local promotes without waiting (0 s); a kind that counts the wait in minutes (CodeDeploy)
    # gets its shortest one.
    coarser_wait = {"promotion"} if variant_class.shift_wait_unit_s > 1 else set()
    assert set(kind_overrides(kind)) - {"endpoint"} == coarser_wait | {
        {"autoscaling": "scaling", "monitoring": "model_monitor"}.get(c, "promotion")
        for c in variant_class.lacks
        if c in ("autoscaling", "monitoring", "stepped_traffic_shifting")
    }


def _kind_comparisons(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        strings = {
            o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)
        }
        named_kind = any(
            (isinstance(o, ast.Attribute) and o.attr == "kind")
            or (isinstance(o, ast.Name) and o.id == "kind")
            for o in operands
        )
        if named_kind and strings & KINDS:
            lines.append(node.lineno)
    return lines


def test_no_code_branches_on_a_hosting_kind_outside_the_variant_module() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "serving_core" / "variants.py"
        for line in _kind_comparisons(path)
    }
    assert found == set()
    # The check finds what it looks for.
    probe = ROOT / "build" / "probe_kind.py"
    probe.parent.mkdir(exist_ok=True)
    probe.write_text('if settings.endpoint.kind == "async":\n    pass\n', encoding="utf-8")
    assert _kind_comparisons(probe) == [1]
