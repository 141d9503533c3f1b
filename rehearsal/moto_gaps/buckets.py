"""S3 buckets created by CloudFormation, and bucket-policy conditions (moto 5.2.5).

- moto's AWS::S3::Bucket drops versioning, the public-access block, ownership controls,
  lifecycle rules, access logging and EventBridge notifications: they are applied through
  moto's S3 API when the bucket is created, and what was (or could not be) applied is recorded
  per bucket in the install's journal, which the report shows.
- moto applies a bucket-policy statement's effect and ignores its Condition, so the
  enforce-SSL deny would deny everything: statements with a Condition are skipped instead
  (listed as an open gap).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.s3.models import FakeBucket, s3_backends

from rehearsal.moto_gaps._aws import partition
from rehearsal.moto_gaps._patching import CfnCreate, Installer, patch, patch_cfn_create

#: Bucket name -> setting -> "applied" or "not applied: <why>".
BucketSettings = dict[str, dict[str, str]]


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape (what moto parses)."""
    api: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule.get("Status", "Enabled")}
    api["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": str(rule["NoncurrentVersionExpirationInDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    return api


def _logging(backend: Any, name: str, config: dict[str, Any]) -> Callable[[], None]:
    """moto insists the target's policy already admits the logging service; AWS does not check
    at configuration time, and CDK's log-bucket policy names this bucket, so it is created
    after it. Set the configuration as S3 stores it once the target exists."""
    target = {
        "TargetBucket": config.get("DestinationBucketName", name),
        "TargetPrefix": config.get("LogFilePrefix", ""),
    }

    def set_logging() -> None:
        backend.get_bucket(target["TargetBucket"])
        backend.get_bucket(name).logging = target

    return set_logging


def _settings(backend: Any, name: str, p: dict[str, Any]) -> dict[str, Callable[[], None]]:
    """The template's settings moto dropped, each as the S3 call that applies it."""
    actions: dict[str, Callable[[], None]] = {}
    if "VersioningConfiguration" in p:
        status = p["VersioningConfiguration"]["Status"]
        actions["versioning"] = lambda: backend.put_bucket_versioning(name, status)
    if "PublicAccessBlockConfiguration" in p:
        block = {k: str(v).lower() for k, v in p["PublicAccessBlockConfiguration"].items()}
        actions["public access block"] = lambda: backend.put_public_access_block(name, block)
    if "OwnershipControls" in p:
        rule = p["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        actions["ownership controls"] = lambda: backend.put_bucket_ownership_controls(name, rule)
    if "LifecycleConfiguration" in p:
        rules = [_lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]
        actions["lifecycle"] = lambda: backend.put_bucket_lifecycle(name, rules)
    if "LoggingConfiguration" in p:
        actions["access logging"] = _logging(backend, name, p["LoggingConfiguration"])
    eventbridge = p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if eventbridge.get("EventBridgeEnabled") in (True, "true"):
        actions["EventBridge notifications"] = lambda: (
            backend.put_bucket_notification_configuration(name, {"EventBridgeConfiguration": {}})
        )
    return actions


def apply_bucket_properties(backend: Any, name: str, properties: dict[str, Any]) -> dict[str, str]:
    """Apply what moto dropped; each setting "applied" or why not (reported, never hidden)."""
    applied: dict[str, str] = {}
    for label, action in _settings(backend, name, properties).items():
        try:
            action()
            applied[label] = "applied"
        except Exception as error:
            applied[label] = f"not applied: {type(error).__name__}: {error}"
    return applied


def _create_bucket(settings: BucketSettings) -> Callable[[CfnCreate], Any]:
    def create(call: CfnCreate) -> Any:
        bucket = call.moto()
        backend = s3_backends[call.account_id][partition(call.region_name)]
        settings[bucket.name] = apply_bucket_properties(backend, bucket.name, call.properties)
        return bucket

    return create


def _get_permission(self: Any, action: str, resource: str) -> Any:
    """FakeBucket.get_permission over the policy's statements without a Condition."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    unconditional = [s for s in statements if "Condition" not in s]
    if not unconditional:
        return PermissionResult.NEUTRAL
    document["Statement"] = unconditional
    return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)


def _apply(settings: BucketSettings) -> BucketSettings:
    patch_cfn_create(FakeBucket, _create_bucket(settings))
    patch(FakeBucket, "get_permission", _get_permission)
    return settings


INSTALL = Installer(_apply)
