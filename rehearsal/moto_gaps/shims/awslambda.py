"""Lambda: moto 5.2.5's CloudFormation has no model for AWS::Lambda::EventInvokeConfig (the
retraining function's retries and dead-letter queue) or AWS::Lambda::Alias (a Lambda-hosted
model's serving alias)."""

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
    """-> CreateAlias (an update: UpdateAlias; the CodeDeployLambdaAliasUpdate UpdatePolicy is
    not applied: a template's new version moves the alias at once). ``Ref`` is its ARN."""

    @classmethod
    def create(cls, call: CfnCall) -> Alias:
        p = call.properties
        backend: Any = lambda_backends[call.account_id][call.region_name]
        function, name = str(p["FunctionName"]).split(":function:")[-1], p["Name"]
        version, routing = str(p["FunctionVersion"]), p.get("RoutingConfig") or {}
        weights = {
            str(w["FunctionVersion"]): float(w["FunctionWeight"])
            for w in routing.get("AdditionalVersionWeights", [])
        }
        routing_config = {"AdditionalVersionWeights": weights} if weights else {}
        try:
            alias = backend.get_alias(name, function)
        except Exception:  # moto's UnknownAliasException: a new alias
            alias = backend.create_alias(
                name, function, version, p.get("Description", ""), routing_config
            )
        else:
            alias = backend.update_alias(
                name, function, version, p.get("Description", ""), routing_config
            )
        return cls(alias.arn, p, {"AliasArn": alias.arn})
