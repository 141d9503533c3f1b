"""What a promotion deploys into: one interface, two kinds (``endpoint_target`` for a
SageMaker endpoint, ``lambda_target`` for a Lambda-hosted model). The promoter validates and
copies the artifact; the target checks it may deploy, deploys, and settles the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from serving_core.artifact import ArtifactReport

from .messages import DeploymentSettled, EndpointSettled


@dataclass
class Outcome:
    """What happened to one request; ``status`` is stable for tests and dashboards."""

    status: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **self.details}


@dataclass(frozen=True)
class Submission:
    """A deployment the target accepted: the outcome's reason, details added to the outcome,
    and details added to the "started" notification only."""

    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    notice: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """One kind of serving a promotion deploys into."""

    @property
    def what(self) -> str:
        """How reports name what serves ("the endpoint")."""

    #: The artifact must carry ``model.onnx`` (the model runs in onnxruntime).
    requires_onnx: bool

    def already_submitted(self, name: str) -> bool:
        """A deployment of promotion ``name`` was accepted before (a redelivery)."""

    def ready(self) -> Any:
        """The serving state a deployment starts from; raises EndpointBusyError (retry) or
        PromotionFailedError."""

    def serving_artifact(self, state: Any) -> str | None:
        """The artifact ``state`` serves."""

    def submit(
        self,
        name: str,
        tags: list[dict[str, str]],
        report: ArtifactReport,
        artifact_uri: str,
        state: Any,
    ) -> Submission:
        """Start the guarded deployment of the validated release ``artifact_uri``."""

    def reconcile(self) -> str | None:
        """Record a finished promotion's artifact; returns the newly recorded URI."""

    def settle(self, event: EndpointSettled | DeploymentSettled) -> Outcome:
        """A deployment's end, as the service reports it."""

    def clean_up(self) -> list[str]:
        """Delete old promotions beyond ``keep_previous``; returns what went."""
