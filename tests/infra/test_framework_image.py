"""The image table comes from the SageMaker SDK's configuration and matches its retrieve()."""

from __future__ import annotations

import pytest
from sagemaker.core import image_uris

from ml_constructs.framework_image import ImageSpec

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "me-central-1", "cn-north-1"]


@pytest.mark.parametrize("region", REGIONS)
def test_serving_image_matches_the_sdk(region: str) -> None:
    spec = ImageSpec("tensorflow", "2.20", "inference")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    ours = f"{spec.registries()[region]}.dkr.ecr.{region}.{suffix}/{spec.repository}:{spec.tag}"
    expected = image_uris.retrieve(
        framework="tensorflow",
        region=region,
        version="2.20",
        image_scope="inference",
        instance_type="ml.m5.large",
    )
    assert ours == expected


def test_training_image_matches_the_sdk() -> None:
    spec = ImageSpec("tensorflow", "2.19", "training")
    registry = spec.registries()["eu-west-1"]
    ours = f"{registry}.dkr.ecr.eu-west-1.amazonaws.com/{spec.repository}:{spec.tag}"
    expected = image_uris.retrieve(
        framework="tensorflow",
        region="eu-west-1",
        version="2.19",
        image_scope="training",
        instance_type="ml.m5.large",
        py_version="py312",
    )
    assert ours == expected


def test_every_sdk_region_is_in_the_mapping() -> None:
    config = image_uris.config_for_framework("tensorflow")["inference"]["versions"]["2.20.0"]
    assert ImageSpec("tensorflow", "2.20", "inference").registries() == config["registries"]


def test_unknown_version_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"tensorflow inference image 9.9 is unknown to sagemaker-core"
    ):
        ImageSpec("tensorflow", "9.9", "inference").version_config()


@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.p3.2xlarge", "ml.g4dn.xlarge"])
def test_gpu_instance_types_serve_the_sdks_gpu_image(instance_type: str) -> None:
    from serving_core.variants import InstanceVariant

    processor = InstanceVariant(instance_type=instance_type).processor
    spec = ImageSpec("tensorflow", "2.20", "inference", processor=processor)
    registry = spec.registries()["eu-west-1"]
    ours = f"{registry}.dkr.ecr.eu-west-1.amazonaws.com/{spec.repository}:{spec.tag}"
    expected = image_uris.retrieve(
        framework="tensorflow",
        region="eu-west-1",
        version="2.20",
        image_scope="inference",
        instance_type=instance_type,
    )
    assert ours == expected
    assert spec.tag == "2.20-gpu-py312"


def test_a_processor_without_an_image_for_the_version_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ml_constructs import framework_image
    from serving_core import image_tables

    real = framework_image.sdk_image_config("tensorflow")
    cpu_only = {**real, "inference": {**real["inference"], "processors": ["cpu"]}}
    monkeypatch.setattr(image_tables, "sdk_image_config", lambda framework: cpu_only)
    with pytest.raises(ValueError, match=r"tensorflow inference 2.20 has no gpu image"):
        ImageSpec("tensorflow", "2.20", "inference", processor="gpu").version_config()
    assert ImageSpec("tensorflow", "2.20", "inference").tag == "2.20-cpu-py312"


def test_the_model_of_a_gpu_environment_names_the_gpu_image() -> None:
    from aws_cdk import App, Stack

    from ml_constructs.framework_image import FrameworkImage

    stack = Stack(App(), "Gpu")
    image = FrameworkImage(
        stack, "Image", spec=ImageSpec("tensorflow", "2.20", "inference", processor="gpu")
    )
    assert stack.resolve(image.image_uri)["Fn::Join"][1][-1].endswith(
        "/tensorflow-inference:2.20-gpu-py312"
    )
