"""SageMaker names in CloudFormation (moto 5.2.5).

- moto returns "" as the name property of endpoints, endpoint configs and models, so a
  template's EndpointName/EndpointConfigName/ModelName was replaced by a generated one.
- moto generates "<stack>-<logical id>-<suffix>", often over SageMaker's 63 characters (every
  later Describe* of it would be refused by AWS's model); here "<logical id>-<suffix>", cut.
"""

from __future__ import annotations

from collections.abc import Callable

from moto.cloudformation import parsing
from moto.sagemaker import models as sagemaker_models

from rehearsal.moto_gaps._patching import Installer, patch

_NAME_PROPERTY = {
    sagemaker_models.FakeEndpoint: "EndpointName",
    sagemaker_models.FakeEndpointConfig: "EndpointConfigName",
    sagemaker_models.Model: "ModelName",
}
_SAGEMAKER_NAMED = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
)


def _generated_name(original: Callable[[str, str, str], str]) -> Callable[[str, str, str], str]:
    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        if resource_type not in _SAGEMAKER_NAMED:
            return original(resource_type, stack_name, logical_id)
        from moto.cloudformation.utils import random_suffix

        suffix = random_suffix()
        return f"{logical_id[: 62 - len(suffix)]}-{suffix}"

    return generate_resource_name


def _apply() -> None:
    for model, prop in _NAME_PROPERTY.items():
        patch(model, "cloudformation_name_type", staticmethod(lambda prop=prop: prop))
    parsing.get_name_type_map.cache_clear()
    patch(parsing, "generate_resource_name", _generated_name(parsing.generate_resource_name))


def _reset(_: None) -> None:
    parsing.get_name_type_map.cache_clear()  # it cached the patched name properties


INSTALL = Installer(_apply, _reset)
