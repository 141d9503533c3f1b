"""CodeDeploy: moto 5.2.5 has CodeDeploy's API but no CloudFormation model for its
application, deployment group and deployment config (a Lambda-hosted model's alias shifts
through them)."""

from __future__ import annotations

from typing import Any

from moto.codedeploy.models import codedeploy_backends

from rehearsal.moto_gaps._aws import partition
from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::CodeDeploy::Application")
class Application(Shim):
    """-> CreateApplication (ComputePlatform Lambda for a Lambda-hosted model)."""

    @classmethod
    def create(cls, call: CfnCall) -> Application:
        p = call.properties
        name = p.get("ApplicationName") or call.resource_name
        backend = codedeploy_backends[call.account_id][call.region_name]
        if name not in backend.applications:
            backend.create_application(name, p.get("ComputePlatform", "Server"), [])
        return cls(name, p, {})


@register("AWS::CodeDeploy::DeploymentGroup")
class DeploymentGroup(Shim):
    """-> CreateDeploymentGroup with the template's config, alarms, rollback and style."""

    @classmethod
    def create(cls, call: CfnCall) -> DeploymentGroup:
        p = call.properties
        application = p["ApplicationName"]
        name = p.get("DeploymentGroupName") or call.resource_name
        backend = codedeploy_backends[call.account_id][call.region_name]
        alarms: dict[str, Any] | None = None
        if "AlarmConfiguration" in p:
            configuration = p["AlarmConfiguration"]
            alarms = {
                "enabled": str(configuration.get("Enabled", "false")).lower() == "true",
                "alarms": [{"name": a["Name"]} for a in configuration.get("Alarms", [])],
            }
        rollback = p.get("AutoRollbackConfiguration")
        if name not in backend.deployment_groups.get(application, {}):
            backend.create_deployment_group(
                application_name=application,
                deployment_group_name=name,
                deployment_config_name=p.get("DeploymentConfigName"),
                ec2_tag_filters=None,
                on_premises_instance_tag_filters=None,
                auto_scaling_groups=None,
                service_role_arn=p.get("ServiceRoleArn", ""),
                alarm_configuration=alarms,  # type: ignore[arg-type]  # as the API passes it
                auto_rollback_configuration=(
                    {
                        "enabled": str(rollback.get("Enabled", "false")).lower() == "true",
                        "events": rollback.get("Events", []),
                    }
                    if rollback
                    else None
                ),
                deployment_style={
                    "deploymentType": "BLUE_GREEN",
                    "deploymentOption": "WITH_TRAFFIC_CONTROL",
                },
            )
        region, account = call.region_name, call.account_id
        arn = (
            f"arn:{partition(region)}:codedeploy:{region}:{account}:deploymentgroup:"
            f"{application}/{name}"
        )
        return cls(name, p, {"Arn": arn})


@register("AWS::CodeDeploy::DeploymentConfig")
class DeploymentConfig(Shim):
    """A custom Lambda config (``TimeBasedCanary``/``TimeBasedLinear``/``AllAtOnce``): known to
    the deployments' stand-in (lambda_deployments.CUSTOM_CONFIGS) by its name, the Ref."""

    @classmethod
    def create(cls, call: CfnCall) -> DeploymentConfig:
        from rehearsal.moto_gaps.lambda_deployments import CUSTOM_CONFIGS

        p = call.properties
        name = p.get("DeploymentConfigName") or call.resource_name
        routing = p.get("TrafficRoutingConfig") or {"Type": "AllAtOnce"}
        kind = routing["Type"]
        shape: dict[str, Any] = {"type": kind}
        if kind in ("TimeBasedCanary", "TimeBasedLinear"):
            shape[kind[0].lower() + kind[1:]] = {
                key[0].lower() + key[1:]: int(value) for key, value in routing[kind].items()
            }
        CUSTOM_CONFIGS[name] = shape
        return cls(name, p, {})
