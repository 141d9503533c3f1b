"""CloudFormation stack updates as CloudFormation does them (moto 5.2.5 differs):

- SSM parameter types (``AWS::SSM::Parameter::Value<...>``) are resolved again on every update,
  so an unchanged template whose parameter now names another value is an update, and what
  references that parameter is updated (moto answers "No updates are to be performed");
- what references a replaced resource is updated too (a new Model name changes its
  EndpointConfig, whose new name changes the Endpoint);
- ``UsePreviousValue`` of a parameter the stack took from its ``Default`` is the default
  (moto looks it up among the values passed at creation: KeyError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing

from rehearsal.moto_gaps._patching import Installer, patch

#: Every property of these is create-only: any change replaces them, with a new name.
_REPLACED_ON_CHANGE = frozenset({"AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"})


def changed_ssm_parameters(resource_map: Any, inputs: dict[str, Any]) -> set[str]:
    """The ``AWS::SSM::Parameter::Value<...>`` parameters that now resolve to another value
    than at the stack's last create or update."""
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[resource_map._account_id][resource_map._region_name]
    changed = set()
    for key, slot in resource_map._template.get("Parameters", {}).items():
        if not str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            continue
        current = ssm.get_parameter(inputs.get(key) or slot.get("Default"))
        if current is not None and current.value != resource_map.resolved_parameters.get(key):
            changed.add(key)
    return changed


def _references(value: Any) -> set[str]:
    """Logical ids and parameters a template fragment names with Ref or Fn::GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt" and isinstance(item, list) and item:
                found.add(str(item[0]))
            else:
                found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _build_resource_diff(original: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """ResourceMap.build_resource_diff (moto looks at changed templates and parameter inputs
    only), plus what references a changed SSM parameter or a replaced resource."""

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff = original(self, other_template, parameters)
        new, old = other_template["Resources"], self._resource_json_map
        modify: list[str] = diff["Modify"]
        changed = changed_ssm_parameters(self, parameters or self.input_parameters)
        changed |= {n for n in modify if new[n]["Type"] in _REPLACED_ON_CHANGE}
        while changed:
            grown = [
                name
                for name, resource in new.items()
                if name in old and name not in modify and _references(resource) & changed
            ]
            modify.extend(grown)
            changed = {n for n in grown if new[n]["Type"] in _REPLACED_ON_CHANGE}
        return diff

    return build_resource_diff


def _validate_different_update(original: Callable[..., None]) -> Callable[..., None]:
    """CloudFormationResponse._validate_different_update, passing an unchanged template whose
    SSM parameter now names another value."""

    def validate(self: Any, incoming_params: Any, stack_body: str, old_stack: Any) -> None:
        if changed_ssm_parameters(old_stack.resource_map, old_stack.parameters):
            return
        original(self, incoming_params, stack_body, old_stack)

    return validate


def _resolve_update_parameters(
    self: Any, instance: Any, incoming_params: list[dict[str, Any]]
) -> dict[str, Any]:
    """CloudFormationBackend._resolve_update_parameters: ``UsePreviousValue`` of a defaulted
    parameter (the CDK CLI sends it for SSM parameter types) is its default."""
    slots = instance.resource_map._template.get("Parameters", {})
    parameters: dict[str, Any] = {}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if "ParameterValue" in parameter:
            parameters[key] = parameter["ParameterValue"]
        elif parameter.get("UsePreviousValue", False):
            parameters[key] = instance.parameters.get(key, slots.get(key, {}).get("Default"))
    return parameters


def _apply() -> None:
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    patch(CloudFormationBackend, "_resolve_update_parameters", _resolve_update_parameters)
    patch(
        parsing.ResourceMap,
        "build_resource_diff",
        _build_resource_diff(parsing.ResourceMap.build_resource_diff),
    )
    patch(
        CloudFormationResponse,
        "_validate_different_update",
        _validate_different_update(CloudFormationResponse._validate_different_update),
    )


INSTALL = Installer(_apply)
