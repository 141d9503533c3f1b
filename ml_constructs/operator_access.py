"""What people and CI need to feed the stack: upload datasets and models, publish the first model.

Uploads to the artifact bucket are SSE-KMS with the project key, so the uploader needs
``kms:GenerateDataKey`` (and ``kms:Decrypt`` to read back or complete a multipart upload) from
both the key policy and its own IAM policy. This construct creates the ``<prefix>-deployer``
role with exactly those rights (limited with ``kms:ViaService`` to S3 in the region), trusted by
the configured operators, or by the account when none are named (an IAM principal still needs
``sts:AssumeRole`` on it). :data:`OPERATOR_KEY_ACTIONS` is what the key policy grants the
operators and this role through S3.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.artifact_storage import (
    DATASETS_PREFIX,
    GROUND_TRUTH_PREFIX,
    MODELS_PREFIX,
    MONITORING_BASELINE_PREFIX,
    ArtifactStorage,
)
from ml_constructs.findings import acknowledge_inline_policy
from ml_constructs.nag import acknowledge, nag_logical_id
from ml_constructs.naming import role_name, validate_prefix

#: S3 SSE-KMS: GenerateDataKey to write, Decrypt to read and to complete multipart uploads.
OPERATOR_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
DEPLOYER = "deployer"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]+$")


def deployer_role_arn(prefix: str, account: str, partition: str = "aws") -> str:
    """The ``<prefix>-deployer`` role's ARN in ``account`` (known before it is deployed)."""
    return f"arn:{partition}:iam::{account}:role/{role_name(prefix, DEPLOYER)}"


def s3_via_service() -> str:
    """The ``kms:ViaService`` value of S3 in the stack's region."""
    return f"s3.{Aws.REGION}.amazonaws.com"


@dataclass(frozen=True)
class OperatorAccessProps:
    """Who operates the stack, the bucket and key they use, the parameter they publish."""

    prefix: str
    storage: ArtifactStorage
    encryption_key: kms.IKey
    artifact_parameter: str
    operator_arns: Sequence[str] = ()
    #: The model package group operators register trained models in (none: no registry rights).
    package_group_name: str | None = None
    #: Roles (usually in another account: the delivery pipeline's steps) that may assume the
    #: deployer role; they are trusted by ARN, nothing else of their account is.
    trusted_role_arns: Sequence[str] = ()

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if not self.artifact_parameter.startswith("/"):
            raise ValueError(f"artifact_parameter {self.artifact_parameter!r} must start with /")
        for arn in self.trusted_role_arns:
            if _ROLE_ARN.match(arn) is None:
                raise ValueError(f"trusted_role_arns: {arn!r} is not an IAM role ARN")


class OperatorAccess(Construct):
    """The ``<prefix>-deployer`` role; ``role_arn`` for the README's publish step."""

    def __init__(self, scope: Construct, construct_id: str, *, props: OperatorAccessProps) -> None:
        super().__init__(scope, construct_id)
        trusted: iam.IPrincipal = (
            iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in props.operator_arns))
            if props.operator_arns
            else iam.AccountRootPrincipal()
        )
        self.role = iam.Role(
            self,
            "Deployer",
            role_name=role_name(props.prefix, DEPLOYER),
            assumed_by=trusted,
            description="Uploads datasets and models, publishes the first model (SSE-KMS).",
        )
        self._trust_roles(props.trusted_role_arns)
        for statement in self._statements(props):
            self.role.add_to_policy(statement)
        self.role_arn = self.role.role_arn
        acknowledge_inline_policy(self.role)
        self._acknowledge_wildcards(props)

    def _statements(self, props: OperatorAccessProps) -> list[iam.PolicyStatement]:
        """Upload datasets, models, the first baseline and labels; publish the first model;
        read the data stack's outputs; register models where a package group exists."""
        storage = props.storage
        statements = [
            iam.PolicyStatement(
                sid="UploadDatasetsAndModels",
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[
                    storage.objects_arn(DATASETS_PREFIX),
                    storage.objects_arn(MODELS_PREFIX),
                ],
            ),
            # Model Monitor's inputs: the first model's baseline, and ground-truth labels.
            iam.PolicyStatement(
                sid="UploadMonitoringBaselineAndLabels",
                actions=["s3:PutObject"],
                resources=[
                    storage.objects_arn(MONITORING_BASELINE_PREFIX),
                    storage.objects_arn(GROUND_TRUTH_PREFIX),
                ],
            ),
            iam.PolicyStatement(
                sid="ListDatasetsAndModels",
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*", f"{MODELS_PREFIX}*"]}
                },
            ),
            iam.PolicyStatement(
                sid="EncryptUploadsThroughS3",
                actions=list(OPERATOR_KEY_ACTIONS),
                resources=[props.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": s3_via_service()}},
            ),
            iam.PolicyStatement(
                sid="PublishTheFirstModel",
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=[
                    f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                    f":parameter{props.artifact_parameter}"
                ],
            ),
            iam.PolicyStatement(
                sid="ReadTheDataStacksOutputs",
                actions=["cloudformation:DescribeStacks"],
                resources=[Stack.of(self).stack_id],
            ),
        ]
        if props.package_group_name:
            statements += registration_statements(props.package_group_name)
        return statements

    def _acknowledge_wildcards(self, props: OperatorAccessProps) -> None:
        bucket_id = nag_logical_id(props.storage.bucket)
        reasons = [
            (
                "Operators upload objects whose keys they choose under datasets/ and models/; "
                "the statement is limited to those two prefixes of the artifact bucket. The "
                "first model's Model Monitor baseline is a fixed set of files under "
                "monitoring/baseline/; ground-truth labels go under ground-truth/<hour>/.",
                [
                    f"Resource::<{bucket_id}.Arn>/{p}*"
                    for p in (
                        DATASETS_PREFIX,
                        MODELS_PREFIX,
                        MONITORING_BASELINE_PREFIX,
                        GROUND_TRUTH_PREFIX,
                    )
                ],
            )
        ]
        if props.package_group_name:
            reasons += registration_wildcards(props.package_group_name)
        for reason, applies_to in reasons:
            acknowledge(
                self.role.node.find_child("DefaultPolicy"), "AwsSolutions-IAM5", reason, applies_to
            )

    def _trust_roles(self, arns: Sequence[str]) -> None:
        """One trust statement per account: its account as principal, limited to the named
        roles with ``aws:PrincipalArn`` (a role ARN as principal would break silently when the
        role is recreated, and IAM refuses it before the role exists)."""
        by_account: dict[str, list[str]] = defaultdict(list)
        for arn in arns:
            match = _ROLE_ARN.match(arn)
            assert match is not None
            by_account[match["account"]].append(arn)
        assume_policy = self.role.assume_role_policy
        assert assume_policy is not None
        for account, roles in sorted(by_account.items()):
            assume_policy.add_statements(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    principals=[iam.AccountPrincipal(account)],
                    conditions={"ArnEquals": {"aws:PrincipalArn": sorted(roles)}},
                )
            )


def registration_wildcards(group_name: str) -> list[tuple[str, list[str]]]:
    """Why registering models needs wildcards, and the wildcard resources each reason covers."""
    base = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
    return [
        (
            "SageMaker List* actions support no resource-level permissions (Service "
            "Authorization Reference): ListModelPackages, to find a version that already holds "
            "the same artifact, needs Resource *.",
            ["Resource::*"],
        ),
        (
            "Versions of the model package group are created with numbers chosen by SageMaker "
            "(model-package/<group>/<n>); the pattern is limited to this one group.",
            [f"Resource::{base}:model-package/{group_name}/*"],
        ),
        (
            "register_model --training-job reads the completed job it registers; training jobs "
            "are named by the launcher per run.",
            [f"Resource::{base}:training-job/*"],
        ),
    ]


def registration_statements(group_name: str) -> list[iam.PolicyStatement]:
    """What ``deploy_tools.register_model`` does: check the group, look for a duplicate,
    create a PendingManualApproval version (approving one is a separate right: people who
    approve need ``sagemaker:UpdateModelPackage``), and read a training job's output."""
    base = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    group = f"{base}:model-package-group/{group_name}"
    versions = f"{base}:model-package/{group_name}/*"
    return [
        iam.PolicyStatement(
            sid="ReadTheGroupAndItsVersions",
            actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
            resources=[group, versions],
        ),
        # A version of a group is authorized on its own ARN; only pending versions (the
        # condition key applies to CreateModelPackage), so registering never approves.
        iam.PolicyStatement(
            sid="RegisterPendingVersions",
            actions=["sagemaker:CreateModelPackage"],
            resources=[versions],
            conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
        ),
        iam.PolicyStatement(
            sid="ListModelVersions", actions=["sagemaker:ListModelPackages"], resources=["*"]
        ),
        iam.PolicyStatement(
            sid="ReadTrainingJobsToRegister",
            actions=["sagemaker:DescribeTrainingJob"],
            resources=[f"{base}:training-job/*"],
        ),
    ]
