"""The environment's SageMaker model package group, and what other accounts need to promote its
approved packages: read the packages, read and decrypt their artifacts, receive the approvals.

A consumer account (prod reading staging's group) is named in configuration; every grant names
it (``arn:aws:iam::ACCOUNT:root``), never ``*``, and the consumer's own policies must allow the
same actions (cross-account access needs both sides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ml_constructs.artifact_storage import MODELS_PREFIX, ArtifactStorage
from ml_constructs.findings import acknowledge_inline_policy
from ml_constructs.naming import validate_prefix

PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
#: What a consumer account may do with this group's packages.
CONSUMER_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)


def package_arns(group_name: str, account: str = Aws.ACCOUNT_ID) -> tuple[str, str]:
    """(group ARN, ARN pattern of its package versions)."""
    base = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{account}"
    return f"{base}:model-package-group/{group_name}", f"{base}:model-package/{group_name}/*"


def approvals_pattern(group_name: str, account: str | None = None) -> events.EventPattern:
    """EventBridge pattern of the approvals of ``group_name`` (from ``account`` if given)."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[PACKAGE_STATE_CHANGE],
        account=[account] if account else None,
        detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": ["Approved"]},
    )


@dataclass(frozen=True)
class ModelRegistryProps:
    """The group's name, and the accounts that promote its packages."""

    prefix: str
    group_name: str
    storage: ArtifactStorage
    encryption_key: kms.Key
    consumer_accounts: Sequence[str] = ()

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = [
            f"consumer_accounts: {a!r} is not a 12-digit account id"
            for a in self.consumer_accounts
            if not (len(a) == 12 and a.isdigit())
        ]
        if not self.group_name or len(self.group_name) > 63:
            problems.append(f"group_name {self.group_name!r} must be 1-63 characters")
        if problems:
            raise ValueError("; ".join(problems))


class ModelRegistry(Construct):
    """``group_name``/``group_arn``; for consumers: the group's resource policy, read access to
    ``models/`` and the key (through S3 only), and the approvals forwarded to their event bus."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ModelRegistryProps) -> None:
        super().__init__(scope, construct_id)
        self.group_name = props.group_name
        group_arn, packages = package_arns(props.group_name)
        consumers = [iam.AccountPrincipal(account) for account in props.consumer_accounts]
        policy = None
        if consumers:
            policy = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="ConsumerAccountsReadPackages",
                        principals=consumers,
                        actions=list(CONSUMER_ACTIONS),
                        resources=[group_arn, packages],
                    )
                ]
            )
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=props.group_name,
            model_package_group_description=(
                f"{props.prefix}: trained models; approving a version promotes it"
            ),
            model_package_group_policy=(
                Stack.of(self).resolve(policy.to_json()) if policy is not None else None
            ),
        )
        self.group_arn = group_arn
        if consumers:
            self._share_artifacts(props, consumers)
            self._forward_approvals(props)

    def _share_artifacts(
        self, props: ModelRegistryProps, consumers: Sequence[iam.IPrincipal]
    ) -> None:
        props.storage.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConsumerAccountsReadModels",
                principals=list(consumers),
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[props.storage.objects_arn(MODELS_PREFIX)],
            )
        )
        props.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConsumerAccountsDecryptModelsThroughS3",
                principals=list(consumers),
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )

    def _forward_approvals(self, props: ModelRegistryProps) -> None:
        """Each consumer's default event bus receives this group's approvals (its bus policy
        admits this account: the consumer's serving stack declares it)."""
        role = iam.Role(
            self,
            "ForwardApprovalsRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Sends this group's approvals to the consumer accounts' event buses",
        )
        buses = [
            events.EventBus.from_event_bus_arn(
                self,
                f"Bus{account}",
                f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{account}:event-bus/default",
            )
            for account in props.consumer_accounts
        ]
        self.forward_rule = events.Rule(
            self,
            "ForwardApprovals",
            description=f"{props.prefix}: approvals of {props.group_name} to its consumers",
            event_pattern=approvals_pattern(props.group_name),
            targets=[targets.EventBus(bus, role=role) for bus in buses],
        )
        acknowledge_inline_policy(role)
