"""API Gateway: the REST API pieces moto 5.2.5's CloudFormation skips. They are stored, not
applied (an open gap); :mod:`rehearsal.moto_gaps.api_gateway` serves the invocation URLs."""

from __future__ import annotations

import json
from typing import Any

from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim
from rehearsal.moto_gaps.shims.registry import register


def _apigateway(account_id: str, region_name: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region_name]


@register("AWS::ApiGateway::Stage")
class ApiStage(Shim):
    """-> CreateStage (access logging and throttling are stored only)."""

    @classmethod
    def create(cls, call: CfnCall) -> ApiStage:
        p = call.properties
        tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}
        stage = _apigateway(call.account_id, call.region_name).create_stage(
            function_id=p["RestApiId"],
            stage_name=p["StageName"],
            deploymentId=p["DeploymentId"],
            variables=p.get("Variables"),
            description=p.get("Description", ""),
            cacheClusterEnabled=p.get("CacheClusterEnabled"),
            cacheClusterSize=p.get("CacheClusterSize"),
            tags=tags or None,
            tracing_enabled=p.get("TracingEnabled"),
        )
        return cls(stage.name, p, {})


@register("AWS::ApiGateway::GatewayResponse")
class GatewayResponse(Shim):
    """-> PutGatewayResponse."""

    @classmethod
    def create(cls, call: CfnCall) -> GatewayResponse:
        p = call.properties
        _apigateway(call.account_id, call.region_name).put_gateway_response(
            rest_api_id=p["RestApiId"],
            response_type=p["ResponseType"],
            status_code=p.get("StatusCode"),
            response_parameters=p.get("ResponseParameters"),
            response_templates=p.get("ResponseTemplates"),
        )
        return cls(f"{p['RestApiId']}-{p['ResponseType']}", p, {})


@register("AWS::ApiGateway::Model")
class ApiModel(Shim):
    """-> CreateModel."""

    @classmethod
    def create(cls, call: CfnCall) -> ApiModel:
        p = call.properties
        name = p.get("Name") or call.resource_name.replace("-", "")
        schema = p.get("Schema", {})
        _apigateway(call.account_id, call.region_name).create_model(
            rest_api_id=p["RestApiId"],
            name=name,
            content_type=p.get("ContentType", "application/json"),
            description=p.get("Description", ""),
            schema=schema if isinstance(schema, str) else json.dumps(schema),
        )
        return cls(name, p, {})


@register("AWS::ApiGateway::RequestValidator")
class RequestValidator(Shim):
    """-> CreateRequestValidator (moto does not validate)."""

    @classmethod
    def create(cls, call: CfnCall) -> RequestValidator:
        p = call.properties
        validator = _apigateway(call.account_id, call.region_name).create_request_validator(
            restapi_id=p["RestApiId"],
            name=p.get("Name", call.resource_name),
            body=p.get("ValidateRequestBody"),
            params=p.get("ValidateRequestParameters"),
        )
        return cls(validator.id, p, {"RequestValidatorId": validator.id})


@register("AWS::ApiGateway::Account")
class ApiAccount(Shim):
    """-> UpdateAccount(cloudwatchRoleArn)."""

    @classmethod
    def create(cls, call: CfnCall) -> ApiAccount:
        p = call.properties
        if p.get("CloudWatchRoleArn"):
            _apigateway(call.account_id, call.region_name).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}]
            )
        return cls(call.resource_name, p, {})
