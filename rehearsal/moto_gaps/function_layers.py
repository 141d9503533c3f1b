"""A function's layers in CloudFormation (moto 5.2.5).

moto's ``AWS::Lambda::Function`` model copies a fixed list of properties and drops ``Layers``,
so a deployed function had none (the Lambda-hosted model's onnxruntime comes in a layer), and
an ``AWS::Lambda::LayerVersion``'s ``Ref`` is not its ARN as CloudFormation's is. The patch
makes the Ref the layer version's ARN and attaches the template's layer versions after moto
creates the function, as CreateFunction's ``Layers`` does; the runner then mounts them
(lambda_runner.py).
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction, LayerVersion

from rehearsal.moto_gaps._patching import CfnCreate, Installer, patch, patch_cfn_create


def _with_layers(call: CfnCreate) -> Any:
    function = call.moto()
    layers = call.properties.get("Layers") or []
    if layers:
        function.layers = function._get_layers_data([str(arn) for arn in layers])
    return function


def _layer_version_arn(self: LayerVersion) -> str:
    return str(self.arn)


def _apply() -> None:
    patch(LayerVersion, "physical_resource_id", property(_layer_version_arn))
    patch_cfn_create(LambdaFunction, _with_layers)


INSTALL = Installer(_apply)
