"""Settings of the SageMaker Model Registry path: what triggers a promotion, the model package
group, the accounts that may use its packages, and where another account's approved packages
come from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require

Trigger = Literal["upload", "registry", "both"]
ACCOUNT = re.compile(r"^\d{12}$")
GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":model-package-group/(?P<name>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
)
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")


@dataclass(frozen=True)
class RegistrySettings:
    """``trigger``: which events promote a model: an upload under ``models/``, the approval of a
    model package in the registry, or both.

    ``group_name``: this environment's model package group (default ``<project>-<env>``).
    ``consumer_accounts``: accounts that promote this group's approved packages (for example
    prod reading staging's group): they may describe its packages, read their artifacts and
    receive its approval events. ``source_group_arn`` (with ``source_bucket`` and
    ``source_key_arn``): promote the packages approved in another account's group instead of
    this environment's own; the artifact is copied into this environment's bucket first.
    """

    trigger: Trigger = "upload"
    group_name: str = ""
    consumer_accounts: tuple[str, ...] = ()
    source_group_arn: str = ""
    source_bucket: str = ""
    source_key_arn: str = ""

    def validate(self, path: str) -> None:
        require(
            self.group_name == "" or GROUP_NAME.match(self.group_name) is not None,
            join(path, "group_name"),
            f"{self.group_name!r} is not a model package group name (1-63 letters, digits, "
            "hyphens)",
        )
        for i, account in enumerate(self.consumer_accounts):
            require(
                ACCOUNT.match(account) is not None,
                f"{join(path, 'consumer_accounts')}[{i}]",
                f"{account!r} is not a 12-digit AWS account id",
            )
        require(
            len(set(self.consumer_accounts)) == len(self.consumer_accounts),
            join(path, "consumer_accounts"),
            "has duplicates",
        )
        source = (self.source_group_arn, self.source_bucket, self.source_key_arn)
        require(
            all(source) or not any(source),
            join(path, "source_group_arn"),
            "source_group_arn, source_bucket and source_key_arn go together (the other "
            "account's group, the bucket its artifacts are in, and the key that encrypts them)",
        )
        require(
            not self.source_group_arn or GROUP_ARN.match(self.source_group_arn) is not None,
            join(path, "source_group_arn"),
            f"{self.source_group_arn!r} is not a model package group ARN "
            "(arn:aws:sagemaker:REGION:ACCOUNT:model-package-group/NAME)",
        )
        require(
            not self.source_bucket or BUCKET.match(self.source_bucket) is not None,
            join(path, "source_bucket"),
            f"{self.source_bucket!r} is not an S3 bucket name",
        )
        require(
            not self.source_key_arn or KEY_ARN.match(self.source_key_arn) is not None,
            join(path, "source_key_arn"),
            f"{self.source_key_arn!r} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
        )
        require(
            not self.source_group_arn or self.trigger != "upload",
            join(path, "trigger"),
            "'upload' never promotes the source group's packages; use 'registry' or 'both'",
        )

    @property
    def from_registry(self) -> bool:
        return self.trigger in ("registry", "both")

    @property
    def from_upload(self) -> bool:
        return self.trigger in ("upload", "both")

    @property
    def source_account(self) -> str | None:
        match = GROUP_ARN.match(self.source_group_arn)
        return match["account"] if match else None

    @property
    def source_group_name(self) -> str | None:
        match = GROUP_ARN.match(self.source_group_arn)
        return match["name"] if match else None
