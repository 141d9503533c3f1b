"""What a promotion updates when the model runs inside a Lambda function (``endpoint.kind:
lambda``) instead of on a SageMaker endpoint: the model function, the alias the front door
invokes, and the CodeDeploy deployment group that shifts the alias (canary or linear, rolled
back on the alarms). The Lambda-model construct builds it; the promotion construct grants and
configures from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_


@dataclass(frozen=True)
class LambdaTarget:
    """The model function a promotion re-configures (``MODEL_DATA_URL``/``MODEL_SHA256``),
    publishes a version of, and shifts ``alias`` to through ``deployment_group``."""

    #: The function whose $LATEST a promotion updates and publishes.
    function: lambda_.IFunction
    #: The alias API Gateway invokes (its provisioned concurrency follows the alias).
    alias: lambda_.IAlias
    #: CodeDeploy's group for the alias: its deployment config and rollback alarms apply to
    #: every shift, by `cdk deploy` or by a promotion.
    deployment_group: codedeploy.ILambdaDeploymentGroup
    #: The name the model is known by: responses' ``model.endpoint`` and the capture folder
    #: ``data-capture/<endpoint_name>/<variant>/`` the monitors read.
    endpoint_name: str
    variant_name: str = "AllTraffic"
