"""A resource that AWS checks against another when it creates it depends on that other one.

CloudFormation creates resources in parallel unless one references or ``DependsOn`` another.
Two kinds of need are checked:

- **Named resources.** A resource that names another by a string (not by ``Ref``/``GetAtt``)
  gets no implicit dependency: a monitoring schedule or job definition naming its endpoint, a
  scalable target naming ``endpoint/NAME/variant/...``.
- **Permissions checked at creation.** Lambda refuses an SQS event source mapping whose
  function's role cannot receive from the queue ("Using Lambda with Amazon SQS", execution
  role permissions), so the policy granting it must exist first.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ml_constructs.preconditions.policies import granting
from ml_constructs.preconditions.requirements import LAMBDA_SQS_POLLER_ACTIONS
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId

ENDPOINT = "AWS::SageMaker::Endpoint"
SQS_QUEUE = "AWS::SQS::Queue"


@dataclass(frozen=True)
class NamedNeed:
    """``dependent``'s property at ``path`` names a ``needed`` resource by its
    ``name_property``, inside ``pattern`` (``{}`` stands for the name)."""

    dependent: str
    path: tuple[str, ...]
    needed: str
    name_property: str
    pattern: str = "{}"


NAMED_NEEDS: tuple[NamedNeed, ...] = (
    # The schedule's and the job definitions' endpoint: the API says only "an endpoint in
    # customer's account which has enabled DataCaptureConfig" (EndpointInput); whether it must
    # exist at creation is not documented, and depending on it costs nothing.
    NamedNeed("AWS::SageMaker::MonitoringSchedule", ("EndpointName",), ENDPOINT, "EndpointName"),
    *(
        NamedNeed(
            f"AWS::SageMaker::{kind}JobDefinition",
            (f"{kind}JobInput", "EndpointInput", "EndpointName"),
            ENDPOINT,
            "EndpointName",
        )
        for kind in ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
    ),
    # RegisterScalableTarget registers an existing variant's DesiredInstanceCount.
    NamedNeed(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        ("ResourceId",),
        ENDPOINT,
        "EndpointName",
        "endpoint/{}/variant/*",
    ),
)

#: The actions Lambda checks on the function's role when it creates an SQS event source.
SQS_EVENT_SOURCE_ACTIONS = LAMBDA_SQS_POLLER_ACTIONS[:3]


def _at(properties: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = properties
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _named(view: AssemblyView, rid: ResourceId) -> list[str]:
    findings = []
    before = view.depends_on(rid)
    for need in NAMED_NEEDS:
        if need.dependent != view.type_of(rid):
            continue
        value = _at(view.properties(rid), need.path)
        if value is None:
            continue
        named = view.render(rid.stack, value)
        for candidate in view.resources(need.needed):
            name = view.properties(candidate).get(need.name_property)
            if name is None:
                continue
            pattern = need.pattern.format(view.render(candidate.stack, name))
            if fnmatchcase(named, pattern) and candidate not in before:
                findings.append(f"DependsOn::{candidate.logical_id}")
    return findings


def _event_source(view: AssemblyView, rid: ResourceId) -> list[str]:
    properties = view.properties(rid)
    function = view.target(rid.stack, properties.get("FunctionName"))
    source = properties.get("EventSourceArn")
    queue = view.target(rid.stack, source)
    queue_arn = view.render(rid.stack, source)
    from_sqs = ":sqs:" in queue_arn or (queue is not None and view.type_of(queue) == SQS_QUEUE)
    if function is None or not from_sqs:
        return []
    role = view.role_of(function.stack, view.properties(function).get("Role"))
    if role is None:
        return []
    before = view.depends_on(rid)
    findings = []
    for action in SQS_EVENT_SOURCE_ACTIONS:
        granted = granting(view, view.role_statements(role), action, queue_arn)
        if not granted:
            findings.append(f"Missing::{action}")
        elif all(s.holder != role and s.holder not in before for s in granted):
            findings.append(f"NotDependedOn::{granted[0].holder.logical_id}")
    return findings


def check(view: AssemblyView, rid: ResourceId) -> list[str]:
    if view.type_of(rid) == "AWS::Lambda::EventSourceMapping":
        return sorted(set(_event_source(view, rid)))
    return sorted(set(_named(view, rid)))


RULE = Rule(
    name="DependsOnWhatItNeeds",
    info="The resource needs another to exist when AWS creates it (a resource it names by a "
    "string, or the policy granting what AWS checks) but does not depend on it.",
    explanation="CloudFormation orders only what references or DependsOn: a schedule, job "
    "definition or scalable target naming its endpoint by a string, or an SQS event source "
    "created before its function's role may receive, races on the first deploy and on "
    "replacement.",
    resource_types=frozenset(
        {*(need.dependent for need in NAMED_NEEDS), "AWS::Lambda::EventSourceMapping"}
    ),
    check=check,
)
