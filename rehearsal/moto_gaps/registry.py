"""Model Registry gaps of moto 5.2.5 that the registry-approval path hits.

- SageMaker publishes "SageMaker Model Package State Change" to EventBridge when a package is
  created or its approval status changes; moto never does (the approval rule would never fire).
- A model package of another account is readable through its ARN when the group's resource
  policy allows it; moto looks only in the caller's account (the cross-account promotion could
  not be shown). moto does not evaluate the group's resource policy either way.
(``AWS::SageMaker::ModelPackageGroup`` itself is a CloudFormation shim in
:mod:`.shims.sagemaker`.) Tests install this alone with ``INSTALL.applied()``.
"""

from __future__ import annotations

import json
from typing import Any

from moto.sagemaker import models as sagemaker_models

from rehearsal.moto_gaps._patching import Installer, patch

STATE_CHANGE = "SageMaker Model Package State Change"
_ARN_ACCOUNT = 4
_ARN_REGION = 3


def _emit(backend: Any, package: Any) -> None:
    from moto.events.models import events_backends

    detail = {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelPackageName": package.model_package_name,
        "ModelApprovalStatus": package.model_approval_status,
        "ModelPackageStatus": package.model_package_status,
        "InferenceSpecification": package.inference_specification,
    }
    entry = {
        "Source": "aws.sagemaker",
        "DetailType": STATE_CHANGE,
        "Detail": json.dumps(detail, default=str),
        "Resources": [package.arn],
    }
    events_backends[backend.account_id][backend.region_name].put_events([entry])


def _create_model_package(original: Any) -> Any:
    def create_model_package(self: Any, *args: Any, **kwargs: Any) -> str:
        arn = str(original(self, *args, **kwargs))
        _emit(self, self.describe_model_package(arn))
        return arn

    return create_model_package


def _update_model_package(original: Any) -> Any:
    def update_model_package(self: Any, model_package_arn: str, *args: Any, **kwargs: Any) -> str:
        package = self.describe_model_package(model_package_arn)
        before = package.model_approval_status
        arn = str(original(self, model_package_arn, *args, **kwargs))
        if package.model_approval_status != before:
            _emit(self, package)
        return arn

    return update_model_package


def _describe_model_package(original: Any) -> Any:
    def describe_model_package(self: Any, model_package_name: str) -> Any:
        parts = model_package_name.split(":")
        if len(parts) > _ARN_ACCOUNT and parts[_ARN_ACCOUNT] not in ("", self.account_id):
            owner = sagemaker_models.sagemaker_backends[parts[_ARN_ACCOUNT]][parts[_ARN_REGION]]
            return original(owner, model_package_name)
        return original(self, model_package_name)

    return describe_model_package


def _apply() -> None:
    """Approval events and cross-account package reads (in this process or its moto server)."""
    backend = sagemaker_models.SageMakerModelBackend
    patch(backend, "create_model_package", _create_model_package(backend.create_model_package))
    patch(backend, "update_model_package", _update_model_package(backend.update_model_package))
    patch(
        backend, "describe_model_package", _describe_model_package(backend.describe_model_package)
    )


INSTALL = Installer(_apply)
