"""From an environment's configuration to each construct's props: one small function per
construct. The constructs never import the configuration (``serving_config``); the stacks
call these with the settings and with what other constructs made (keys, buckets, topics)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from ml_constructs.artifact_storage import ArtifactStorage
from ml_constructs.drift_monitor.construct import DriftMonitorProps
from ml_constructs.inference_api.construct import LOG_RETENTION, InferenceApiProps
from ml_constructs.lambda_model.construct import LambdaModelProps, ScheduledConcurrency
from ml_constructs.model_endpoint import ModelEndpoint
from ml_constructs.model_monitor.construct import ModelMonitorProps
from ml_constructs.model_promotion.construct import (
    ModelPromotionProps,
    RegistryApprovals,
    source_artifact_arns,
)
from ml_constructs.model_promotion.lambda_target import LambdaTarget
from ml_constructs.monitoring.construct import MonitoringProps
from ml_constructs.private_network.construct import (
    ImportedSubnet,
    PrivateNetwork,
    PrivateNetworkProps,
)
from ml_constructs.retraining.construct import RetrainingProps
from serving_config import PromotionSettings, Settings
from serving_core.deployment_policy import DeploymentPolicy, lambda_traffic_shifting
from serving_core.variants import LambdaVariant


def network_props(
    settings: Settings, *, encryption_key: kms.IKey, bucket_arn: str, removal_policy: RemovalPolicy
) -> PrivateNetworkProps:
    """The ``network:`` section (mode ``create`` or ``import``), the private API, and the
    other account's artifacts a promotion from its registry reads."""
    network = settings.network
    if network.mode == "none":
        raise ValueError("network.mode is 'none': there is no private network to build")
    return PrivateNetworkProps(
        prefix=settings.prefix,
        mode=network.mode,
        encryption_key=encryption_key,
        bucket_arn=bucket_arn,
        cidr=network.cidr,
        availability_zones=network.availability_zones,
        flow_log_retention_days=network.flow_log_retention_days,
        vpc_id=network.vpc_id,
        subnets=tuple(
            ImportedSubnet(s.subnet_id, s.availability_zone, s.route_table_id)
            for s in network.subnets
        ),
        security_group_ids=network.security_group_ids,
        create_endpoints=network.create_endpoints,
        private_api=settings.api.endpoint_type == "private",
        extra_endpoints=tuple(settings.variant.promotion_services.items()),
        removal_policy=removal_policy,
        external_reads=source_artifact_arns(settings.registry.source_bucket),
    )


def inference_api_props(
    settings: Settings,
    *,
    endpoint_name: str,
    endpoint_arn: str,
    encryption_key: kms.IKey | None,
    removal_policy: RemovalPolicy,
    network: PrivateNetwork | None = None,
    async_storage: ArtifactStorage | None = None,
    backend: lambda_.IFunction | None = None,
) -> InferenceApiProps:
    """The ``api:`` and ``model:`` sections; ``backend``: the model function's alias when the
    model runs inside Lambda (the API integrates it instead of a function of its own)."""
    api = settings.api
    return InferenceApiProps(
        prefix=settings.prefix,
        endpoint_name=endpoint_name,
        endpoint_arn=endpoint_arn,
        feature_count=settings.model.feature_count,
        feature_names=api.feature_names,
        max_rows=api.max_rows,
        max_payload_bytes=api.max_payload_bytes,
        throttle_rate_limit=api.throttle_rate_limit,
        throttle_burst_limit=api.throttle_burst_limit,
        reserved_concurrency=api.reserved_concurrency,
        function_timeout_s=api.function_timeout_s,
        function_memory_mb=api.function_memory_mb,
        architecture=api.architecture,
        log_retention_days=api.log_retention_days,
        connect_timeout_s=api.invoke_connect_timeout_s,
        read_timeout_s=api.invoke_read_timeout_s,
        max_attempts=api.invoke_max_attempts,
        retry_after_s=api.retry_after_s,
        powertools_version=api.powertools_version,
        execution_log_level=api.execution_log_level,
        manage_account_cloudwatch_role=api.manage_account_cloudwatch_role,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
        network=network,
        endpoint_type=api.endpoint_type,
        async_bucket=async_storage.bucket if async_storage is not None else None,
        backend=backend,
    )


def monitoring_props(
    settings: Settings,
    *,
    encryption_key: kms.IKey,
    endpoint_name: str,
    variant_name: str,
    instance_type: str | None,
) -> MonitoringProps:
    """The ``alarms:`` section; ``instance_type`` None for a fleet without instance metrics;
    no endpoint alarms where the model runs inside Lambda."""
    return MonitoringProps(
        prefix=settings.prefix,
        alarms=settings.alarms,  # the shared thresholds type (serving_core)
        encryption_key=encryption_key,
        endpoint_name=endpoint_name,
        variant_name=variant_name,
        instance_type=instance_type,
        sagemaker_endpoint=settings.variant.supports("sagemaker_endpoint"),
    )


def lambda_model_props(
    settings: Settings,
    *,
    model_data_url: str,
    bucket: s3.IBucket,
    encryption_key: kms.IKey,
    network: PrivateNetwork | None,
    removal_policy: RemovalPolicy,
) -> LambdaModelProps:
    """The ``lambda_model:`` section with the variant it describes, the request limits of
    ``api:``/``model:``, data capture (``endpoint.data_capture_percent``) and the promotion
    policy as CodeDeploy shifts the alias."""
    variant, function, api = settings.variant, settings.lambda_model, settings.api
    if not isinstance(variant, LambdaVariant):
        raise ValueError(f"endpoint.kind: {variant.why_not('sagemaker_endpoint') or 'not lambda'}")
    return LambdaModelProps(
        prefix=settings.prefix,
        variant=variant,
        model_data_url=model_data_url,
        bucket=bucket,
        encryption_key=encryption_key,
        feature_count=settings.model.feature_count,
        feature_names=api.feature_names,
        max_rows=api.max_rows,
        max_payload_bytes=api.max_payload_bytes,
        shifting=lambda_traffic_shifting(deployment_policy(settings.promotion, ())),
        capture_percent=settings.endpoint.data_capture_percent,
        capture_max_records=function.capture_max_records,
        capture_max_age_s=function.capture_max_age_s,
        schedules=tuple(
            ScheduledConcurrency(s.name, s.cron, *s.bounds) for s in function.schedules
        ),
        time_zone=function.time_zone,
        log_retention=LOG_RETENTION[api.log_retention_days],
        network=network,
        removal_policy=removal_policy,
    )


def deployment_policy(
    settings: PromotionSettings, rollback_alarms: Sequence[cloudwatch.IAlarm]
) -> DeploymentPolicy:
    """The blue/green policy of both promotions and ``cdk deploy`` (one source): the
    ``promotion:`` section's traffic shifting, and the alarms that roll it back."""
    return DeploymentPolicy(
        traffic_shifting=settings.traffic_shifting,
        step_percent=settings.canary_percent,
        wait_before_shift_s=settings.wait_before_shift_s,
        termination_wait_s=settings.termination_wait_s,
        max_execution_timeout_s=settings.max_execution_timeout_s,
        rollback_alarm_names=tuple(alarm.alarm_name for alarm in rollback_alarms),
    )


def registry_approvals(settings: Settings) -> RegistryApprovals | None:
    """Whose approvals promote (``registry.trigger`` registry or both): this environment's
    own group, or the source account's (``registry.source_group_arn``)."""
    registry = settings.registry
    if not registry.from_registry:
        return None
    return RegistryApprovals(
        group_name=registry.source_group_name or settings.model_package_group,
        source_account=registry.source_account,
        source_bucket=registry.source_bucket,
        source_key_arn=registry.source_key_arn,
    )


def promotion_props(
    settings: Settings,
    *,
    endpoint: ModelEndpoint | None,
    lambda_target: LambdaTarget | None,
    storage: ArtifactStorage,
    encryption_key: kms.IKey,
    alarm_topic: sns.ITopic,
    monitoring_baseline_prefix: str | None,
    network: PrivateNetwork | None,
    removal_policy: RemovalPolicy,
) -> ModelPromotionProps:
    """The ``promotion:`` and ``registry:`` sections, the model's input (``model:``, ``api:``)
    and the parameter that names the serving model."""
    promotion = settings.promotion
    return ModelPromotionProps(
        prefix=settings.prefix,
        endpoint=endpoint,
        lambda_target=lambda_target,
        bucket=storage.bucket,
        encryption_key=encryption_key,
        artifact_parameter=settings.artifact_parameter,
        feature_count=settings.model.feature_count,
        alarm_topic=alarm_topic,
        min_auc=promotion.min_auc,
        require_metrics=promotion.require_metrics,
        max_artifact_mb=promotion.max_artifact_mb,
        keep_previous=promotion.keep_previous,
        queue_max_receive_count=promotion.queue_max_receive_count,
        retry_delay_s=promotion.retry_delay_s,
        api_max_rows=settings.api.max_rows,
        api_feature_names=settings.api.feature_names,
        from_upload=settings.registry.from_upload,
        approvals=registry_approvals(settings),
        monitoring_baseline_prefix=monitoring_baseline_prefix,
        network=network,
        framework=settings.model.framework,
        removal_policy=removal_policy,
    )


def retraining_props(
    settings: Settings,
    *,
    storage: ArtifactStorage,
    encryption_key: kms.IKey,
    training_role_arn: str,
    training_image_uri: str,
    topic: sns.ITopic,
    alarm_name_prefixes: Sequence[str],
    network: PrivateNetwork | None,
    removal_policy: RemovalPolicy,
) -> RetrainingProps:
    """The ``model_monitor.retraining:`` section; whether a retrained model promotes itself
    (uploads promote, ``registry.trigger``)."""
    retraining = settings.model_monitor.retraining
    return RetrainingProps(
        prefix=settings.prefix,
        environment_name=settings.name,
        storage_bucket=storage.bucket,
        bucket_name=storage.bucket_name,
        encryption_key=encryption_key,
        training_role_arn=training_role_arn,
        training_image_uri=training_image_uri,
        topic=topic,
        alarm_name_prefixes=alarm_name_prefixes,
        promotes_uploads=settings.registry.from_upload,
        cooldown_hours=retraining.cooldown_hours,
        instance_type=retraining.instance_type,
        volume_size_gb=retraining.volume_size_gb,
        max_runtime_s=retraining.max_runtime_s,
        hyperparameters=dict(item.split("=", 1) for item in retraining.hyperparameters),
        framework=settings.model.framework,
        network=network,
        removal_policy=removal_policy,
    )


def drift_monitor_props(
    settings: Settings,
    *,
    endpoint_name: str,
    storage: ArtifactStorage,
    encryption_key: kms.IKey,
    topic: sns.ITopic,
    network: PrivateNetwork | None,
    removal_policy: RemovalPolicy,
) -> DriftMonitorProps:
    """The ``model_monitor:`` section with ``engine: own`` (its ``own:`` part)."""
    monitor = settings.model_monitor
    own = monitor.own
    return DriftMonitorProps(
        prefix=settings.prefix,
        endpoint_name=endpoint_name,
        storage=storage,
        encryption_key=encryption_key,
        topic=topic,
        schedule=monitor.schedule,
        window_hours=monitor.interval_hours,
        label_delay_hours=monitor.label_delay_hours,
        sample_size=own.sample_size,
        min_labels=own.min_labels,
        drift_share=own.drift_share,
        stattest=own.stattest,
        stattest_threshold=own.stattest_threshold,
        probability_threshold=monitor.probability_threshold,
        model_quality=monitor.model_quality,
        memory_mb=own.memory_mb,
        timeout_s=own.timeout_s,
        architecture=own.architecture,
        network=network,
        removal_policy=removal_policy,
    )


def model_monitor_props(
    settings: Settings,
    *,
    endpoint_name: str,
    storage: ArtifactStorage,
    encryption_key: kms.IKey,
    network: PrivateNetwork | None,
) -> ModelMonitorProps:
    """The ``model_monitor:`` section with ``engine: sagemaker``."""
    monitor = settings.model_monitor
    return ModelMonitorProps(
        prefix=settings.prefix,
        endpoint_name=endpoint_name,
        storage=storage,
        encryption_key=encryption_key,
        schedule=monitor.schedule,
        instance_type=monitor.instance_type,
        volume_size_gb=monitor.volume_size_gb,
        max_runtime_s=monitor.max_runtime_s,
        drift_threshold=monitor.drift_threshold,
        model_quality=monitor.model_quality,
        probability_threshold=monitor.probability_threshold,
        label_delay_hours=monitor.label_delay_hours,
        network=network,
    )
