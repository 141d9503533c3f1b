"""One Lambda function's surroundings, set up the same way for every function of the app: its
own named role, a log group encrypted with the project key (retention, removal policy), a
dead-letter queue where it has one, and its place in the VPC when the network is private.

The pieces are created in the function's construct itself (no scope of their own, so the
logical ids stay the construct's), in this order: dead-letter queue, log group, role; the
construct then grants the role what the function calls, and :meth:`FunctionSetup.function`
lets the role write the log group, places the function and creates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ml_constructs.findings import acknowledge_inline_policy
from ml_constructs.functions import depend_on_role_policy_only
from ml_constructs.nag import acknowledge
from ml_constructs.naming import role_name
from ml_constructs.private_network.construct import PrivateNetwork, function_placement

FunctionT = TypeVar("FunctionT", bound=lambda_.Function)


def dead_letter_queue(
    scope: Construct,
    *,
    queue_name: str,
    encryption_key: kms.IKey,
    removal_policy: RemovalPolicy,
    reason: str,
    data_key_reuse: Duration | None = None,
) -> sqs.Queue:
    """``DeadLetters``: encrypted with the project key, TLS only, kept 14 days; ``reason``
    says whose dead letters it holds (a dead-letter queue needs none of its own)."""
    queue = sqs.Queue(
        scope,
        "DeadLetters",
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        data_key_reuse=data_key_reuse,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    acknowledge(queue, "AwsSolutions-SQS3", reason)
    return queue


class FunctionOwner(Protocol):
    """What the props of a construct with a function say about where it lives: the name
    prefix, the project key (None: AWS managed keys), the removal policy and the network."""

    @property
    def prefix(self) -> str: ...
    @property
    def encryption_key(self) -> kms.IKey | None: ...
    @property
    def removal_policy(self) -> RemovalPolicy: ...
    @property
    def network(self) -> PrivateNetwork | None: ...


@dataclass(frozen=True)
class FunctionSpec:
    """Who the function is: its role ``<prefix>-<role_purpose>`` and what the role is for,
    what the function is (its security group's description: "the promotion function"), and
    whether it has a dead-letter queue ``<prefix>-<role_purpose>-dlq`` (``dead_letters``: what
    the queue holds, cdk-nag's SQS3 acknowledgement; None: no queue)."""

    role_purpose: str
    role_description: str
    what: str
    dead_letters: str | None = None
    log_group_id: str = "Logs"
    role_id: str = "Role"

    def __post_init__(self) -> None:
        problems = [
            f"{name}: must not be empty"
            for name in ("role_purpose", "role_description", "what", "log_group_id", "role_id")
            if not getattr(self, name)
        ]
        if self.dead_letters == "":
            problems.append("dead_letters: say what the queue holds, or None for no queue")
        if problems:
            raise ValueError("; ".join(problems))


class FunctionSetup:
    """``dead_letter_queue`` (or None), ``log_group`` (``log_retention``) and ``role`` of the
    function ``spec`` of ``owner``, created in ``scope``; :meth:`function` then creates the
    function with them."""

    def __init__(
        self,
        scope: Construct,
        owner: FunctionOwner,
        spec: FunctionSpec,
        log_retention: logs.RetentionDays,
    ) -> None:
        if spec.dead_letters is not None and owner.encryption_key is None:
            raise ValueError("encryption_key: the dead-letter queue is encrypted with it")
        self.scope, self.owner, self.spec = scope, owner, spec
        self.dead_letter_queue: sqs.Queue | None = None
        if spec.dead_letters is not None and owner.encryption_key is not None:
            self.dead_letter_queue = dead_letter_queue(
                scope,
                queue_name=f"{owner.prefix}-{spec.role_purpose}-dlq",
                encryption_key=owner.encryption_key,
                removal_policy=owner.removal_policy,
                reason=spec.dead_letters,
            )
        self.log_group = logs.LogGroup(
            scope,
            spec.log_group_id,
            retention=log_retention,
            encryption_key=owner.encryption_key,
            removal_policy=owner.removal_policy,
        )
        # A named role: the data key's policy trusts only roles called <prefix>-*.
        self.role = iam.Role(
            scope,
            spec.role_id,
            role_name=role_name(owner.prefix, spec.role_purpose),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=spec.role_description,
        )

    def function(self, kind: type[FunctionT], **function_props: Any) -> FunctionT:
        """``Function``, of ``kind`` (``lambda_.Function``, ``lambda_.DockerImageFunction``),
        with the role, the log group (the role may write it), the dead-letter queue and the
        VPC placement; it waits for the role's policy only. Call it once the role has its
        other grants: Lambda checks the VPC permissions when it creates the function."""
        role = self.role
        self.log_group.grant_write(role)
        placement = function_placement(self.owner.network, self.scope, self.spec.what, role)
        function = kind(
            self.scope,
            "Function",
            role=role,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            vpc=placement.vpc,
            vpc_subnets=placement.subnets,
            security_groups=placement.security_groups,
            **function_props,
        )
        depend_on_role_policy_only(function, role)
        acknowledge_inline_policy(role)
        return function
