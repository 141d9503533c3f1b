"""Closing the loop: a model alarm (drift, quality) starts a SageMaker training job, whose
artifact then goes through the validated blue/green promotion.

EventBridge delivers the model alarms' transitions to ALARM, and the state changes of this
stack's retraining jobs, to one function (asynchronous invocation: retried, then the encrypted
dead-letter queue). The function bundles the training code the launcher stages
(``model_code`` without the launcher and the local server) and starts the launcher's job with
boto3: the training image, role and key of the stack, ``datasets/`` in, ``models/retrained-*``
out. It never runs two jobs, respects the cool-down and reports every start, skip and outcome
on the alarm topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.bundling import bundle, handler
from ml_constructs.encryption_key import grant_key_to_sagemaker_volumes
from ml_constructs.findings import acknowledge_encrypted_sends, acknowledge_function
from ml_constructs.function_setup import FunctionSetup, FunctionSpec
from ml_constructs.nag import acknowledge, bucket_arn_in, nag_logical_id
from ml_constructs.naming import validate_prefix
from ml_constructs.private_network.construct import PrivateNetwork, sagemaker_vpc_config
from ml_constructs.retraining.runtime.retraining import RetrainingConfig
from model_code import launch_training
from model_code.metrics import METRIC_DEFINITIONS
from serving_core.frameworks import DEFAULT_FRAMEWORK, FRAMEWORK_NAMES, framework_facts

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
TRAINING_CODE = "training_code"
PACKAGE = "retraining"
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
JOB_STATE_CHANGE = "SageMaker Training Job State Change"
FUNCTION = FunctionSpec(
    role_purpose="retraining",
    role_description="Retraining function: start the launcher's training job on a model alarm",
    what="the retraining function",
    dead_letters="This is the dead-letter queue of the retraining function and its rules.",
)


@cache
def bundle_dir() -> str:
    """The function's code: its runtime package and, in ``training_code/`` inside it, what the
    launcher stages for a job (``model_code`` minus its ignore patterns)."""
    training_code = (
        launch_training.SOURCE_DIR,
        (*launch_training.CODE_IGNORE_PATTERNS, "README.md"),
    )
    return str(bundle(RUNTIME_DIR, PACKAGE, extra={TRAINING_CODE: training_code}))


@dataclass(frozen=True)
class RetrainingProps:
    """The stack's training resources, the alarms that start a job, the job's shape, and
    where to report."""

    prefix: str
    environment_name: str
    storage_bucket: s3.IBucket
    bucket_name: str
    encryption_key: kms.IKey
    training_role_arn: str
    training_image_uri: str
    topic: sns.ITopic
    #: The model alarms that start a retraining, by name prefix (``<prefix>-drift-``, ...).
    alarm_name_prefixes: Sequence[str]
    promotes_uploads: bool
    #: No new job sooner than this after the last one started.
    cooldown_hours: int = 24
    instance_type: str = "ml.m5.large"
    volume_size_gb: int = 30
    max_runtime_s: int = 3600
    #: Flags of the training script (name without ``--``: value).
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    #: ``model.framework``: the job runs ``train.py`` with the framework's hyperparameter
    #: (``framework=<name>``; none for TensorFlow) in ``training_image_uri``.
    framework: str = DEFAULT_FRAMEWORK
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    #: Private networking: the function in the private subnets, its jobs in the VPC.
    network: PrivateNetwork | None = None

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if not self.alarm_name_prefixes:
            problems.append("alarm_name_prefixes: name the model alarms that start retraining")
        problems += [
            f"alarm_name_prefixes: {p!r} is not one of this stack's alarms ({self.prefix}-...)"
            for p in self.alarm_name_prefixes
            if not p.startswith(f"{self.prefix}-")
        ]
        if self.cooldown_hours < 1:
            problems.append(f"cooldown_hours {self.cooldown_hours} must be at least 1")
        if not self.instance_type.startswith("ml."):
            problems.append(f"instance_type {self.instance_type!r} is not an ml.* type")
        if self.volume_size_gb < 1:
            problems.append(f"volume_size_gb {self.volume_size_gb} must be at least 1")
        if self.max_runtime_s < 1:
            problems.append(f"max_runtime_s {self.max_runtime_s} must be at least 1")
        problems += [
            f"hyperparameters: {name!r} is empty or has no value"
            for name, value in self.hyperparameters.items()
            if not name or not value
        ]
        if self.framework not in FRAMEWORK_NAMES:
            problems.append(
                f"framework {self.framework!r} is not one of {', '.join(FRAMEWORK_NAMES)}"
            )
        elif self.hyperparameters.get("framework", self.framework) != self.framework:
            problems.append(
                f"hyperparameters: framework={self.hyperparameters['framework']} contradicts "
                f"framework {self.framework!r} (leave the hyperparameter out)"
            )
        if problems:
            raise ValueError("; ".join(problems))


class Retraining(Construct):
    """The retraining function and its two rules; ``function_name`` for operators."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RetrainingProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        setup = FunctionSetup(self, props, FUNCTION, logs.RetentionDays.ONE_MONTH)
        self.log_group, self.role = setup.log_group, setup.role
        assert setup.dead_letter_queue is not None
        self.dead_letter_queue = setup.dead_letter_queue
        self._grant()
        self.function = setup.function(
            lambda_.Function,
            function_name=f"{props.prefix}-retraining",
            description="Starts a training job when the model drifts or decays; reports outcomes",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler(PACKAGE),
            code=lambda_.Code.from_asset(bundle_dir()),
            memory_size=256,
            timeout=Duration.seconds(60),
            retry_attempts=2,
            environment=self._environment(),
        )
        self.alarm_rule, self.job_rule = self._rules()
        acknowledge_function(
            self.function,
            dead_letters=None,  # it has one
            concurrency=(
                "One retraining at a time is enforced by the function (a running job or the "
                "cool-down refuses a start; jobs are named per cool-down window, so a second "
                "concurrent start is refused by SageMaker); a reservation would take account "
                "concurrency for an hourly trigger."
            ),
        )
        self.function_name = self.function.function_name

    def _environment(self) -> dict[str, str]:
        """What the function starts a job with, and whom it reports to: its runtime's own
        typed config, written as the runtime reads it."""
        props = self.props
        config = RetrainingConfig(
            prefix=props.prefix,
            bucket=props.bucket_name,
            key_arn=props.encryption_key.key_arn,
            role_arn=props.training_role_arn,
            image_uri=props.training_image_uri,
            instance_type=props.instance_type,
            volume_size_gb=props.volume_size_gb,
            max_runtime_s=props.max_runtime_s,
            cooldown_hours=props.cooldown_hours,
            topic_arn=props.topic.topic_arn,
            alarm_name_prefixes=tuple(props.alarm_name_prefixes),
            promotes_uploads=props.promotes_uploads,
            environment_name=props.environment_name,
            hyperparameters={
                **props.hyperparameters,
                **framework_facts(props.framework).training_hyperparameters,
            },
            metric_definitions=list(METRIC_DEFINITIONS),
            vpc_config=sagemaker_vpc_config(props.network) or {},
            requirements_file=framework_facts(props.framework).training_requirements,
        )
        return config.to_env(Stack.of(self).to_json_string)

    def _rules(self) -> tuple[events.Rule, events.Rule]:
        """A model alarm going to ALARM, and a retraining job finishing, to the function
        (asynchronously: retried, then the dead-letter queue)."""
        props = self.props
        target = targets.LambdaFunction(
            self.function,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
            max_event_age=Duration.hours(2),
        )
        alarm_rule = events.Rule(
            self,
            "AlarmRule",
            description=f"{props.prefix}: a model alarm went to ALARM (drift, quality)",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                account=[Aws.ACCOUNT_ID],
                detail={
                    "alarmName": [{"prefix": p} for p in props.alarm_name_prefixes],
                    "state": {"value": ["ALARM"]},
                },
            ),
            targets=[target],
        )
        job_rule = events.Rule(
            self,
            "JobRule",
            description=f"{props.prefix}: a retraining job finished",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[JOB_STATE_CHANGE],
                detail={
                    "TrainingJobName": events.Match.prefix(f"{props.prefix}-retrain-"),
                    "TrainingJobStatus": ["Completed", "Failed", "Stopped"],
                },
            ),
            targets=[target],
        )
        return alarm_rule, job_rule

    def _grant(self) -> None:
        props = self.props
        bucket_arn, bucket_ref = bucket_arn_in(self, props.storage_bucket)
        base = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        jobs = f"{base}:training-job/{props.prefix}-retrain-*"
        staged = f"models/training-jobs/{props.prefix}-retrain-*/input/code/*"
        statements = [
            iam.PolicyStatement(
                sid="StartAndReadRetrainingJobs",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            ),
            iam.PolicyStatement(
                sid="FindRunningJobs", actions=["sagemaker:ListTrainingJobs"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="PassOnlyTheTrainingRole",
                actions=["iam:PassRole"],
                resources=[props.training_role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="StageTheTrainingCode",
                actions=["s3:PutObject"],
                resources=[f"{bucket_arn}/{staged}"],
            ),
            iam.PolicyStatement(
                sid="SeeWhetherATestChannelExists",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["datasets/test/*"]}},
            ),
            iam.PolicyStatement(
                sid="EncryptTheCodeThroughS3",
                actions=["kms:GenerateDataKey"],
                resources=[props.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
        ]
        for statement in statements:
            self.role.add_to_policy(statement)
        grant_key_to_sagemaker_volumes(self.role, props.encryption_key, "LetSageMakerGrantTheKey")
        props.topic.grant_publish(self.role)
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_encrypted_sends(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Retraining jobs are named per cool-down window (<prefix>-retrain-<time>) and their "
            "code is staged under their own name; ListTrainingJobs supports no resource; the "
            "function's log streams are named at run time.",
            [
                f"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
                f":training-job/{props.prefix}-retrain-*",
                "Resource::*",
                f"Resource::{bucket_ref}/{staged}",
                f"Resource::<{nag_logical_id(self.log_group)}.Arn>:*",
            ],
        )
