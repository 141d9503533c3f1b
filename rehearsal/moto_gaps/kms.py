"""KMS keys created by CloudFormation: moto 5.2.5 hands the template's ``Tags`` ({Key, Value})
to a tagger that expects {TagKey, TagValue} (KeyError: every tagged key fails) and keeps a
KeyPolicy object where its API keeps the JSON text."""

from __future__ import annotations

import json
from typing import Any

from rehearsal.moto_gaps._patching import CfnCreate, Installer, patch_cfn_create


def _create_key(call: CfnCreate) -> Any:
    properties = dict(call.properties)
    properties["Tags"] = [
        {"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])
    ]
    if not isinstance(properties.get("KeyPolicy"), str):
        properties["KeyPolicy"] = json.dumps(properties.get("KeyPolicy", {}))
    return call.moto({**call.template, "Properties": properties})


def _apply() -> None:
    from moto.kms.models import Key

    patch_cfn_create(Key, _create_key)


INSTALL = Installer(_apply)
