"""EventBridge Scheduler: moto 5.2.5 has the API but no CloudFormation model for
AWS::Scheduler::Schedule. The schedule is stored as deployed; nothing fires it."""

from __future__ import annotations

from typing import Any

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


def _backend(account_id: str, region_name: str) -> Any:
    from moto.scheduler.models import scheduler_backends

    return scheduler_backends[account_id][region_name]


def _delete_if_exists(backend: Any, group: str, name: str) -> None:
    from moto.scheduler.exceptions import ScheduleNotFound

    try:
        backend.get_schedule(group, name)
    except ScheduleNotFound:
        return
    backend.delete_schedule(group, name)


def _name_and_group(resource_name: str, p: dict[str, Any]) -> tuple[str, str]:
    return p.get("Name") or resource_name, p.get("GroupName") or "default"


@register("AWS::Scheduler::Schedule")
class Schedule(Shim):
    """-> CreateSchedule (an update replaces it as deployed); deleted with its stack."""

    @classmethod
    def create(cls, call: CfnCall) -> Schedule:
        p = call.properties
        backend = _backend(call.account_id, call.region_name)
        name, group = _name_and_group(call.resource_name, p)
        _delete_if_exists(backend, group, name)
        # moto's backend is annotated str for these, its model takes None (as the API omits them)
        options: dict[str, Any] = {
            "description": p.get("Description", ""),
            "end_date": p.get("EndDate"),
            "flexible_time_window": p["FlexibleTimeWindow"],
            "group_name": group,
            "kms_key_arn": p.get("KmsKeyArn"),
            "name": name,
            "schedule_expression": p["ScheduleExpression"],
            "schedule_expression_timezone": p.get("ScheduleExpressionTimezone"),
            "start_date": None,  # the template sets none; moto reads one as epoch seconds
            "state": p.get("State", "ENABLED"),
            "target": p["Target"],
            "action_after_completion": p.get("ActionAfterCompletion"),
        }
        schedule = backend.create_schedule(**options)
        return cls(name, p, {"Arn": schedule.arn})

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        name, group = _name_and_group(resource_name, cloudformation_json.get("Properties", {}))
        _delete_if_exists(_backend(account_id, region_name), group, name)
