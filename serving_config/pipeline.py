"""Settings of the delivery pipeline (CDK Pipelines): where it runs, where its source comes from,
and the environments it deploys, in order, with their gates.

A configuration file whose top level is a ``pipeline:`` section defines a pipeline instead of an
environment (``-c env=NAME`` then synthesizes the pipeline stack and one stage per environment).
What is checked here needs this file alone; what needs the stages' environment files (known
names, accounts, regions, row limits) is checked by ``serving_config.loader.load_pipeline``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from serving_config._parsing import join, require

ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
#: CodeConnections (formerly CodeStar Connections) ARNs; both service prefixes are in use.
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):(?P<region>[a-z0-9-]+)"
    r":(?P<account>\d{12}):connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
GIT_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CODECOMMIT_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")
BRANCH = re.compile(r"^(?!/|.*//|.*\.\.|.*/$)[A-Za-z0-9._/-]{1,255}$")
PIPELINE_NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


def partition(region: str) -> str:
    """The ARN partition of ``region``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class SourceSettings:
    """Where the pipeline's source comes from: a repository behind an AWS CodeConnections
    connection (GitHub, GitLab, Bitbucket; ``repository`` is ``owner/name``), or a CodeCommit
    repository of the tooling account (``repository`` is its name)."""

    kind: Literal["connection", "codecommit"] = "connection"
    connection_arn: str = ""
    repository: str = ""
    branch: str = "main"
    trigger_on_push: bool = True

    def validate(self, path: str) -> None:
        if self.kind == "connection":
            require(
                CONNECTION_ARN.match(self.connection_arn) is not None,
                join(path, "connection_arn"),
                f"{self.connection_arn!r} is not a connection ARN "
                "(arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID)",
            )
            require(
                GIT_REPOSITORY.match(self.repository) is not None,
                join(path, "repository"),
                f"{self.repository!r} is not OWNER/NAME",
            )
        else:
            require(
                self.connection_arn == "",
                join(path, "connection_arn"),
                "a CodeCommit source takes no connection",
            )
            require(
                CODECOMMIT_REPOSITORY.match(self.repository) is not None,
                join(path, "repository"),
                f"{self.repository!r} is not a CodeCommit repository name",
            )
        require(
            BRANCH.match(self.branch) is not None,
            join(path, "branch"),
            f"{self.branch!r} is not a branch name",
        )

    @property
    def connection_account(self) -> str | None:
        match = CONNECTION_ARN.match(self.connection_arn)
        return match["account"] if match else None

    @property
    def connection_region(self) -> str | None:
        match = CONNECTION_ARN.match(self.connection_arn)
        return match["region"] if match else None


@dataclass(frozen=True)
class PostDeployTest:
    """After the stage deploys: the held-out rows through its API (SigV4), the floors that
    accuracy and ROC AUC must reach, and the rows per request."""

    min_accuracy: float
    min_auc: float
    batch_size: int = 100

    def validate(self, path: str) -> None:
        for name in ("min_accuracy", "min_auc"):
            value = getattr(self, name)
            require(0.5 <= value <= 1.0, join(path, name), f"{value} is outside 0.5-1.0")
        require(
            self.batch_size >= 1, join(path, "batch_size"), f"{self.batch_size} must be at least 1"
        )


@dataclass(frozen=True)
class StageSettings:
    """One environment the pipeline deploys (``name``: its configuration file), the account and
    region it deploys into (or the environment file's own), a manual approval before it, and a
    prediction check after it. ``allow_tooling_account``: deploying into the pipeline's own
    account is refused unless this says so."""

    name: str
    account: str | None = None
    region: str | None = None
    approval: bool = False
    post_deploy_test: PostDeployTest | None = None
    allow_tooling_account: bool = False

    def validate(self, path: str) -> None:
        require(
            self.account is None or ACCOUNT.match(self.account) is not None,
            join(path, "account"),
            f"{self.account!r} is not a 12-digit AWS account id",
        )
        require(
            self.region is None or REGION.match(self.region) is not None,
            join(path, "region"),
            f"{self.region!r} is not an AWS region name like eu-west-1",
        )


@dataclass(frozen=True)
class PipelineSettings:
    """The delivery pipeline: it lives in ``tooling_account``/``tooling_region`` and deploys
    ``stages`` in order."""

    tooling_account: str
    tooling_region: str
    source: SourceSettings
    stages: tuple[StageSettings, ...]
    project: str = "mlserving"
    pipeline_name: str = ""
    self_mutation: bool = True

    def validate(self, path: str) -> None:
        require(
            ACCOUNT.match(self.tooling_account) is not None,
            join(path, "tooling_account"),
            f"{self.tooling_account!r} is not a 12-digit AWS account id",
        )
        require(
            REGION.match(self.tooling_region) is not None,
            join(path, "tooling_region"),
            f"{self.tooling_region!r} is not an AWS region name like eu-west-1",
        )
        require(
            PROJECT.match(self.project) is not None,
            join(path, "project"),
            f"{self.project!r} must be 2-20 lowercase letters, digits or hyphens",
        )
        require(
            self.pipeline_name == "" or PIPELINE_NAME.match(self.pipeline_name) is not None,
            join(path, "pipeline_name"),
            f"{self.pipeline_name!r} is not a CodePipeline name (1-100 of A-Za-z0-9.@_-)",
        )
        source = self.source
        require(
            source.connection_region in (None, self.tooling_region),
            join(path, "source.connection_arn"),
            f"is in {source.connection_region}, not the tooling region {self.tooling_region}",
        )
        require(len(self.stages) >= 1, join(path, "stages"), "name at least one environment")
        seen: set[str] = set()
        for i, stage in enumerate(self.stages):
            where = f"{join(path, 'stages')}[{i}]"
            require(
                stage.name not in seen, join(where, "name"), f"{stage.name!r} is deployed twice"
            )
            seen.add(stage.name)

    @property
    def name(self) -> str:
        """The CodePipeline's name (and the pipeline stack's)."""
        return self.pipeline_name or f"{self.project}-delivery"

    def stage_role_name(self, stage: str) -> str:
        """The tooling account's role that a stage's publish and check steps run with."""
        return f"{self.project}-pipeline-{stage}"

    def stage_role_arn(self, stage: str) -> str:
        """ARN of :meth:`stage_role_name` (the stage's deployer role trusts exactly this)."""
        return (
            f"arn:{partition(self.tooling_region)}:iam::{self.tooling_account}:role/"
            f"{self.stage_role_name(stage)}"
        )
