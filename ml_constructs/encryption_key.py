"""A customer managed KMS key that only this app's roles and the AWS services it uses can use."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.naming import validate_prefix
from ml_constructs.operator_access import DEPLOYER, OPERATOR_KEY_ACTIONS, s3_via_service

# Key management, never data use: the account's administrators can manage the
# key (and CloudFormation can update it) but cannot decrypt with it.
_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
_USE_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
#: What CloudWatch Logs does with the key for an encrypted log group ("Encrypt log data in
#: CloudWatch Logs using AWS KMS"), each under the log group's encryption context.
_LOGS_ACTIONS = [a for a in _USE_ACTIONS if a != "kms:DescribeKey"]


@dataclass(frozen=True)
class EncryptionKeyProps:
    """``prefix`` names the alias and scopes the roles trusted to use the key.

    ``operator_arns``: people and CI (IAM role or user ARNs of this account) that upload
    datasets and models; with the ``<prefix>-deployer`` role they may use the key through S3
    only (``kms:ViaService``). Their own IAM policies must allow the same actions.
    """

    prefix: str
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    pending_window_days: int = 30
    operator_arns: tuple[str, ...] = ()
    #: An EventBridge rule sends to a topic encrypted with this key (Model Monitor's failure
    #: notifications): the key must admit EventBridge without a source condition.
    eventbridge_to_encrypted_topics: bool = False

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        if not 7 <= self.pending_window_days <= 30:
            raise ValueError(f"pending_window_days {self.pending_window_days} is outside 7-30")


class EncryptionKey(Construct):
    """Rotating CMK with an alias per environment and a key policy scoped to ``role/<prefix>-*``."""

    def __init__(self, scope: Construct, construct_id: str, *, props: EncryptionKeyProps) -> None:
        super().__init__(scope, construct_id)
        policy = self._key_policy(props)
        self.key = kms.Key(
            self,
            "Key",
            description=f"{props.prefix}: datasets, model artifacts, captured data, logs, alarms",
            enable_key_rotation=True,
            alias=f"alias/{props.prefix}",
            policy=policy,
            removal_policy=props.removal_policy,
            pending_window=Duration.days(props.pending_window_days),
        )
        self.key_arn = self.key.key_arn
        self.key_id = self.key.key_id
        self.alias_name = f"alias/{props.prefix}"

    def _key_policy(self, props: EncryptionKeyProps) -> iam.PolicyDocument:
        """Who may administer and use the key: this account's admins, this app's roles, uploads
        through S3, and the services that write encrypted logs, alarms and events."""
        account_root = iam.AccountRootPrincipal()
        role_pattern = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{props.prefix}-*"
        deployer = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{props.prefix}-{DEPLOYER}"
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="KeyAdministration",
                    principals=[account_root],
                    actions=_ADMIN_ACTIONS,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="UseByThisAppsRoles",
                    principals=[account_root],
                    actions=[*_USE_ACTIONS, "kms:CreateGrant"],
                    resources=["*"],
                    conditions={"ArnLike": {"aws:PrincipalArn": role_pattern}},
                ),
                # Uploads of datasets and models (SSE-KMS) by people and CI, through S3 only.
                iam.PolicyStatement(
                    sid="UploadsByOperatorsThroughS3",
                    principals=[account_root],
                    actions=list(OPERATOR_KEY_ACTIONS),
                    resources=["*"],
                    conditions={
                        "ArnLike": {"aws:PrincipalArn": [deployer, *props.operator_arns]},
                        "StringEquals": {"kms:ViaService": s3_via_service()},
                    },
                ),
                iam.PolicyStatement(
                    sid="CloudWatchLogsEncryption",
                    principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                    # Not DescribeKey: its requests carry no encryption context, so under this
                    # condition it could never be allowed. The context key is a string
                    # ("AWS KMS condition keys"), matched with a string operator.
                    actions=_LOGS_ACTIONS,
                    resources=["*"],
                    conditions={
                        "StringLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                            )
                        }
                    },
                ),
                # CloudWatch alarms publish to the encrypted SNS topic with their own identity;
                # SNS's guide asks for aws:SourceAccount on such a service's key use.
                iam.PolicyStatement(
                    sid="AlarmsToTheEncryptedTopic",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                ),
                # EventBridge rules send to the encrypted promotion queue; SQS's key management
                # supports aws:SourceAccount there. (S3 needs no key: it sends object events
                # to EventBridge's default bus, not to the queue.)
                iam.PolicyStatement(
                    sid="EventsToTheEncryptedQueues",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                ),
                *self._events_to_topics(props),
            ]
        )

    @staticmethod
    def _events_to_topics(props: EncryptionKeyProps) -> list[iam.PolicyStatement]:
        """EventBridge publishing to the encrypted alarm topic: AWS documents the key statement
        for an EventBridge target's key without any condition ("Troubleshooting Amazon
        EventBridge"), and no page says aws:SourceAccount or aws:SourceArn is evaluated
        there, so a condition could deny every delivery. Only where a rule sends there."""
        if not props.eventbridge_to_encrypted_topics:
            return []
        return [
            iam.PolicyStatement(
                sid="EventsToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        ]


def grant_key_to_sagemaker_volumes(role: iam.IGrantable, key: kms.IKey, sid: str) -> None:
    """Let SageMaker encrypt the ML storage volumes of what ``role`` creates or runs: it
    creates a grant on the key for the instance (only for AWS resources) after reading the
    key's metadata. ``kms:GrantIsForAWSResource`` applies only to the grant operations
    ("AWS KMS condition keys"), so DescribeKey needs a statement of its own: in the same
    statement it would never be allowed."""
    role.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            sid=sid,
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )
    role.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            sid="DescribeTheKey", actions=["kms:DescribeKey"], resources=[key.key_arn]
        )
    )
