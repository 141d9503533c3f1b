"""What every shim is: a CloudFormation model that creates its resource through moto's API."""

from __future__ import annotations

from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

from rehearsal.moto_gaps._patching import CfnCall


class Shim(CloudFormationModel):
    """A resource the shim created; ``physical_resource_id`` is what ``Ref`` returns.

    Subclasses implement :meth:`create` and are registered for their type with
    :func:`rehearsal.moto_gaps.shims.registry.register`.
    """

    cfn_type: ClassVar[str] = ""

    def __init__(
        self, physical_id: str, properties: dict[str, Any], attributes: dict[str, str]
    ) -> None:
        self._physical_id = physical_id
        self.properties = properties
        self.attributes = attributes

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.cfn_type

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attributes.get(attribute_name, self._physical_id)

    @classmethod
    def create(cls, call: CfnCall) -> Shim:
        """Create the resource from ``call.properties`` through moto's API."""
        raise NotImplementedError(cls.cfn_type)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Shim:
        return cls.create(
            CfnCall(resource_name, cloudformation_json, account_id, region_name, kwargs)
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        """An update creates the resource again as the template now declares it."""
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None


def policy_json(document: Any) -> str:
    """A policy document as the APIs take it (the template may hold it as an object)."""
    import json

    return document if isinstance(document, str) else json.dumps(document)
