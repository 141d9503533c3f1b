"""The model served inside AWS Lambda (``endpoint.kind: lambda``): the function (``runtime/``
beside ``serving_core``, onnxruntime and numpy in a layer installed for its architecture and
Python at synth, no docker), a version and the ``live`` alias API Gateway invokes (with
provisioned concurrency and its schedules), and the CodeDeploy deployment group that shifts
the alias to every new version (canary, linear or all at once, from the promotion policy) and
rolls it back on the alarms given to :meth:`LambdaModel.add_rollback_alarms`.

``target`` is the :class:`~ml_constructs.model_promotion.lambda_target.LambdaTarget` a
promotion updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.artifact_storage import DATA_CAPTURE_PREFIX, MODELS_PREFIX
from ml_constructs.bundling import function_code, handler
from ml_constructs.findings import acknowledge_function
from ml_constructs.function_setup import FunctionSetup, FunctionSpec
from ml_constructs.lambda_model.dependencies import TargetPlatform, installed_requirements
from ml_constructs.lambda_model.runtime.config import LAMBDA_MAX_PAYLOAD_BYTES, ModelFunctionConfig
from ml_constructs.model_promotion.lambda_target import LambdaTarget
from ml_constructs.nag import acknowledge, bucket_arn_in
from ml_constructs.naming import role_name, validate_prefix
from ml_constructs.operator_access import s3_via_service
from ml_constructs.private_network.construct import PrivateNetwork
from serving_core.deployment_policy import LambdaTrafficShifting
from serving_core.variants import LambdaVariant

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
REQUIREMENTS = RUNTIME_DIR / "requirements.txt"
PACKAGE = "lambda_model"
HANDLER = handler(PACKAGE)
#: numpy 2.2.6 (the pinned version, as requirements-model.txt) has wheels up to Python 3.13.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_13
PYTHON_VERSION = "3.13"
ALIAS_NAME = "live"
METRICS_NAMESPACE = "MlServing/InferenceApi"
#: CodeDeploy rolls back on at most 10 alarms (AlarmConfiguration).
MAX_ROLLBACK_ALARMS = 10
FUNCTION = FunctionSpec(
    role_purpose="model-fn",
    role_description="Lambda-hosted model: read the serving model, write its data capture",
    what="the model function",
    log_group_id="FunctionLogs",
    role_id="FunctionRole",
)


@dataclass(frozen=True)
class ScheduledConcurrency:
    """At ``cron`` (Application Auto Scaling's dialect), the alias's provisioned concurrency
    bounds become ``min_capacity`` and/or ``max_capacity``."""

    name: str
    cron: str
    min_capacity: int | None = None
    max_capacity: int | None = None


@dataclass(frozen=True)
class LambdaModelProps:
    """The variant (memory, architecture, timeout, concurrency), the model (``model_data_url``
    may be a deploy-time token: the SSM parameter that names the serving model), the request
    limits the API shares, data capture, and how CodeDeploy shifts the alias."""

    prefix: str
    variant: LambdaVariant
    model_data_url: str
    bucket: s3.IBucket
    encryption_key: kms.IKey
    feature_count: int
    shifting: LambdaTrafficShifting
    feature_names: tuple[str, ...] = ()
    max_rows: int = 100
    max_payload_bytes: int = LAMBDA_MAX_PAYLOAD_BYTES
    capture_percent: int = 0
    capture_max_records: int = 1
    capture_max_age_s: int = 60
    schedules: tuple[ScheduledConcurrency, ...] = ()
    time_zone: str = "UTC"
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    requirements: Path = REQUIREMENTS
    #: Where installed requirements are cached (None: ``build/lambda-deps``).
    dependency_cache: Path | None = None
    network: PrivateNetwork | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = self._limit_problems() + self._schedule_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _limit_problems(self) -> list[str]:
        problems = []
        if not 1 <= self.feature_count <= 10_000:
            problems.append(f"feature_count: {self.feature_count} is outside 1-10000")
        if self.feature_names and len(self.feature_names) != self.feature_count:
            problems.append(
                f"feature_names: {len(self.feature_names)} names for feature_count "
                f"{self.feature_count}"
            )
        if not 1 <= self.max_payload_bytes <= LAMBDA_MAX_PAYLOAD_BYTES:
            problems.append(
                f"max_payload_bytes: {self.max_payload_bytes} is outside 1-"
                f"{LAMBDA_MAX_PAYLOAD_BYTES} (Lambda's synchronous payload limit)"
            )
        if not 0 <= self.capture_percent <= 100:
            problems.append(f"capture_percent: {self.capture_percent} is outside 0-100")
        if not self.requirements.is_file():
            problems.append(f"requirements: {self.requirements} is not a file")
        return problems

    def _schedule_problems(self) -> list[str]:
        problems = []
        if self.schedules and not self.variant.provisioned_concurrency:
            problems.append(
                "schedules: they change the alias's provisioned concurrency; the variant has none"
            )
        high = self.variant.warm_range[1]
        names = [s.name for s in self.schedules]
        for schedule in self.schedules:
            if names.count(schedule.name) > 1:
                problems.append(f"schedules: {schedule.name!r} names more than one schedule")
            bounds = [b for b in (schedule.min_capacity, schedule.max_capacity) if b is not None]
            if not bounds:
                problems.append(f"schedules: {schedule.name!r} sets neither bound")
            if any(b < 1 or b > high for b in bounds):
                problems.append(
                    f"schedules: {schedule.name!r} sets {bounds}, outside 1-{high} "
                    "(the variant's provisioned_concurrency_max)"
                )
        return problems

    @property
    def function_name(self) -> str:
        return f"{self.prefix}-model"

    @property
    def endpoint_name(self) -> str:
        """The name responses and the capture folder carry (``data-capture/<name>/``)."""
        return self.function_name

    def environment(self) -> dict[str, str]:
        """The function's environment: its runtime's typed config, written as it reads it."""
        capture = self.capture_percent > 0
        return ModelFunctionConfig(
            endpoint_name=self.endpoint_name,
            model_data_url=self.model_data_url,
            feature_count=self.feature_count,
            variant_name=self.variant.name,
            feature_names=tuple(self.feature_names),
            max_rows=self.max_rows,
            max_payload_bytes=self.max_payload_bytes,
            capture_percent=self.capture_percent,
            capture_bucket=self.bucket.bucket_name if capture else "",
            capture_prefix=DATA_CAPTURE_PREFIX,
            capture_kms_key_arn=self.encryption_key.key_arn if capture else "",
            capture_max_records=self.capture_max_records,
            capture_max_age_s=self.capture_max_age_s,
            service_name=f"{self.prefix}-model",
            metrics_namespace=METRICS_NAMESPACE,
        ).to_env()


class LambdaModel(Construct):
    """Function -> version -> ``live`` alias (provisioned concurrency, its schedules) ->
    CodeDeploy group, which needs its rollback alarms (:meth:`add_rollback_alarms`) before
    synth (CDK refuses alarm rollback without alarms). Attributes: ``function``, ``version``,
    ``alias``, ``layer``, ``role``, ``log_group``, ``deployment_group``, ``deployment_config``,
    ``scaling`` (None without schedules), ``target``, ``function_name``, ``endpoint_name``."""

    def __init__(self, scope: Construct, construct_id: str, *, props: LambdaModelProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        setup = FunctionSetup(self, props, FUNCTION, props.log_retention)
        self.role, self.log_group = setup.role, setup.log_group
        self._grant()
        self.layer = self._dependencies()
        self.function = self._function(setup)
        self.version = self.function.current_version
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=ALIAS_NAME,
            version=self.version,
            provisioned_concurrent_executions=props.variant.provisioned_concurrency,
            description="What API Gateway invokes; CodeDeploy shifts it to each new version",
        )
        self.scaling = self._schedule()
        self.deployment_config = self._deployment_config()
        self.deployment_group = self._deployment_group()
        self.function_name = props.function_name
        self.endpoint_name = props.endpoint_name
        self.target = LambdaTarget(
            function=self.function,
            alias=self.alias,
            deployment_group=self.deployment_group,
            endpoint_name=props.endpoint_name,
            variant_name=props.variant.name,
        )

    # -- the function ------------------------------------------------------------------------------

    def _grant(self) -> None:
        """Read the models (the serving one is a release copy under ``models/``), write only
        this model's capture folder; the key through S3 only."""
        props = self.props
        bucket_arn, bucket_ref = bucket_arn_in(self, props.bucket)
        capture = f"{DATA_CAPTURE_PREFIX}{props.endpoint_name}/"
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadModels",
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn}/{MODELS_PREFIX}*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnCapture",
                actions=["s3:PutObject"],
                resources=[f"{bucket_arn}/{capture}*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ObjectsEncryption",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[props.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": s3_via_service()}},
            )
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "The serving model is whichever release copy the SSM parameter names (changed by "
            "every promotion), so reads cover models/; capture objects are named per hour and "
            "request, so writes cover this model's own capture folder only.",
            [f"Resource::{bucket_ref}/{MODELS_PREFIX}*", f"Resource::{bucket_ref}/{capture}*"],
        )

    def _dependencies(self) -> lambda_.LayerVersion:
        """onnxruntime and numpy for the function's architecture and Python (cached)."""
        props = self.props
        platform = TargetPlatform(props.variant.architecture, PYTHON_VERSION)
        folder = installed_requirements(props.requirements, platform, props.dependency_cache)
        return lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(folder)),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[_architecture(props.variant.architecture)],
            description=f"{props.requirements.name} for {', '.join(platform.platforms)}",
            removal_policy=RemovalPolicy.RETAIN,  # a version may still use it
        )

    def _function(self, setup: FunctionSetup) -> lambda_.Function:
        props, variant = self.props, self.props.variant
        function = setup.function(
            lambda_.Function,
            function_name=props.function_name,
            description="Serves POST /predict with the model (onnxruntime) inside Lambda",
            runtime=PYTHON_RUNTIME,
            architecture=_architecture(variant.architecture),
            handler=HANDLER,
            code=function_code(RUNTIME_DIR, PACKAGE, core=True),
            layers=[self.layer],
            memory_size=variant.memory_mb,
            timeout=Duration.seconds(variant.timeout_s),
            reserved_concurrent_executions=variant.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment=props.environment(),
        )
        acknowledge_function(
            function,
            dead_letters=(
                "API Gateway invokes the model synchronously and the caller gets its answer or "
                "error; a function dead-letter queue applies to asynchronous invocations only."
            ),
            concurrency=(
                None
                if variant.reserved_concurrency is not None
                else "lambda_model.reserved_concurrency is null: Lambda keeps 100 of the "
                "account's concurrency unreserved and a new account may have less in all, where "
                "any reservation fails the deploy; the API stage's throttling caps the load."
            ),
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "numpy 2.2.6 (the version the model was exported and checked with) publishes wheels "
            "up to Python 3.13: the function runs the newest runtime its dependencies support.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
            "permissions; Lambda active tracing requires them on '*'.",
            ["Resource::*"],
        )
        return function

    # -- provisioned concurrency and its schedules ----------------------------------------------

    def _schedule(self) -> lambda_.IScalableFunctionAttribute | None:
        """Application Auto Scaling's target on the alias's provisioned concurrency, changed at
        each schedule's time (no scaling policy: the schedules set the level)."""
        props = self.props
        if not props.schedules:
            return None
        low, high = props.variant.warm_range
        scaling = self.alias.add_auto_scaling(min_capacity=low, max_capacity=high)
        time_zone = TimeZone.of(props.time_zone)
        for schedule in props.schedules:
            scaling.scale_on_schedule(
                schedule.name,
                schedule=appscaling.Schedule.expression(schedule.cron),
                min_capacity=schedule.min_capacity,
                max_capacity=schedule.max_capacity,
                time_zone=time_zone,
            )
        return scaling

    # -- CodeDeploy --------------------------------------------------------------------------------

    def _deployment_config(self) -> codedeploy.ILambdaDeploymentConfig:
        """CodeDeploy's predefined configuration when the policy matches one, else a custom
        one with the same percentage and minutes."""
        shifting = self.props.shifting
        if shifting.predefined is not None:
            return codedeploy.LambdaDeploymentConfig.from_lambda_deployment_config_name(
                self, "ShiftConfig", shifting.predefined
            )
        interval = Duration.minutes(shifting.minutes)
        routing: codedeploy.TrafficRouting
        if shifting.traffic_shifting == "canary":
            routing = codedeploy.TimeBasedCanaryTrafficRouting(
                interval=interval, percentage=shifting.percent
            )
        else:
            routing = codedeploy.TimeBasedLinearTrafficRouting(
                interval=interval, percentage=shifting.percent
            )
        return codedeploy.LambdaDeploymentConfig(
            self,
            "ShiftConfig",
            deployment_config_name=f"{self.props.prefix}-model-shift",
            traffic_routing=routing,
        )

    def _deployment_group(self) -> codedeploy.LambdaDeploymentGroup:
        prefix = self.props.prefix
        role = iam.Role(
            self,
            "DeploymentRole",
            role_name=role_name(prefix, "model-deploy"),
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description="CodeDeploy: shift the model function's alias, invoke no hooks",
        )
        application = codedeploy.LambdaApplication(
            self, "Application", application_name=f"{prefix}-model"
        )
        group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            application=application,
            alias=self.alias,
            deployment_group_name=f"{prefix}-model",
            deployment_config=self.deployment_config,
            role=role,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4",
            "AWSCodeDeployRoleForLambdaLimited is the AWS-maintained policy CodeDeploy documents "
            "for Lambda deployments (update aliases, read alarms, publish to SNS).",
            [
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSCodeDeployRoleForLambdaLimited"
            ],
        )
        return group

    def add_rollback_alarms(self, alarms: list[cloudwatch.IAlarm]) -> None:
        """Roll a shift back when one of ``alarms`` fires (the function alias's alarms)."""
        if not 1 <= len(alarms) <= MAX_ROLLBACK_ALARMS:
            raise ValueError(f"alarms: {len(alarms)} is outside CodeDeploy's 1-10")
        for alarm in alarms:
            self.deployment_group.add_alarm(alarm)

    # -- metrics -----------------------------------------------------------------------------------

    def metric_concurrency(self, period: Duration) -> cloudwatch.Metric:
        """The function's concurrent executions (all versions: the reservation is the
        function's), maximum per period."""
        return self.function.metric("ConcurrentExecutions", statistic="Maximum", period=period)

    def metric_spillover(self, period: Duration) -> cloudwatch.Metric:
        """Invocations of the alias beyond its provisioned concurrency (cold starts)."""
        return self.alias.metric(
            "ProvisionedConcurrencySpilloverInvocations", statistic="Sum", period=period
        )


def _architecture(name: str) -> lambda_.Architecture:
    return lambda_.Architecture.ARM_64 if name == "arm64" else lambda_.Architecture.X86_64
