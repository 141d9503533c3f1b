"""Lambda: moto 5.2.5's CloudFormation has no model for AWS::Lambda::EventInvokeConfig (the
retraining function's retries and dead-letter queue)."""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import lambda_backends

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::Lambda::EventInvokeConfig")
class EventInvokeConfig(Shim):
    """-> PutFunctionEventInvokeConfig (stored; the runner applies no retry policy)."""

    @classmethod
    def create(cls, call: CfnCall) -> EventInvokeConfig:
        p = call.properties
        config: dict[str, Any] = {
            k: p[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in p
        }
        lambda_backends[call.account_id][call.region_name].put_function_event_invoke_config(
            p["FunctionName"], config
        )
        return cls(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", p, {})


@register("AWS::Lambda::Version")
class Version(Shim):
    """-> PublishVersion. moto's own model answers neither ``Ref`` (the version's ARN) nor
    ``GetAtt Version``, which an alias reads; provisioned concurrency on the version is
    recorded only (moto 5.2.5 has no provisioned concurrency)."""

    @classmethod
    def create(cls, call: CfnCall) -> Version:
        p = call.properties
        backend = lambda_backends[call.account_id][call.region_name]
        published = backend.publish_version(p["FunctionName"], p.get("Description", ""))
        if published is None:
            raise ValueError(f"no function {p['FunctionName']} to publish a version of")
        arn = str(published.function_arn)  # the version's ARN (qualified)
        return cls(arn, p, {"Version": str(published.version), "FunctionArn": arn})


@register("AWS::Lambda::Alias")
class Alias(Shim):
    """-> CreateAlias (an update -> UpdateAlias: the version it names, its routing config).
    ``ProvisionedConcurrencyConfig`` is recorded only, and the alias's CodeDeploy update policy
    is not run: a changed version moves the alias at once (listed in the gaps)."""

    @classmethod
    def create(cls, call: CfnCall) -> Alias:
        p = call.properties
        backend = lambda_backends[call.account_id][call.region_name]
        alias = backend.create_alias(
            name=p["Name"],
            function_name=_function_name(p["FunctionName"]),
            function_version=str(p["FunctionVersion"]),
            description=p.get("Description", ""),
            routing_config=p.get("RoutingConfig"),  # type: ignore[arg-type]
        )
        return cls(alias.arn, p, {"AliasArn": alias.arn})

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Alias:
        p = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        alias = backend.update_alias(
            name=p["Name"],
            function_name=_function_name(p["FunctionName"]),
            function_version=str(p["FunctionVersion"]),
            description=p.get("Description", ""),
            routing_config=p.get("RoutingConfig"),  # type: ignore[arg-type]
        )
        return cls(alias.arn, p, {"AliasArn": alias.arn})


def _function_name(name_or_arn: str) -> str:
    """A function's name from its name or (unqualified) ARN, as Lambda's APIs accept both."""
    return name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
