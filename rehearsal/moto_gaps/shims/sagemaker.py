"""SageMaker: the model package group and Model Monitor types moto 5.2.5's CloudFormation
lacks (schedules are kept by :mod:`rehearsal.moto_gaps.monitoring`). Endpoint updates:
:mod:`rehearsal.moto_gaps.endpoint_updates`; names: :mod:`rehearsal.moto_gaps.sagemaker_names`."""

from __future__ import annotations

from typing import Any, ClassVar

from moto.sagemaker import models as sagemaker_models

from rehearsal.moto_gaps import monitoring
from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::SageMaker::ModelPackageGroup")
class ModelPackageGroup(Shim):
    """-> CreateModelPackageGroup (moto has no group-policy API: the resource policy stays in
    the template)."""

    @classmethod
    def create(cls, call: CfnCall) -> ModelPackageGroup:
        p = call.properties
        backend = sagemaker_models.sagemaker_backends[call.account_id][call.region_name]
        name = p.get("ModelPackageGroupName") or call.resource_name
        arn = backend.create_model_package_group(
            model_package_group_name=name,
            model_package_group_description=p.get("ModelPackageGroupDescription", ""),
            tags=p.get("Tags", []),
        )
        return cls(str(arn), p, {"ModelPackageGroupArn": str(arn), "ModelPackageGroupName": name})


class _JobDefinition(Shim):
    """A Model Monitor job definition, created by moto's API (``define``)."""

    define: ClassVar[staticmethod[[str, str, dict[str, Any]], str]]

    @classmethod
    def create(cls, call: CfnCall) -> _JobDefinition:
        arn = cls.define(call.account_id, call.region_name, call.properties)
        return cls(arn, call.properties, {"JobDefinitionArn": arn})


@register("AWS::SageMaker::DataQualityJobDefinition")
class DataQualityJobDefinition(_JobDefinition):
    """-> moto's CreateDataQualityJobDefinition."""

    define = staticmethod(monitoring.create_data_quality_definition)


@register("AWS::SageMaker::ModelQualityJobDefinition")
class ModelQualityJobDefinition(_JobDefinition):
    """-> moto's CreateModelQualityJobDefinition."""

    define = staticmethod(monitoring.create_model_quality_definition)


@register("AWS::SageMaker::MonitoringSchedule")
class MonitoringSchedule(Shim):
    """-> CreateMonitoringSchedule; an update of its config -> UpdateMonitoringSchedule;
    deleted with its stack."""

    @classmethod
    def create(cls, call: CfnCall) -> MonitoringSchedule:
        p = call.properties
        name = p["MonitoringScheduleName"]
        try:
            arn = monitoring.create_schedule(call.account_id, call.region_name, p)
        except monitoring.ScheduleExistsError:
            arn = monitoring.update_schedule(
                call.account_id, call.region_name, name, p["MonitoringScheduleConfig"]
            )
        return cls(arn, p, {"MonitoringScheduleArn": arn, "MonitoringScheduleName": name})

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        name = cloudformation_json.get("Properties", {}).get("MonitoringScheduleName")
        if name:
            monitoring.delete_schedule(account_id, region_name, name)
