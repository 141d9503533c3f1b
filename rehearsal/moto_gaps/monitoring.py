"""Model Monitor gaps of moto 5.2.5.

- moto has data-quality and model-quality job definitions in its API but no CloudFormation
  model for them, and no monitoring schedules at all (``CreateMonitoringSchedule`` is not
  implemented). Here schedules are kept per account and region with the API's shape
  (create, describe, list, update, delete), and the three CloudFormation types are created
  through that API, so what the stack declares is what ``Describe*`` answers.
- Nothing runs a schedule: the analyzer is a container (no docker here). The rehearsal's
  stand-in (``rehearsal.drift``) reads the deployed definitions and does the analysis.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.responses import SageMakerResponse

from rehearsal.moto_gaps._aws import partition
from rehearsal.moto_gaps._patching import Installer, patch

_lock = threading.Lock()
#: (account, region) -> schedule name -> DescribeMonitoringSchedule's answer.
SCHEDULES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


class _Error(Exception):
    """A SageMaker error as moto's server answers it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class ScheduleExistsError(_Error):
    """CreateMonitoringSchedule of a name in use."""


def _arn(account: str, region: str, name: str) -> str:
    return f"arn:{partition(region)}:sagemaker:{region}:{account}:monitoring-schedule/{name}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def create_schedule(account: str, region: str, request: dict[str, Any]) -> str:
    name = request["MonitoringScheduleName"]
    config = request["MonitoringScheduleConfig"]
    with _lock:
        schedules = SCHEDULES.setdefault((account, region), {})
        if name in schedules:
            raise ScheduleExistsError("ResourceInUse", f"Monitoring schedule {name} already exists")
        _require_definition(account, region, config)
        schedules[name] = {
            "MonitoringScheduleArn": _arn(account, region, name),
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": config.get("MonitoringType", "DataQuality"),
            "CreationTime": _now(),
            "LastModifiedTime": _now(),
            "MonitoringScheduleConfig": config,
            "EndpointName": config.get("MonitoringJobDefinition", {})
            .get("MonitoringInputs", [{}])[0]
            .get("EndpointInput", {})
            .get("EndpointName")
            or request.get("EndpointName")
            or _definition_endpoint(account, region, config),
        }
        return str(schedules[name]["MonitoringScheduleArn"])


def _definition(account: str, region: str, config: dict[str, Any]) -> Any:
    backend = sagemaker_models.sagemaker_backends[account][region]
    name = config.get("MonitoringJobDefinitionName")
    kind = config.get("MonitoringType", "DataQuality")
    if not name:
        return None
    stores: dict[str, dict[str, Any]] = {
        "DataQuality": backend.data_quality_job_definitions,
        "ModelQuality": backend.model_quality_job_definitions,
    }
    return stores.get(kind, {}).get(name)


def _require_definition(account: str, region: str, config: dict[str, Any]) -> None:
    if config.get("MonitoringJobDefinitionName") and _definition(account, region, config) is None:
        raise _Error(
            "ValidationException",
            f"Job definition {config['MonitoringJobDefinitionName']} of type "
            f"{config.get('MonitoringType')} does not exist",
        )


def _definition_endpoint(account: str, region: str, config: dict[str, Any]) -> str | None:
    definition = _definition(account, region, config)
    if definition is None:
        return None
    for field in ("data_quality_job_input", "model_quality_job_input"):
        job_input = getattr(definition, field, None)
        if job_input:
            return str(job_input.get("EndpointInput", {}).get("EndpointName"))
    return None


def describe_schedule(account: str, region: str, name: str) -> dict[str, Any]:
    with _lock:
        found = SCHEDULES.get((account, region), {}).get(name)
    if found is None:
        raise _Error("ResourceNotFound", f"Monitoring schedule {name} does not exist")
    return dict(found)


def update_schedule(account: str, region: str, name: str, config: dict[str, Any]) -> str:
    with _lock:
        found = SCHEDULES.get((account, region), {}).get(name)
        if found is None:
            raise _Error("ResourceNotFound", f"Monitoring schedule {name} does not exist")
        _require_definition(account, region, config)
        found["MonitoringScheduleConfig"] = config
        found["LastModifiedTime"] = _now()
        return str(found["MonitoringScheduleArn"])


def delete_schedule(account: str, region: str, name: str) -> None:
    with _lock:
        SCHEDULES.get((account, region), {}).pop(name, None)


# -- the API, as moto's server answers it ------------------------------------------------


def _answer(call: Any) -> Any:
    def action(self: SageMakerResponse) -> Any:
        try:
            return json.dumps(call(self.current_account, self.region, json.loads(self.body)))
        except _Error as error:
            return (
                400,
                {"status": 400},
                json.dumps({"__type": error.code, "message": error.message}),
            )

    return action


_SUMMARY_FIELDS = (
    "MonitoringScheduleName",
    "MonitoringScheduleArn",
    "CreationTime",
    "LastModifiedTime",
    "MonitoringScheduleStatus",
    "EndpointName",
    "MonitoringType",
)


def _create(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    return {"MonitoringScheduleArn": create_schedule(account, region, request)}


def _describe(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    return describe_schedule(account, region, request["MonitoringScheduleName"])


def _update(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    name, config = request["MonitoringScheduleName"], request["MonitoringScheduleConfig"]
    return {"MonitoringScheduleArn": update_schedule(account, region, name, config)}


def _delete(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    delete_schedule(account, region, request["MonitoringScheduleName"])
    return {}


def _list(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    endpoint = request.get("EndpointName")
    with _lock:
        schedules = list(SCHEDULES.get((account, region), {}).values())
    summaries = [
        {k: s[k] for k in _SUMMARY_FIELDS if s.get(k) is not None}
        | {
            "MonitoringJobDefinitionName": s["MonitoringScheduleConfig"].get(
                "MonitoringJobDefinitionName", ""
            )
        }
        for s in schedules
        if not endpoint or s.get("EndpointName") == endpoint
    ]
    return {"MonitoringScheduleSummaries": summaries}


_ACTIONS = {
    "create_monitoring_schedule": _create,
    "describe_monitoring_schedule": _describe,
    "update_monitoring_schedule": _update,
    "delete_monitoring_schedule": _delete,
    "list_monitoring_schedules": _list,
}


def _apply() -> None:
    """Schedules in moto's SageMaker API (in this process or its moto server)."""
    for name, call in _ACTIONS.items():
        patch(SageMakerResponse, name, _answer(call))


def _forget_schedules(_: None) -> None:
    with _lock:
        SCHEDULES.clear()


INSTALL = Installer(_apply, _forget_schedules)


# -- CloudFormation -----------------------------------------------------------------------


def create_data_quality_definition(account: str, region: str, p: dict[str, Any]) -> str:
    backend = sagemaker_models.sagemaker_backends[account][region]
    return str(
        backend.create_data_quality_job_definition(
            account_id=account,
            job_definition_name=p["JobDefinitionName"],
            tags=p.get("Tags", []),
            role_arn=p["RoleArn"],
            job_resources=p["JobResources"],
            stopping_condition=p.get("StoppingCondition"),
            environment=p["DataQualityAppSpecification"].get("Environment", {}),
            network_config=p.get("NetworkConfig", {}),
            data_quality_baseline_config=p.get("DataQualityBaselineConfig", {}),
            data_quality_app_specification=p["DataQualityAppSpecification"],
            data_quality_job_input=p["DataQualityJobInput"],
            data_quality_job_output_config=p["DataQualityJobOutputConfig"],
        )["JobDefinitionArn"]
    )


def create_model_quality_definition(account: str, region: str, p: dict[str, Any]) -> str:
    backend = sagemaker_models.sagemaker_backends[account][region]
    return str(
        backend.create_model_quality_job_definition(
            job_definition_name=p["JobDefinitionName"],
            model_quality_baseline_config=p.get("ModelQualityBaselineConfig"),
            model_quality_app_specification=p["ModelQualityAppSpecification"],
            model_quality_job_input=p["ModelQualityJobInput"],
            model_quality_job_output_config=p["ModelQualityJobOutputConfig"],
            job_resources=p["JobResources"],
            network_config=p.get("NetworkConfig"),
            role_arn=p["RoleArn"],
            stopping_condition=p.get("StoppingCondition"),
            tags=p.get("Tags", []),
        )
    )
