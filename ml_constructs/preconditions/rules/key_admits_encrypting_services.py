"""Every AWS service that encrypts or decrypts with the key on its own identity is admitted by
the key policy, under conditions that service's requests carry.

A CloudWatch alarm publishing to a topic encrypted with the key, an EventBridge rule sending to
an encrypted topic or queue, and CloudWatch Logs writing an encrypted log group use the key as
the service principal, not as a role of this app: only the key policy can admit them. A
condition key the service does not send makes the statement never match, and the delivery is
silently dropped.

What each service sends, by where it delivers (sources):

- ``cloudwatch.amazonaws.com`` to SNS: ``aws:SourceAccount``/``aws:SourceArn`` ("Enable
  compatibility between event sources from AWS services and encrypted topics", SNS guide).
- ``events.amazonaws.com`` to SQS: ``aws:SourceAccount``/``aws:SourceArn`` ("Amazon SQS key
  management"; docs/aws-contracts.md E13).
- ``events.amazonaws.com`` to SNS: none documented; EventBridge's own statement for a target's
  key has no condition ("Troubleshooting Amazon EventBridge", SNS targets).
- ``logs.REGION.amazonaws.com``: ``kms:EncryptionContext:aws:logs:arn`` ("Encrypt log data in
  CloudWatch Logs using AWS KMS").
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_constructs.preconditions.policies import action_matches
from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.template_view import AssemblyView, ResourceId, as_list

TOPIC, QUEUE, LOG_GROUP = "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::Logs::LogGroup"
#: (service principal, destination type) -> condition keys its key use carries.
SUPPORTED_CONDITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("cloudwatch.amazonaws.com", TOPIC): frozenset({"aws:sourceaccount", "aws:sourcearn"}),
    ("events.amazonaws.com", QUEUE): frozenset({"aws:sourceaccount", "aws:sourcearn"}),
    ("events.amazonaws.com", TOPIC): frozenset(),
    ("logs.{AWS::Region}.amazonaws.com", LOG_GROUP): frozenset(
        {"kms:encryptioncontext:aws:logs:arn"}
    ),
}
#: What the service needs of the key for that destination.
NEEDED_ACTIONS = {
    TOPIC: ("kms:GenerateDataKey", "kms:Decrypt"),
    QUEUE: ("kms:GenerateDataKey", "kms:Decrypt"),
    LOG_GROUP: ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
}
_KEY_PROPERTY = {TOPIC: "KmsMasterKeyId", QUEUE: "KmsMasterKeyId", LOG_GROUP: "KmsKeyId"}


def _destinations(view: AssemblyView, key: ResourceId) -> Iterator[ResourceId]:
    for destination in view.resources(TOPIC, QUEUE, LOG_GROUP):
        value = view.properties(destination).get(_KEY_PROPERTY[view.type_of(destination)])
        if value is not None and view.target(destination.stack, value) == key:
            yield destination


def _senders(view: AssemblyView, destination: ResourceId) -> set[str]:
    """The service principals that deliver to ``destination`` on their own identity."""
    kind = view.type_of(destination)
    if kind == LOG_GROUP:
        return {"logs.{AWS::Region}.amazonaws.com"}
    arn = view.arn_of(destination)
    senders = set()
    for alarm in view.resources("AWS::CloudWatch::Alarm"):
        properties = view.properties(alarm)
        actions = [
            view.render(alarm.stack, a)
            for name in ("AlarmActions", "OKActions", "InsufficientDataActions")
            for a in as_list(properties.get(name))
        ]
        if arn in actions:
            senders.add("cloudwatch.amazonaws.com")
    for rule in view.resources("AWS::Events::Rule"):
        targets = as_list(view.properties(rule).get("Targets"))
        arns = {view.render(rule.stack, t.get("Arn")) for t in targets}
        arns |= {
            view.render(rule.stack, (t.get("DeadLetterConfig") or {}).get("Arn")) for t in targets
        }
        if arn in arns:
            senders.add("events.amazonaws.com")
    return senders


def _admitted(view: AssemblyView, key: ResourceId, principal: str, kind: str) -> str | None:
    """None if the key policy admits ``principal`` for ``kind``, else the finding."""
    document = view.properties(key).get("KeyPolicy") or {}
    supported = SUPPORTED_CONDITIONS.get((principal, kind))
    unsupported: set[str] = set()
    for statement in as_list(document.get("Statement")):
        services = as_list((statement.get("Principal") or {}).get("Service"))
        if statement.get("Effect") != "Allow" or principal not in {
            view.render(key.stack, s) for s in services
        }:
            continue
        actions = as_list(statement.get("Action"))
        if not all(any(action_matches(a, n) for a in actions) for n in NEEDED_ACTIONS[kind]):
            continue
        keys = {k.lower() for op in (statement.get("Condition") or {}).values() for k in op}
        extra = keys - (supported or frozenset())
        if not extra:
            return None
        unsupported |= extra
    if supported is None:
        return f"UnknownSender::{principal}->{kind}"
    if unsupported:
        return f"UnsupportedCondition::{principal}->{kind}::{','.join(sorted(unsupported))}"
    return f"NotAdmitted::{principal}->{kind}"


def check(view: AssemblyView, key: ResourceId) -> list[str]:
    findings = set()
    for destination in _destinations(view, key):
        kind = view.type_of(destination)
        for principal in _senders(view, destination):
            finding = _admitted(view, key, principal, kind)
            if finding is not None:
                findings.add(finding)
    return sorted(findings)


RULE = Rule(
    name="KeyAdmitsEncryptingServices",
    info="A service that encrypts with the key on its own identity (alarms, EventBridge, "
    "CloudWatch Logs) is not admitted by the key policy, or only under a condition key that "
    "service's requests do not carry.",
    explanation="Only the key policy can let a service principal use a customer managed key; "
    "a statement conditioned on a key the service does not send never matches, and alarm "
    "notifications or events are silently dropped.",
    resource_types=frozenset({"AWS::KMS::Key"}),
    check=check,
)
