"""The delivery pipeline on CDK Pipelines: source -> synth (the project's own install, its test
command, the first model's training, ``cdk synth``; cdk-nag fails a synth with a finding) ->
self-mutation -> assets -> one stage per environment, in order.

Each environment's stage deploys its data stack, publishes the first model when its SSM
parameter does not exist yet, deploys its serving stack, and optionally checks the deployed API
with the held-out rows; a manual approval may precede it. The publish and check steps run in
CodeBuild in the tooling account with one role per environment, which may only assume that
environment's ``<prefix>-deployer`` role (the deployer role trusts exactly that role).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.checkov import skip
from ml_constructs.delivery.findings import (
    ASSET_BUILDS,
    ASSET_PATTERNS,
    SELF_MUTATION_PATTERNS,
    acknowledge_pipeline_roles,
)
from ml_constructs.nag import nag_logical_id

#: Where the synth step's release files (the first model, the held-out rows) appear in the
#: publish and check steps, relative to the source checkout.
RELEASE_INPUT = "release"
MODEL_FILE = "model.tar.gz"
HELD_OUT_FILE = "held-out.csv"
#: What the publish and check steps install: the app's pinned runtime requirements (boto3, YAML).
INSTALL_DEPLOY_TOOLS = (
    "python -m pip install --quiet --disable-pip-version-check -r requirements.txt"
)
#: Runs a command as the target account's deployer role (scripts/as_role.sh).
AS_DEPLOYER = 'bash scripts/as_role.sh "$DEPLOYER_ROLE_ARN"'
#: The tooling account's bootstrap roles that self-mutation may assume (the ones CDK Pipelines
#: names in its tag condition).
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing")
_NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
_ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class SourceProps:
    """A repository behind a CodeConnections connection (``owner/name``), or a CodeCommit
    repository of the pipeline's account (its name)."""

    kind: Literal["connection", "codecommit"]
    repository: str
    branch: str
    connection_arn: str = ""
    trigger_on_push: bool = True


@dataclass(frozen=True)
class DeliveryPipelineProps:
    """``synth_commands`` run in the source checkout and must leave the cloud assembly in
    ``cdk.out`` and :data:`MODEL_FILE` and :data:`HELD_OUT_FILE` in ``release_directory``."""

    pipeline_name: str
    source: SourceProps
    artifact_bucket: s3.IBucket
    synth_commands: Sequence[str]
    release_directory: str
    cli_version: str
    self_mutation: bool = True
    python_version: str = "3.11"
    nodejs_version: str = "20"
    synth_compute: codebuild.ComputeType = codebuild.ComputeType.MEDIUM

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.pipeline_name):
            problems.append(f"pipeline_name: {self.pipeline_name!r} is not a pipeline name")
        if self.source.kind == "connection" and not self.source.connection_arn:
            problems.append("source.connection_arn: a connection source needs its ARN")
        if not self.synth_commands:
            problems.append("synth_commands: the synth step needs commands")
        if not re.fullmatch(r"\d+\.\d+\.\d+", self.cli_version):
            problems.append(f"cli_version: {self.cli_version!r} is not a CDK CLI version")
        if self.release_directory.startswith("/") or ".." in self.release_directory:
            problems.append(f"release_directory: {self.release_directory!r} is not relative")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class PredictionCheckProps:
    """Floors of accuracy and ROC AUC through the deployed API, and rows per request."""

    min_accuracy: float
    min_auc: float
    batch_size: int = 100

    def __post_init__(self) -> None:
        problems = [
            f"{name}: {getattr(self, name)} is outside 0-1"
            for name in ("min_accuracy", "min_auc")
            if not 0.0 <= getattr(self, name) <= 1.0
        ]
        if self.batch_size < 1:
            problems.append(f"batch_size: {self.batch_size} must be at least 1")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class EnvironmentStageProps:
    """One environment's stage: the configuration name its tools load (``environment``), its
    region, its deployer role (ARN, and the data stack's output that names it), its serving
    stack and API URL output, the tooling role its steps run with, and its gates."""

    environment: str
    region: str
    deployer_role_arn: str
    deployer_role_output: CfnOutput
    serving_stack: Stack
    api_url_output: CfnOutput
    step_role_name: str
    approval: bool = False
    prediction_check: PredictionCheckProps | None = None

    def __post_init__(self) -> None:
        problems = []
        if not _ENVIRONMENT.match(self.environment):
            problems.append(f"environment: {self.environment!r} is not an environment name")
        if not _ROLE_ARN.match(self.deployer_role_arn):
            problems.append(f"deployer_role_arn: {self.deployer_role_arn!r} is not a role ARN")
        if not 1 <= len(self.step_role_name) <= 64:
            problems.append(f"step_role_name: {self.step_role_name!r} is not 1-64 characters")
        if problems:
            raise ValueError("; ".join(problems))


def publish_commands(environment: str) -> list[str]:
    """Publish the first model unless the environment's model parameter exists already."""
    return [
        f"{AS_DEPLOYER} python -m deploy_tools.publish_model --env {environment} "
        f"--artifact {RELEASE_INPUT}/{MODEL_FILE} --if-missing"
    ]


def check_commands(check: PredictionCheckProps) -> list[str]:
    """Score the held-out rows through the deployed API (SigV4, as the deployer role)."""
    return [
        f'{AS_DEPLOYER} python -m deploy_tools.check_deployment --url "$INFERENCE_API_URL" '
        f"--rows {RELEASE_INPUT}/{HELD_OUT_FILE} --min-accuracy {check.min_accuracy} "
        f"--min-auc {check.min_auc} --batch-size {check.batch_size}"
    ]


class DeliveryPipeline(Construct):
    """``pipeline`` (CDK Pipelines' CodePipeline); add environments in order with
    :meth:`add_environment`, then :meth:`build`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: DeliveryPipelineProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.source = _source(self, props.source)
        self.synth = pipelines.ShellStep(
            "Synth",
            input=self.source,
            commands=list(props.synth_commands),
            primary_output_directory="cdk.out",
        )
        self.release = self.synth.add_output_directory(props.release_directory)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=props.pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            synth=self.synth,
            artifact_bucket=props.artifact_bucket,
            cross_account_keys=True,
            self_mutation=props.self_mutation,
            cli_version=props.cli_version,
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.SMALL,
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {
                        "phases": {
                            "install": {
                                "runtime-versions": {
                                    "python": props.python_version,
                                    "nodejs": props.nodejs_version,
                                }
                            }
                        }
                    }
                ),
            ),
            synth_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(compute_type=props.synth_compute)
            ),
        )
        self.step_roles: dict[str, iam.Role] = {}

    def add_environment(self, stage: Stage, props: EnvironmentStageProps) -> None:
        """Deploy ``stage`` after the environments added before it, with its gates."""
        role = iam.Role(
            self,
            f"StepRole-{props.environment}",
            role_name=props.step_role_name,
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Publish and check steps of {props.environment}: may only assume its "
            "deployer role.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeTheEnvironmentsDeployerRole",
                actions=["sts:AssumeRole"],
                resources=[props.deployer_role_arn],
            )
        )
        self.step_roles[props.environment] = role
        step_env = {"AWS_REGION": props.region, "AWS_DEFAULT_REGION": props.region}
        publish = pipelines.CodeBuildStep(
            "PublishFirstModel",
            input=self.source,
            additional_inputs={RELEASE_INPUT: self.release},
            env=step_env,
            env_from_cfn_outputs={"DEPLOYER_ROLE_ARN": props.deployer_role_output},
            install_commands=[INSTALL_DEPLOY_TOOLS],
            commands=publish_commands(props.environment),
            role=role,
        )
        post: list[pipelines.Step] = []
        if props.prediction_check is not None:
            post.append(
                pipelines.CodeBuildStep(
                    "PredictionCheck",
                    input=self.source,
                    additional_inputs={RELEASE_INPUT: self.release},
                    env=step_env,
                    env_from_cfn_outputs={
                        "DEPLOYER_ROLE_ARN": props.deployer_role_output,
                        "INFERENCE_API_URL": props.api_url_output,
                    },
                    install_commands=[INSTALL_DEPLOY_TOOLS],
                    commands=check_commands(props.prediction_check),
                    role=role,
                )
            )
        pre: list[pipelines.Step] = []
        if props.approval:
            pre.append(
                pipelines.ManualApprovalStep(
                    f"Approve-{props.environment}",
                    comment=f"Deploy to {props.environment}: the stages before it deployed "
                    "and passed their checks.",
                )
            )
        self.pipeline.add_stage(
            stage,
            pre=pre,
            post=post,
            stack_steps=[pipelines.StackSteps(stack=props.serving_stack, pre=[publish])],
        )

    def build(self) -> None:
        """Construct the CodePipeline (no environment can be added afterwards), limit what
        self-mutation may assume, and acknowledge what CDK Pipelines forces on its roles."""
        self.pipeline.build_pipeline()
        self._use_the_connections_own_prefix()
        role_patterns: dict[str, Sequence[tuple[str, str]]] = {}
        if self.props.self_mutation:
            mutation_role = self.pipeline.self_mutation_project.role
            assert mutation_role is not None
            mutation_role.add_to_principal_policy(self._only_tooling_bootstrap_roles())
            role_patterns[mutation_role.node.path] = SELF_MUTATION_PATTERNS
        assets = self.pipeline.node.try_find_child("Assets")
        # The file assets' role, and the image assets' (the model monitor's container image,
        # built by CodeBuild with docker and pushed to the bootstrap repository).
        for role_id in ("FileRole", "DockerRole"):
            asset_role = assets.node.try_find_child(role_id) if assets else None
            if asset_role is not None:
                role_patterns[asset_role.node.path] = ASSET_PATTERNS
                skip(asset_role.node.find_child("DefaultPolicy"), "CKV_AWS_111", ASSET_BUILDS)
        acknowledge_pipeline_roles(
            self,
            bucket_logical_id=nag_logical_id(self.props.artifact_bucket),
            role_patterns=role_patterns,
        )

    def _use_the_connections_own_prefix(self) -> None:
        """CDK's connection source action grants ``codestar-connections:UseConnection``
        whatever the ARN, but "when specifying a resource in the IAM policy, the service prefix
        needs to match that of the resource" (Developer Tools console guide, "Connections
        rename - Summary of changes"): a ``codeconnections`` ARN gets that prefix's action."""
        arn = self.props.source.connection_arn
        if self.props.source.kind != "connection" or CONNECTIONS_PREFIX not in arn:
            return
        stack = Stack.of(self)
        for construct in self.pipeline.pipeline.node.find_all():
            if not isinstance(construct, iam.CfnPolicy):
                continue
            document = stack.resolve(construct.policy_document)
            statements = document.get("Statement", [])
            renamed = [
                {**st, "Action": "codeconnections:UseConnection"}
                if st.get("Action") == "codestar-connections:UseConnection"
                and st.get("Resource") == arn
                else st
                for st in statements
            ]
            if renamed != statements:
                construct.add_property_override("PolicyDocument.Statement", renamed)

    def _only_tooling_bootstrap_roles(self) -> iam.PolicyStatement:
        """Self-mutation deploys the pipeline stack into the tooling account only: deny
        assuming anything but that account's CDK bootstrap roles (CDK Pipelines allows any role
        of the account tagged as a bootstrap role)."""
        stack = Stack.of(self)
        qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
        return iam.PolicyStatement(
            sid="OnlyTheToolingAccountsBootstrapRoles",
            effect=iam.Effect.DENY,
            actions=["sts:AssumeRole"],
            not_resources=[
                f"arn:{stack.partition}:iam::{stack.account}:role/cdk-{qualifier}-{kind}-role-"
                f"{stack.account}-{stack.region}"
                for kind in BOOTSTRAP_ROLES
            ],
        )


#: The service prefix of connections created since the rename (their ARNs carry it).
CONNECTIONS_PREFIX = ":codeconnections:"


def _source(scope: Construct, props: SourceProps) -> pipelines.CodePipelineSource:
    if props.kind == "codecommit":
        repository = codecommit.Repository.from_repository_name(
            scope, "Repository", props.repository
        )
        return pipelines.CodePipelineSource.code_commit(repository, props.branch)
    return pipelines.CodePipelineSource.connection(
        props.repository,
        props.branch,
        connection_arn=props.connection_arn,
        trigger_on_push=props.trigger_on_push,
    )
