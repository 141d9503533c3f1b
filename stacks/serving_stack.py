"""The endpoint (or, for a small model, the function that serves it inside Lambda) and
everything around it; deployed once a model artifact is published.

Composed by capability: a variant that lacks ``sagemaker_endpoint`` gets the Lambda-hosted
model (:class:`~ml_constructs.lambda_model.construct.LambdaModel`) instead of the SageMaker
model, endpoint config, endpoint, serving image, endpoint autoscaling and endpoint alarms; the
API integrates its alias, and its alarms roll CodeDeploy's shifts back."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.artifact_storage import DATA_CAPTURE_PREFIX, MONITORING_BASELINE_PREFIX
from ml_constructs.async_autoscaling import AsyncAutoscaling, AsyncAutoscalingProps
from ml_constructs.async_inference import AsyncNotifications, AsyncNotificationsProps
from ml_constructs.drift_monitor.construct import DriftMonitor
from ml_constructs.endpoint_autoscaling import (
    EndpointAutoscaling,
    EndpointAutoscalingProps,
    ScheduledBounds,
)
from ml_constructs.framework_image import FrameworkImage
from ml_constructs.inference_api.construct import InferenceApi
from ml_constructs.lambda_model.construct import LambdaModel
from ml_constructs.model_endpoint import ModelEndpoint, ModelEndpointProps
from ml_constructs.model_monitor.construct import ModelMonitor
from ml_constructs.model_promotion.construct import ModelPromotion
from ml_constructs.monitoring.construct import Monitoring
from ml_constructs.private_network.construct import (
    acknowledge_imported_endpoints,
    sagemaker_vpc_config,
)
from ml_constructs.retraining.construct import Retraining
from serving_config import Settings
from serving_core.frameworks import container_environment
from serving_core.variants import LambdaVariant
from stacks.construct_props import (
    deployment_policy,
    drift_monitor_props,
    inference_api_props,
    lambda_model_props,
    model_monitor_props,
    monitoring_props,
    promotion_props,
    retraining_props,
)
from stacks.data_stack import ModelDataStack, removal_policy
from stacks.outputs import add_outputs


class ModelServingStack(Stack):
    """Endpoint, autoscaling, front door, monitoring and promotion."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        data: ModelDataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(data)
        self.settings, self.data = settings, data
        self.endpoint: ModelEndpoint | None = None
        self.lambda_model: LambdaModel | None = None
        if settings.variant.supports("sagemaker_endpoint"):
            self._serve()
        else:
            self._serve_in_lambda()
        self._front_door()
        self._operate()
        # Watching the model on the captured traffic, against the baseline of the model that
        # serves (the promotion keeps it current): the in-account monitor, or Model Monitor.
        self.model_monitor: ModelMonitor | DriftMonitor | None = None
        self.model_alarms: list[cloudwatch.Alarm] = []
        if settings.model_monitor.enabled:
            self._watch_the_model(settings, data)
        self._promote()
        self._retrain()
        self.monitoring.add_alarm_overview()
        self.outputs = self._outputs()

    def _serve(self) -> None:
        """The endpoint of the configured variant, and what scales it."""
        settings, data = self.settings, self.data
        # The model that serves is whatever the SSM parameter names at deploy time: written by
        # the publish step and by every promotion, never by CloudFormation, so a later
        # `cdk deploy` keeps the promoted model instead of rolling it back.
        model_data_url = ssm.StringParameter.value_for_string_parameter(
            self, settings.artifact_parameter
        )
        # Resolved in this stack too (a mapping of its own), not imported from the data stack.
        image = FrameworkImage(self, "ServingImage", spec=data.serving_image_spec)
        self.endpoint = self._endpoint(settings, data, image.image_uri, model_data_url)
        self._scale(settings, self.endpoint)

    def _serve_in_lambda(self) -> None:
        """The model inside a Lambda function: its version, alias and CodeDeploy group; the
        model it loads is what the SSM parameter names at deploy time, as for an endpoint."""
        settings, data = self.settings, self.data
        model_data_url = ssm.StringParameter.value_for_string_parameter(
            self, settings.artifact_parameter
        )
        self.lambda_model = LambdaModel(
            self,
            "LambdaModel",
            props=lambda_model_props(
                settings,
                model_data_url=model_data_url,
                bucket=data.storage.bucket,
                encryption_key=data.encryption.key,
                network=data.network,
                removal_policy=removal_policy(settings),
            ),
        )

    @property
    def model_name(self) -> str:
        """The name the served model is known by (the endpoint's, or the model function's):
        the capture folder the monitors read, the alarms' dimensions."""
        if self.endpoint is not None:
            return self.endpoint.endpoint_name
        assert self.lambda_model is not None
        return self.lambda_model.endpoint_name

    def _front_door(self) -> None:
        """IAM-authenticated REST API -> validating function -> this endpoint."""
        settings, data = self.settings, self.data
        model = self.lambda_model
        self.inference_api = InferenceApi(
            self,
            "InferenceApi",
            props=inference_api_props(
                settings,
                endpoint_name=self.model_name,
                endpoint_arn=self.endpoint.endpoint_arn if self.endpoint is not None else "",
                encryption_key=data.encryption.key,
                removal_policy=removal_policy(settings),
                network=data.network,
                async_storage=(
                    data.storage if settings.variant.supports("async_invocation") else None
                ),
                backend=model.alias if model is not None else None,
            ),
        )
        # The deployer role checks a deployment by predicting through this API (the delivery
        # pipeline's prediction check assumes it).
        self.inference_api.allow_predict(data.operators.role)

    def _operate(self) -> None:
        """Alarms (endpoint or model function, API, promotions) on one encrypted topic, a
        dashboard. The model function's alias alarms roll its CodeDeploy shifts back."""
        settings, variant = self.settings, self.settings.variant
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            props=monitoring_props(
                settings,
                encryption_key=self.data.encryption.key,
                endpoint_name=self.model_name,
                variant_name=variant.name,
                instance_type=variant.instance_metrics_type,
            ),
        )
        if self.lambda_model is None:
            self.monitoring.add_inference_api(
                self.inference_api, function_timeout_s=settings.api.function_timeout_s
            )
            return
        assert isinstance(variant, LambdaVariant)
        self.monitoring.add_inference_api(
            self.inference_api,
            function_timeout_s=variant.timeout_s,
            reservation_setting="lambda_model.reserved_concurrency",
        )
        self.lambda_model.add_rollback_alarms(
            self.monitoring.add_model_function(
                self.lambda_model,
                reserved_concurrency=variant.reserved_concurrency,
                provisioned_concurrency=variant.provisioned_concurrency,
            )
        )

    def _promote(self) -> None:
        """Every update of what serves, by `cdk deploy` or by a promotion, moves with the same
        policy and rollback alarms: an endpoint blue/green (keeping the fleet autoscaling set),
        a Lambda-hosted model's alias through its CodeDeploy group. Uploads and approvals are
        promoted into it."""
        settings, data = self.settings, self.data
        if self.endpoint is not None:
            self.endpoint.use_deployment_policy(
                deployment_policy(settings.promotion, self.monitoring.rollback_alarms),
                autoscaled=settings.scales,
            )
        self.promotion = ModelPromotion(
            self,
            "Promotion",
            props=promotion_props(
                settings,
                endpoint=self.endpoint,
                lambda_target=self.lambda_model.target if self.lambda_model else None,
                storage=data.storage,
                encryption_key=data.encryption.key,
                alarm_topic=self.monitoring.topic,
                monitoring_baseline_prefix=(
                    MONITORING_BASELINE_PREFIX if self.model_monitor is not None else None
                ),
                network=data.network,
                removal_policy=removal_policy(settings),
            ),
        )
        self.monitoring.add_promotion(self.promotion)

    def _retrain(self) -> None:
        """Closing the loop (off by default): a model alarm starts the launcher's job."""
        settings, data = self.settings, self.data
        monitor = settings.model_monitor
        self.retraining: Retraining | None = None
        if not (monitor.enabled and monitor.retraining.enabled):
            return
        self.retraining = Retraining(
            self,
            "Retraining",
            props=retraining_props(
                settings,
                storage=data.storage,
                encryption_key=data.encryption.key,
                training_role_arn=data.roles.training_role_arn,
                training_image_uri=FrameworkImage(
                    self, "TrainingImage", spec=data.training_image_spec
                ).image_uri,
                topic=self.monitoring.topic,
                alarm_name_prefixes=self.monitoring.model_alarm_name_prefixes(),
                network=data.network,
                removal_policy=removal_policy(settings),
            ),
        )

    def _outputs(self) -> dict[str, CfnOutput]:
        """What a pipeline step and an operator read back from the stack."""
        if self.endpoint is None:
            return self._lambda_outputs()
        assert self.promotion is not None
        return add_outputs(
            self,
            {
                "InferenceApiUrl": (
                    self.inference_api.predict_url,
                    "POST /predict (async endpoints: POST /predict-async, GET "
                    "/predict-async/{id}), SigV4-signed (python -m client.predict_client)",
                ),
                "InferenceFunctionName": (
                    self.inference_api.function_name,
                    "Lambda function behind the inference API",
                ),
                "AlarmTopicArn": (
                    self.monitoring.topic_arn,
                    "SNS topic of all alarms and promotion reports (KMS-encrypted)",
                ),
                "DashboardName": (
                    self.monitoring.dashboard_name,
                    "CloudWatch dashboard of the endpoint, API and promotions",
                ),
                "PromotionQueueUrl": (
                    self.promotion.queue_url,
                    "Promotion requests (S3 uploads under models/ arrive here)",
                ),
                "EndpointName": (
                    self.endpoint.endpoint_name,
                    "SageMaker endpoint",
                ),
            },
        )

    def _lambda_outputs(self) -> dict[str, CfnOutput]:
        """The Lambda-hosted model's outputs: no EndpointName (there is no endpoint)."""
        model = self.lambda_model
        assert model is not None
        outputs = {
            "InferenceApiUrl": (
                self.inference_api.predict_url,
                "POST /predict, SigV4-signed (python -m client.predict_client)",
            ),
            "InferenceFunctionName": (
                model.function.function_name,
                "Lambda function that serves the model (the API invokes its live alias)",
            ),
            "ModelAliasArn": (model.alias.function_arn, "The alias API Gateway invokes"),
            "DeploymentGroupName": (
                model.deployment_group.deployment_group_name,
                "CodeDeploy group that shifts the alias to a new version",
            ),
            "AlarmTopicArn": (
                self.monitoring.topic_arn,
                "SNS topic of all alarms and promotion reports (KMS-encrypted)",
            ),
            "DashboardName": (
                self.monitoring.dashboard_name,
                "CloudWatch dashboard of the model function, API and promotions",
            ),
        }
        assert self.promotion is not None
        outputs["PromotionQueueUrl"] = (
            self.promotion.queue_url,
            "Promotion requests (S3 uploads under models/ arrive here)",
        )
        return add_outputs(self, outputs)

    def _endpoint(
        self, settings: Settings, data: ModelDataStack, image_uri: str, model_data_url: str
    ) -> ModelEndpoint:
        """The variant's endpoint; an asynchronous one with its topics and role grants."""
        self.async_notifications: AsyncNotifications | None = None
        if settings.variant.supports("async_invocation"):
            self.async_notifications = AsyncNotifications(
                self,
                "AsyncInference",
                props=AsyncNotificationsProps(
                    prefix=settings.prefix,
                    storage=data.storage,
                    encryption_key=data.encryption.key,
                    execution_role=data.roles.execution_role,
                ),
            )
        endpoint = ModelEndpoint(
            self,
            "Endpoint",
            props=ModelEndpointProps(
                prefix=settings.prefix,
                image_uri=image_uri,
                model_data_url=model_data_url,
                execution_role=data.roles.execution_role,
                encryption_key=data.encryption.key,
                variant=settings.variant,
                data_capture_s3_uri=data.storage.s3_uri(DATA_CAPTURE_PREFIX),
                data_capture_percent=settings.endpoint.data_capture_percent,
                vpc_config=sagemaker_vpc_config(data.network),
                async_output=self.async_notifications.output if self.async_notifications else None,
                container_environment=container_environment(settings.model.framework, self.region),
            ),
        )
        acknowledge_imported_endpoints(data.network, endpoint)
        if self.async_notifications is not None:
            endpoint.endpoint_config.node.add_dependency(self.async_notifications.role_policy)
        return endpoint

    def _scale(self, settings: Settings, endpoint: ModelEndpoint) -> None:
        """Target tracking (``scaling:``), or an asynchronous endpoint's backlog scaling."""
        self.autoscaling: EndpointAutoscaling | None = None
        self.async_autoscaling: AsyncAutoscaling | None = None
        if settings.variant.supports("async_invocation"):
            backlog = settings.async_inference
            self.async_autoscaling = AsyncAutoscaling(
                self,
                "AsyncAutoscaling",
                props=AsyncAutoscalingProps(
                    prefix=settings.prefix,
                    endpoint_name=endpoint.endpoint_name,
                    variant=settings.variant,
                    target_backlog_per_instance=backlog.target_backlog_per_instance,
                    scale_in_cooldown_s=backlog.scale_in_cooldown_s,
                    scale_out_cooldown_s=backlog.scale_out_cooldown_s,
                    wake_cooldown_s=backlog.wake_cooldown_s,
                    wake_evaluation_periods=backlog.wake_evaluation_periods,
                ),
                endpoint=endpoint.endpoint,
            )
        if settings.scaling is not None:
            scaling = settings.scaling
            self.autoscaling = EndpointAutoscaling(
                self,
                "Autoscaling",
                props=EndpointAutoscalingProps(
                    endpoint_name=endpoint.endpoint_name,
                    variant=settings.variant,
                    min_capacity=scaling.min_capacity,
                    max_capacity=scaling.max_capacity,
                    target_invocations_per_instance=scaling.target_invocations_per_instance,
                    scale_in_cooldown_s=scaling.scale_in_cooldown_s,
                    scale_out_cooldown_s=scaling.scale_out_cooldown_s,
                    cpu_target_percent=scaling.cpu_target_percent,
                    concurrent_requests_target=scaling.concurrent_requests_target,
                    time_zone=scaling.time_zone,
                    schedules=tuple(
                        ScheduledBounds(s.name, s.cron, s.min_capacity, s.max_capacity)
                        for s in scaling.schedules
                    ),
                ),
                endpoint=endpoint.endpoint,
            )

    def _watch_the_model(self, settings: Settings, data: ModelDataStack) -> None:
        """The configured monitor, its alarms (drift per watched feature, AUC, failed runs)."""
        monitor = settings.model_monitor
        min_auc = monitor.min_auc if monitor.min_auc is not None else settings.promotion.min_auc
        if monitor.engine == "own":
            self.model_monitor = DriftMonitor(
                self,
                "DriftMonitor",
                props=drift_monitor_props(
                    settings,
                    endpoint_name=self.model_name,
                    storage=data.storage,
                    encryption_key=data.encryption.key,
                    topic=self.monitoring.topic,
                    network=data.network,
                    removal_policy=removal_policy(settings),
                ),
            )
        else:
            assert self.endpoint is not None  # configuration: Model Monitor needs an endpoint
            self.model_monitor = ModelMonitor(
                self,
                "ModelMonitor",
                props=model_monitor_props(
                    settings,
                    endpoint_name=self.endpoint.endpoint_name,
                    storage=data.storage,
                    encryption_key=data.encryption.key,
                    network=data.network,
                ),
                endpoint=self.endpoint.endpoint,
            )
            self.model_monitor.notify_failures(self.monitoring.topic)
        acknowledge_imported_endpoints(data.network, self.model_monitor)
        self.model_alarms = self.monitoring.add_model_monitor(
            self.model_monitor,
            drift_features=monitor.drift_features,
            min_auc=min_auc if monitor.model_quality else None,
            schedule_hours=monitor.interval_hours,
        )
