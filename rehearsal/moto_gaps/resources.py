"""CloudFormation and API gaps of moto 5.2.5 that the product's stacks hit.

Each shim creates its resource through moto's own backend API, so what the stack declares is
what ``describe-*`` answers afterwards. Types with no moto backend at all are recorded as
:class:`NotEmulated` (Ref and GetAtt still resolve) and listed by :func:`not_emulated`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import FakeBucket, s3_backends
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.responses import SageMakerResponse
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from rehearsal.moto_gaps._patching import patch

_lock = threading.Lock()
_installed = False

# What the bucket shim applied or could not apply, per bucket name: shown in the report.
BUCKET_SETTINGS: dict[str, dict[str, str]] = {}
# Resources recorded without emulation: (stack id, logical id) -> (type, reason).
NOT_EMULATED: dict[tuple[str, str], tuple[str, str]] = {}


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


class _Shim(CloudFormationModel):
    """A resource the shim created; ``physical_resource_id`` is what ``Ref`` returns."""

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
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> _Shim:
        """Create the resource from its template ``Properties`` ``p`` through moto's API."""
        raise NotImplementedError(cls.cfn_type)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _Shim:
        return cls.create(resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None


class ScalableTarget(_Shim):
    """AWS::ApplicationAutoScaling::ScalableTarget -> RegisterScalableTarget."""

    cfn_type = "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ScalableTarget:
        backend = applicationautoscaling_backends[account_id][region_name]
        backend.register_scalable_target(
            namespace=p["ServiceNamespace"],
            r_id=p["ResourceId"],
            dimension=p["ScalableDimension"],
            min_capacity=int(p["MinCapacity"]),
            max_capacity=int(p["MaxCapacity"]),
            role_arn=p.get("RoleARN", ""),
            suspended_state=p.get("SuspendedState"),  # type: ignore[arg-type]
        )
        physical = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
        return cls(physical, p, {})


class ScalingPolicy(_Shim):
    """AWS::ApplicationAutoScaling::ScalingPolicy -> PutScalingPolicy."""

    cfn_type = "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ScalingPolicy:
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id = p["ResourceId"]
            dimension = p["ScalableDimension"]
            namespace = p["ServiceNamespace"]
        backend = applicationautoscaling_backends[account_id][region_name]
        policy = backend.put_scaling_policy(
            policy_name=p["PolicyName"],
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=p.get(
                "TargetTrackingScalingPolicyConfiguration",
                p.get("StepScalingPolicyConfiguration", {}),
            ),
            policy_type=p.get("PolicyType"),
        )
        return cls(policy.policy_arn, p, {"Arn": policy.policy_arn})


class Alarm(_Shim):
    """AWS::CloudWatch::Alarm -> PutMetricAlarm (moto stores alarms, never evaluates them)."""

    cfn_type = "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Alarm:
        from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        queries = None
        if p.get("Metrics"):
            queries = []
            for metric in p["Metrics"]:
                stat = metric.get("MetricStat")
                metric_stat = None
                if stat:
                    m = stat["Metric"]
                    metric_stat = MetricStat(
                        metric=Metric(
                            metric_name=m["MetricName"],
                            namespace=m.get("Namespace"),  # type: ignore[arg-type]
                            dimensions=[
                                Dimension(d["Name"], d["Value"]) for d in m.get("Dimensions", [])
                            ],
                        ),
                        period=stat.get("Period"),
                        stat=stat.get("Stat"),
                        unit=stat.get("Unit"),
                    )
                queries.append(
                    MetricDataQuery(
                        query_id=metric.get("Id"),
                        label=metric.get("Label"),
                        period=metric.get("Period"),
                        return_data=metric.get("ReturnData"),
                        expression=metric.get("Expression"),
                        metric_stat=metric_stat,
                    )
                )
        backend = cloudwatch_backends[account_id][region_name]
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),  # type: ignore[arg-type]
            metric_name=p.get("MetricName"),  # type: ignore[arg-type]
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=p.get("Period"),  # type: ignore[arg-type]
            threshold=float(p["Threshold"]) if "Threshold" in p else None,  # type: ignore[arg-type]
            statistic=p.get("Statistic"),  # type: ignore[arg-type]
            description=p.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=queries,
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )
        return cls(name, p, {"Arn": alarm.alarm_arn})

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self._physical_id])


def _policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class BucketPolicy(_Shim):
    """AWS::S3::BucketPolicy -> PutBucketPolicy (conditions: see :func:`_get_permission`)."""

    cfn_type = "AWS::S3::BucketPolicy"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicy:
        backend = s3_backends[account_id][_partition(region_name)]
        backend.put_bucket_policy(p["Bucket"], _policy_json(p["PolicyDocument"]).encode())
        return cls(resource_name, p, {})


class QueuePolicy(_Shim):
    """AWS::SQS::QueuePolicy -> SetQueueAttributes(Policy)."""

    cfn_type = "AWS::SQS::QueuePolicy"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> QueuePolicy:
        backend = sqs_backends[account_id][region_name]
        for url in p.get("Queues", []):
            backend.set_queue_attributes(
                url.rstrip("/").split("/")[-1], {"Policy": _policy_json(p["PolicyDocument"])}
            )
        return cls(resource_name, p, {})


class TopicPolicy(_Shim):
    """AWS::SNS::TopicPolicy -> SetTopicAttributes(Policy)."""

    cfn_type = "AWS::SNS::TopicPolicy"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> TopicPolicy:
        backend = sns_backends[account_id][region_name]
        for arn in p.get("Topics", []):
            backend.set_topic_attribute(arn, "Policy", _policy_json(p["PolicyDocument"]))
        return cls(resource_name, p, {})


class Subscription(_Shim):
    """AWS::SNS::Subscription -> Subscribe (e-mail is never delivered locally)."""

    cfn_type = "AWS::SNS::Subscription"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Subscription:
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"])
        return cls(subscription.arn, p, {"Arn": subscription.arn})


def _apigateway(account_id: str, region_name: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region_name]


class ApiStage(_Shim):
    """AWS::ApiGateway::Stage -> CreateStage (access logging and throttling are stored only)."""

    cfn_type = "AWS::ApiGateway::Stage"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ApiStage:
        tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}
        stage = _apigateway(account_id, region_name).create_stage(
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


class GatewayResponse(_Shim):
    """AWS::ApiGateway::GatewayResponse -> PutGatewayResponse."""

    cfn_type = "AWS::ApiGateway::GatewayResponse"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> GatewayResponse:
        _apigateway(account_id, region_name).put_gateway_response(
            rest_api_id=p["RestApiId"],
            response_type=p["ResponseType"],
            status_code=p.get("StatusCode"),
            response_parameters=p.get("ResponseParameters"),
            response_templates=p.get("ResponseTemplates"),
        )
        return cls(f"{p['RestApiId']}-{p['ResponseType']}", p, {})


class ApiModel(_Shim):
    """AWS::ApiGateway::Model -> CreateModel."""

    cfn_type = "AWS::ApiGateway::Model"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ApiModel:
        name = p.get("Name") or resource_name.replace("-", "")
        schema = p.get("Schema", {})
        _apigateway(account_id, region_name).create_model(
            rest_api_id=p["RestApiId"],
            name=name,
            content_type=p.get("ContentType", "application/json"),
            description=p.get("Description", ""),
            schema=schema if isinstance(schema, str) else json.dumps(schema),
        )
        return cls(name, p, {})


class RequestValidator(_Shim):
    """AWS::ApiGateway::RequestValidator -> CreateRequestValidator (moto does not validate)."""

    cfn_type = "AWS::ApiGateway::RequestValidator"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> RequestValidator:
        validator = _apigateway(account_id, region_name).create_request_validator(
            restapi_id=p["RestApiId"],
            name=p.get("Name", resource_name),
            body=p.get("ValidateRequestBody"),
            params=p.get("ValidateRequestParameters"),
        )
        return cls(validator.id, p, {"RequestValidatorId": validator.id})


class ApiAccount(_Shim):
    """AWS::ApiGateway::Account -> UpdateAccount(cloudwatchRoleArn)."""

    cfn_type = "AWS::ApiGateway::Account"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ApiAccount:
        if p.get("CloudWatchRoleArn"):
            _apigateway(account_id, region_name).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}]
            )
        return cls(resource_name, p, {})


class ModelPackageGroup(_Shim):
    """AWS::SageMaker::ModelPackageGroup -> CreateModelPackageGroup (moto has no group-policy
    API: the resource policy stays in the template)."""

    cfn_type = "AWS::SageMaker::ModelPackageGroup"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ModelPackageGroup:
        backend = sagemaker_models.sagemaker_backends[account_id][region_name]
        name = p.get("ModelPackageGroupName") or resource_name
        arn = backend.create_model_package_group(
            model_package_group_name=name,
            model_package_group_description=p.get("ModelPackageGroupDescription", ""),
            tags=p.get("Tags", []),
        )
        return cls(str(arn), p, {"ModelPackageGroupArn": str(arn), "ModelPackageGroupName": name})


class DataQualityJobDefinition(_Shim):
    """AWS::SageMaker::DataQualityJobDefinition -> moto's CreateDataQualityJobDefinition."""

    cfn_type = "AWS::SageMaker::DataQualityJobDefinition"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> DataQualityJobDefinition:
        from rehearsal.moto_gaps import monitoring

        arn = monitoring.create_data_quality_definition(account_id, region_name, p)
        return cls(arn, p, {"JobDefinitionArn": arn})


class ModelQualityJobDefinition(_Shim):
    """AWS::SageMaker::ModelQualityJobDefinition -> moto's CreateModelQualityJobDefinition."""

    cfn_type = "AWS::SageMaker::ModelQualityJobDefinition"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> ModelQualityJobDefinition:
        from rehearsal.moto_gaps import monitoring

        arn = monitoring.create_model_quality_definition(account_id, region_name, p)
        return cls(arn, p, {"JobDefinitionArn": arn})


class MonitoringSchedule(_Shim):
    """AWS::SageMaker::MonitoringSchedule -> CreateMonitoringSchedule (kept by
    :mod:`rehearsal.moto_gaps.monitoring`); an update of its config -> UpdateMonitoringSchedule."""

    cfn_type = "AWS::SageMaker::MonitoringSchedule"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> MonitoringSchedule:
        from rehearsal.moto_gaps import monitoring

        name = p["MonitoringScheduleName"]
        try:
            arn = monitoring.create_schedule(account_id, region_name, p)
        except monitoring.ScheduleExistsError:
            arn = monitoring.update_schedule(
                account_id, region_name, name, p["MonitoringScheduleConfig"]
            )
        return cls(arn, p, {"MonitoringScheduleArn": arn, "MonitoringScheduleName": name})

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from rehearsal.moto_gaps import monitoring

        name = cloudformation_json.get("Properties", {}).get("MonitoringScheduleName")
        if name:
            monitoring.delete_schedule(account_id, region_name, name)


def _schedule_exists(backend: Any, group: str, name: str) -> bool:
    from moto.scheduler.exceptions import ScheduleNotFound

    try:
        backend.get_schedule(group, name)
    except ScheduleNotFound:
        return False
    return True


class Schedule(_Shim):
    """AWS::Scheduler::Schedule -> moto's CreateSchedule (moto 5.2.5 has the API but no
    CloudFormation model). The schedule is stored as deployed; nothing fires it."""

    cfn_type = "AWS::Scheduler::Schedule"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Schedule:
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[account_id][region_name]
        name, group = p.get("Name") or resource_name, p.get("GroupName") or "default"
        if _schedule_exists(backend, group, name):
            backend.delete_schedule(group, name)  # an update: replaced as deployed
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
        from moto.scheduler.models import scheduler_backends

        p = cloudformation_json.get("Properties", {})
        backend = scheduler_backends[account_id][region_name]
        name, group = p.get("Name") or resource_name, p.get("GroupName") or "default"
        if _schedule_exists(backend, group, name):
            backend.delete_schedule(group, name)


class RestrictDefaultSecurityGroup(_Shim):
    """CDK's Custom::VpcRestrictDefaultSG (a Node.js function, which the runner cannot run):
    the default security group's ingress and egress rules are removed, as it does."""

    cfn_type = "Custom::VpcRestrictDefaultSG"

    @classmethod
    def create(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> RestrictDefaultSecurityGroup:
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[account_id][region_name]
        group = backend.get_security_group_from_id(p["DefaultSecurityGroupId"])
        if group is not None:
            group.ingress_rules.clear()
            group.egress_rules.clear()
        return cls(f"restrict-{p['DefaultSecurityGroupId']}", p, {})


class NotEmulated(_Shim):
    """A type moto has no model for: recorded (Ref/GetAtt resolve to placeholders), not run."""

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> NotEmulated:
        resource_type = cloudformation_json["Type"]
        service = resource_type.split("::")[1].lower()
        physical = resource_name
        arn = f"arn:{_partition(region_name)}:{service}:{region_name}:{account_id}:{physical}"
        NOT_EMULATED[(kwargs.get("StackId", ""), kwargs.get("LogicalId", physical))] = (
            resource_type,
            not_emulated_reason(resource_type) or "",
        )
        return cls(physical, cloudformation_json.get("Properties", {}), {"Arn": arn})


SHIMS: dict[str, type[_Shim]] = {
    shim.cfn_type: shim
    for shim in (
        ScalableTarget,
        ScalingPolicy,
        Alarm,
        BucketPolicy,
        QueuePolicy,
        TopicPolicy,
        Subscription,
        ApiStage,
        GatewayResponse,
        ApiModel,
        RequestValidator,
        ApiAccount,
        ModelPackageGroup,
        DataQualityJobDefinition,
        ModelQualityJobDefinition,
        MonitoringSchedule,
        Schedule,
        RestrictDefaultSecurityGroup,
    )
}


def emulated_types() -> set[str]:
    """Every resource type the patched moto creates for real (moto's models plus the shims)."""
    return set(parsing.get_model_map()) | set(SHIMS)


def not_emulated_reason(resource_type: str) -> str | None:
    """Why ``resource_type`` is only recorded, or None when it is created for real."""
    if resource_type.startswith("Custom::") or resource_type in emulated_types():
        return None
    if resource_type in parsing.NULL_MODELS:
        return "moto 5.2.5 ignores this type"
    return f"moto 5.2.5 has no {resource_type} model; recorded with its properties only"


def _resource_class_from_type(
    original: Callable[[str], Any],
) -> Callable[[str], Any]:
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in SHIMS:
            return SHIMS[resource_type]
        found = original(resource_type)
        if found is None and resource_type not in parsing.NULL_MODELS:
            return NotEmulated
        return found

    return resource_class_from_type


_SAGEMAKER_NAMED = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
)


def _generated_name(original: Callable[[str, str, str], str]) -> Callable[[str, str, str], str]:
    """SageMaker names are at most 63 characters; moto's "<stack>-<logical id>-<suffix>" is
    often longer (every later Describe* of it would be refused by AWS's model)."""

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        if resource_type not in _SAGEMAKER_NAMED:
            return original(resource_type, stack_name, logical_id)
        from moto.cloudformation.utils import random_suffix

        suffix = random_suffix()
        return f"{logical_id[: 62 - len(suffix)]}-{suffix}"

    return generate_resource_name


def _name_sagemaker_resources() -> None:
    """moto 5.2.5 returns "" as the name property, so explicit names were replaced."""
    names = {
        sagemaker_models.FakeEndpoint: "EndpointName",
        sagemaker_models.FakeEndpointConfig: "EndpointConfigName",
        sagemaker_models.Model: "ModelName",
    }
    for model, prop in names.items():
        patch(model, "cloudformation_name_type", staticmethod(lambda prop=prop: prop))
    parsing.get_name_type_map.cache_clear()


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape (what moto parses)."""
    api: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule.get("Status", "Enabled")}
    api["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": str(rule["NoncurrentVersionExpirationInDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    return api


def _apply_bucket_properties(backend: Any, name: str, properties: dict[str, Any]) -> None:
    applied: dict[str, str] = {}

    def attempt(label: str, action: Callable[[], None]) -> None:
        try:
            action()
            applied[label] = "applied"
        except Exception as error:  # reported, never hidden
            applied[label] = f"not applied: {type(error).__name__}: {error}"

    if "VersioningConfiguration" in properties:
        status = properties["VersioningConfiguration"]["Status"]
        attempt("versioning", lambda: backend.put_bucket_versioning(name, status))
    if "PublicAccessBlockConfiguration" in properties:
        block = {k: str(v).lower() for k, v in properties["PublicAccessBlockConfiguration"].items()}
        attempt("public access block", lambda: backend.put_public_access_block(name, block))
    if "OwnershipControls" in properties:
        rule = properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        attempt("ownership controls", lambda: backend.put_bucket_ownership_controls(name, rule))
    if "LifecycleConfiguration" in properties:
        rules = [_lifecycle_rule(r) for r in properties["LifecycleConfiguration"]["Rules"]]
        attempt("lifecycle", lambda: backend.put_bucket_lifecycle(name, rules))
    if "LoggingConfiguration" in properties:
        config = properties["LoggingConfiguration"]
        target = {
            "TargetBucket": config.get("DestinationBucketName", name),
            "TargetPrefix": config.get("LogFilePrefix", ""),
        }

        # moto insists the target's policy already admits the logging service; AWS does not
        # check at configuration time, and CDK's log-bucket policy names this bucket, so it is
        # created after it. Set the configuration as S3 stores it once the target exists.
        def set_logging() -> None:
            backend.get_bucket(target["TargetBucket"])
            backend.get_bucket(name).logging = target

        attempt("access logging", set_logging)
    notification = properties.get("NotificationConfiguration", {})
    if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (
        True,
        "true",
    ):
        attempt(
            "EventBridge notifications",
            lambda: backend.put_bucket_notification_configuration(
                name, {"EventBridgeConfiguration": {}}
            ),
        )
    BUCKET_SETTINGS[name] = applied


def _patch_bucket_creation() -> None:
    original = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        bucket = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        backend = s3_backends[account_id][_partition(region_name)]
        _apply_bucket_properties(backend, bucket.name, cloudformation_json.get("Properties", {}))
        return bucket

    patch(
        FakeBucket, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json)
    )


def _patch_kms_key_creation() -> None:
    """moto 5.2.5 hands CloudFormation's ``Tags`` ({Key, Value}) to a tagger that expects
    {TagKey, TagValue} (KeyError: every tagged key fails) and keeps KeyPolicy as a dict."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties["Tags"] = [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])
        ]
        if not isinstance(properties.get("KeyPolicy"), str):
            properties["KeyPolicy"] = json.dumps(properties.get("KeyPolicy", {}))
        return original(
            cls,
            resource_name,
            {**cloudformation_json, "Properties": properties},
            account_id,
            region_name,
            **kwargs,
        )

    patch(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _get_permission(self: Any, action: str, resource: str) -> Any:
    """moto applies a statement's effect and ignores its Condition: an enforce-SSL deny
    (``aws:SecureTransport: false``) would deny everything. Statements with a Condition are
    skipped instead of misapplied (listed as an open gap)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    unconditional = [s for s in statements if "Condition" not in s]
    if not unconditional:
        return PermissionResult.NEUTRAL
    document["Statement"] = unconditional
    return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)


# How long an UpdateEndpoint stays "Updating" before it settles (SageMaker: minutes).
UPDATE_SECONDS = 1.0
# Each endpoint's last update request: DeploymentConfig, RetainAllVariantProperties and
# ExcludeRetainedVariantProperties (accepted, traffic shifting not simulated).
DEPLOYMENT_CONFIGS: dict[str, dict[str, Any]] = {}
# What RetainAllVariantProperties keeps unless excluded (VariantPropertyType -> fields).
_RETAINED = {
    "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
}


def _update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    deployment_config: dict[str, Any] | None = None,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
) -> str:
    """UpdateEndpoint (moto 5.2.5 has none): "Updating" for :data:`UPDATE_SECONDS` while the
    old config keeps serving, then the new config, "InService" and the state-change event.
    With ``RetainAllVariantProperties`` the variants keep their instance count and weight (what
    autoscaling set), except what ``ExcludeRetainedVariantProperties`` names; data capture
    always follows the new config (its retention is "not currently supported")."""
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError

    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = sagemaker_models.FakeEndpoint.arn_formatter(
            endpoint_name, self.account_id, self.region_name
        )
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    excluded = {p["VariantPropertyType"] for p in exclude_retained_variant_properties or []}
    with _lock:
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
        if endpoint_config_name == endpoint.endpoint_config_name:
            raise ValidationError(
                message="Cannot update endpoint to the endpoint config it already uses."
            )
        config = self.describe_endpoint_config(endpoint_config_name)
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = utcnow()
        DEPLOYMENT_CONFIGS[endpoint_name] = {
            "DeploymentConfig": deployment_config,
            "RetainAllVariantProperties": retain_all_variant_properties,
            "ExcludeRetainedVariantProperties": sorted(excluded),
        }

    def settle() -> None:
        with _lock:
            old = {v["VariantName"]: v for v in endpoint.production_variants}
            variants = endpoint._process_production_variants(config["ProductionVariants"])
            if retain_all_variant_properties:
                for variant in variants:
                    kept = old.get(variant["VariantName"], {})
                    for kind, fields in _RETAINED.items():
                        if kind not in excluded:
                            variant.update({f: kept[f] for f in fields if f in kept})
            endpoint.endpoint_config_name = endpoint_config_name
            endpoint.production_variants = variants
            endpoint.data_capture_config = config.get("DataCaptureConfig")
            endpoint.last_modified_time = utcnow()
            endpoint.endpoint_status = "InService"
        _emit_state_change(self.account_id, self.region_name, endpoint)

    timer = threading.Timer(UPDATE_SECONDS, settle)
    timer.daemon = True
    timer.start()
    return str(endpoint.arn)


def _update_endpoint_from_template(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """CloudFormation updates an endpoint that keeps its name with UpdateEndpoint (moto 5.2.5
    deletes and recreates it, losing the fleet); a new name replaces it."""
    properties = cloudformation_json["Properties"]
    name = properties.get("EndpointName") or original_resource.endpoint_name
    if name != original_resource.endpoint_name:
        cls.delete_from_cloudformation_json(
            original_resource.arn, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
    backend: Any = sagemaker_models.sagemaker_backends[account_id][region_name]
    backend.update_endpoint(
        endpoint_name=name,
        endpoint_config_name=properties["EndpointConfigName"],
        retain_all_variant_properties=str(properties.get("RetainAllVariantProperties", ""))
        .lower()
        .startswith("t"),
        deployment_config=properties.get("DeploymentConfig"),
        exclude_retained_variant_properties=properties.get("ExcludeRetainedVariantProperties"),
    )
    return original_resource


def _emit_state_change(account_id: str, region: str, endpoint: Any) -> None:
    """SageMaker publishes "SageMaker Endpoint State Change" to EventBridge when an update
    settles; moto never does."""
    from moto.events.models import events_backends

    detail = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "EndpointStatus": "IN_SERVICE",
    }
    entry = {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Endpoint State Change",
        "Detail": json.dumps(detail),
        "Resources": [endpoint.arn],
    }
    events_backends[account_id][region].put_events([entry])


def _update_endpoint_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=self._get_param("RetainAllVariantProperties", False),
        deployment_config=self._get_param("DeploymentConfig"),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
    )
    return ActionResult({"EndpointArn": arn})


def _changed_ssm_parameters(resource_map: Any, inputs: dict[str, Any]) -> set[str]:
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


def _ssm_parameters_changed(stack: Any) -> bool:
    return bool(_changed_ssm_parameters(stack.resource_map, stack.parameters))


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


#: Every property of these is create-only: any change replaces them, with a new name.
_REPLACED_ON_CHANGE = frozenset({"AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"})


def _build_resource_diff(original: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """What CloudFormation updates: moto 5.2.5 looks at changed templates and parameter inputs
    only. Also update what references an SSM parameter type whose value changed, and what
    references a replaced resource (a new Model name changes its EndpointConfig, whose new name
    changes the Endpoint)."""

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff = original(self, other_template, parameters)
        new, old = other_template["Resources"], self._resource_json_map
        modify: list[str] = diff["Modify"]
        changed = _changed_ssm_parameters(self, parameters or self.input_parameters)
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
    """CloudFormation resolves SSM parameter types again on every update, so an unchanged
    template whose parameter now names another value is an update; moto 5.2.5 compares the
    previously resolved values and answers "No updates are to be performed"."""

    def validate(self: Any, incoming_params: Any, stack_body: str, old_stack: Any) -> None:
        if _ssm_parameters_changed(old_stack):
            return
        original(self, incoming_params, stack_body, old_stack)

    return validate


def _resolve_update_parameters(
    self: Any, instance: Any, incoming_params: list[dict[str, Any]]
) -> dict[str, Any]:
    """``UsePreviousValue`` for a parameter the stack took from its ``Default`` (the CDK CLI
    sends it for SSM parameter types): the previous value is the default, the parameter's
    name; moto 5.2.5 looks it up among the values passed at creation and fails (KeyError)."""
    slots = instance.resource_map._template.get("Parameters", {})
    parameters: dict[str, Any] = {}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if "ParameterValue" in parameter:
            parameters[key] = parameter["ParameterValue"]
        elif parameter.get("UsePreviousValue", False):
            parameters[key] = instance.parameters.get(key, slots.get(key, {}).get("Default"))
    return parameters


POWERTOOLS_PARAMETER = re.compile(
    r"^/aws/service/powertools/python/(?P<arch>[a-z0-9_]+)/(?P<python>python[0-9.]+)/"
    r"(?P<version>[0-9.]+)$"
)
POWERTOOLS_ACCOUNT = "017000801446"


def seed_public_parameters(template: dict[str, Any], account_id: str, region: str) -> list[str]:
    """AWS publishes ``/aws/service/...`` parameters in every account; moto has only a few.
    Seeds the Powertools layer parameters a template resolves (and the layer version they
    name, with empty content: the runner's interpreter already has the pinned Powertools).
    Returns what was seeded; any other public parameter is left for CloudFormation to report."""
    import base64
    import io
    import zipfile

    from moto.awslambda.models import lambda_backends
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ssm_backends

    parameters = ssm_backends[account_id][region]._parameters
    seeded = []
    for slot in template.get("Parameters", {}).values():
        name = str(slot.get("Default", ""))
        match = POWERTOOLS_PARAMETER.match(name)
        if not match or not slot.get("Type", "").startswith("AWS::SSM::Parameter::Value"):
            continue
        if dict.get(parameters, name):
            continue
        python = match["python"].replace(".", "")
        layer_name = f"AWSLambdaPowertoolsPythonV3-{python}-{match['arch']}"
        empty = io.BytesIO()
        with zipfile.ZipFile(empty, "w") as archive:
            archive.writestr("python/.rehearsal", "the runner provides aws_lambda_powertools\n")
        layer = lambda_backends[account_id][region].publish_layer_version(
            {
                "LayerName": layer_name,
                "Content": {"ZipFile": base64.b64encode(empty.getvalue()).decode()},
                "Description": f"stand-in for Powertools {match['version']}",
            }
        )
        arn = (
            f"arn:{_partition(region)}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
            f"{layer_name}:{layer.version}"
        )
        parameters[name].append(
            Parameter(  # type: ignore[abstract]
                account_id=account_id,
                name=name,
                value=arn,
                parameter_type="String",
                description="AWS public parameter (seeded by the rehearsal)",
                allowed_pattern=None,
                keyid=None,
                last_modified_date=utcnow(),
                version=1,
                data_type="text",
            )
        )
        seeded.append(f"{name} = {arn}")
    return seeded


def install() -> None:
    """Apply the resource and API patches once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        patch(
            parsing,
            "resource_class_from_type",
            _resource_class_from_type(parsing.resource_class_from_type),
        )
        _name_sagemaker_resources()
        patch(parsing, "generate_resource_name", _generated_name(parsing.generate_resource_name))
        _patch_bucket_creation()
        _patch_kms_key_creation()
        patch(FakeBucket, "get_permission", _get_permission)
        patch(sagemaker_models.SageMakerModelBackend, "update_endpoint", _update_endpoint)
        patch(SageMakerResponse, "update_endpoint", _update_endpoint_response)
        patch(
            sagemaker_models.FakeEndpoint,
            "update_from_cloudformation_json",
            classmethod(_update_endpoint_from_template),
        )
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
        _installed = True


def uninstall() -> None:
    """Forget that the patches were applied (``_patching.restore_all`` undoes them)."""
    global _installed
    with _lock:
        _installed = False
        parsing.get_name_type_map.cache_clear()
