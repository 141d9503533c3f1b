"""AWS public SSM parameters (``/aws/service/...``): AWS publishes them in every account, moto
5.2.5 has only a few. The Powertools layer parameters a template resolves are seeded, with the
layer version they name (of empty content: the runner's interpreter already has the pinned
Powertools); any other public parameter is left for CloudFormation to report."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from typing import Any

from rehearsal.moto_gaps._aws import partition

POWERTOOLS_PARAMETER = re.compile(
    r"^/aws/service/powertools/python/(?P<arch>[a-z0-9_]+)/(?P<python>python[0-9.]+)/"
    r"(?P<version>[0-9.]+)$"
)
POWERTOOLS_ACCOUNT = "017000801446"


def _powertools_names(template: dict[str, Any]) -> list[tuple[str, re.Match[str]]]:
    """The template's SSM parameter types that default to a Powertools layer parameter."""
    found = []
    for slot in template.get("Parameters", {}).values():
        name = str(slot.get("Default", ""))
        match = POWERTOOLS_PARAMETER.match(name)
        if match and slot.get("Type", "").startswith("AWS::SSM::Parameter::Value"):
            found.append((name, match))
    return found


def _stand_in_layer(account_id: str, region: str, match: re.Match[str]) -> str:
    """Publish an empty layer version under the Powertools layer's name; returns the ARN the
    public parameter names (in AWS's Powertools account, as the real one does)."""
    from moto.awslambda.models import lambda_backends

    python = match["python"].replace(".", "")
    layer_name = f"AWSLambdaPowertoolsPythonV3-{python}-{match['arch']}"
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("python/.rehearsal", "the runner provides aws_lambda_powertools\n")
    layer = lambda_backends[account_id][region].publish_layer_version(
        {
            "LayerName": layer_name,
            "Content": {"ZipFile": base64.b64encode(empty.getvalue()).decode()},
            "Description": f"stand-in for Powertools {match['version']}",
        }
    )
    return (
        f"arn:{partition(region)}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"{layer_name}:{layer.version}"
    )


def seed_public_parameters(template: dict[str, Any], account_id: str, region: str) -> list[str]:
    """Seed the Powertools parameters ``template`` resolves; returns "name = value" of each."""
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ssm_backends

    parameters = ssm_backends[account_id][region]._parameters
    seeded = []
    for name, match in _powertools_names(template):
        if dict.get(parameters, name):
            continue
        arn = _stand_in_layer(account_id, region, match)
        parameters[name].append(
            Parameter(  # type: ignore[abstract]
                account_id=account_id,
                name=name,
                value=arn,
                parameter_type="String",
                description="AWS public parameter (seeded by the rehearsal)",
                allowed_pattern=None,
                keyid=None,
                last_modified_date=utcnow(),
                version=1,
                data_type="text",
            )
        )
        seeded.append(f"{name} = {arn}")
    return seeded
