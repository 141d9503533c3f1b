"""A Lambda-hosted model (``endpoint.kind: lambda``) as the target: the validated release goes
into the function's $LATEST (``MODEL_DATA_URL``/``MODEL_SHA256``, every other variable kept), a
version is published from exactly that configuration, and CodeDeploy shifts the serving alias
to it through the stack's deployment group (its canary/linear config and rollback alarms
apply). CodeDeploy's "Deployment State-change Notification" settles it: SUCCESS records the
artifact in the SSM parameter, FAILURE or STOP reports the rollback (the alias stays on the old
version, the parameter is not written).

Idempotency: the published version's description names the promotion (``promotion:<name>``)
and so does the deployment's; a redelivery that finds a deployment of that name changes
nothing. Only versions a promotion published are ever recorded or deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from serving_core.artifact import ArtifactReport
from serving_core.metric_names import METRIC_CLEANED, METRIC_FAILED

from .config import LambdaTargetConfig, PromotionConfig
from .errors import EndpointBusyError, PromotionFailedError, error_code, error_message
from .messages import DEPLOYMENT_ENDS, DeploymentSettled, EndpointSettled
from .reporting import Reporter, log
from .serving_record import ServingRecord
from .target import Outcome, Submission

#: The model function's variables a promotion sets (ml_constructs.lambda_model.runtime.config's
#: names; a test pins them equal: runtimes do not import each other).
MODEL_DATA_URL = "MODEL_DATA_URL"
MODEL_SHA256 = "MODEL_SHA256"
#: Descriptions of what a promotion publishes and deploys start with it.
MARKER = "promotion:"
#: CodeDeploy's statuses of a deployment that has not ended (ListDeployments' filter).
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
#: How long $LATEST may take to apply the new configuration (Lambda: seconds).
UPDATE_TIMEOUT_S = 120.0
POLL_S = 2.0
#: A redelivered request is at most the queue's retention old (SQS: 14 days at most).
REDELIVERY_WINDOW = dt.timedelta(days=14)
#: A version a promotion published is never deleted in its first minutes.
GRACE = dt.timedelta(minutes=15)
#: Lambda's Description limit (PublishVersion) and CodeDeploy's deployment description's.
_DESCRIPTION_LIMIT = 256


def appspec(target: LambdaTargetConfig, current: str, new: str) -> dict[str, Any]:
    """CodeDeploy's AppSpec for a Lambda deployment: shift ``alias`` from ``current`` to
    ``new`` (version 0.0, one AWS::Lambda::Function resource)."""
    return {
        "version": 0.0,
        "Resources": [
            {
                "model": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": target.function_name,
                        "Alias": target.alias_name,
                        "CurrentVersion": current,
                        "TargetVersion": new,
                    },
                }
            }
        ],
    }


def revision(document: dict[str, Any]) -> dict[str, Any]:
    """CreateDeployment's ``revision``: the AppSpec as content, with its SHA-256."""
    content = json.dumps(document, sort_keys=True)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {
            "content": content,
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    }


class LambdaFunctionTarget:
    """The model function, its serving alias and their CodeDeploy deployment group."""

    requires_onnx = True

    def __init__(
        self,
        config: PromotionConfig,
        lambda_client: Any,
        codedeploy: Any,
        record: ServingRecord,
        reporter: Reporter,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.lambda_target is not None  # chosen for it
        self.config = config
        self.target = config.lambda_target
        self.lambda_ = lambda_client
        self.codedeploy = codedeploy
        self.record = record
        self.reporter = reporter
        self.sleep = sleep
        self.clock = clock

    @property
    def what(self) -> str:
        return f"alias {self.target.alias_name} of {self.target.function_name}"

    @property
    def _group(self) -> dict[str, str]:
        return {
            "applicationName": self.target.application_name,
            "deploymentGroupName": self.target.deployment_group_name,
        }

    # -- before a deployment ----------------------------------------------------------------

    def already_submitted(self, name: str) -> bool:
        """A deployment of the group, within the redelivery window, names this promotion."""
        since = dt.datetime.now(dt.UTC) - REDELIVERY_WINDOW
        return any(name in str(d.get("description", "")) for d in self._deployments(since))

    def _deployments(
        self, since: dt.datetime, statuses: tuple[str, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {**self._group, "createTimeRange": {"start": since}}
        if statuses:
            request["includeOnlyStatuses"] = list(statuses)
        ids: list[str] = []
        while True:
            page = self.codedeploy.list_deployments(**request)
            ids += page.get("deployments", [])
            if not page.get("nextToken"):
                break
            request["nextToken"] = page["nextToken"]
        for start in range(0, len(ids), 25):  # BatchGetDeployments takes 25 ids at most
            batch = self.codedeploy.batch_get_deployments(deploymentIds=ids[start : start + 25])
            yield from batch.get("deploymentsInfo", [])

    def ready(self) -> dict[str, Any]:
        """The alias, when no deployment of the group runs and it serves one version."""
        since = dt.datetime.now(dt.UTC) - REDELIVERY_WINDOW
        for deployment in self._deployments(since, ACTIVE_STATUSES):
            raise EndpointBusyError(
                f"deployment {deployment.get('deploymentId')} of "
                f"{self.target.deployment_group_name} is {deployment.get('status')}"
            )
        alias = self._alias()
        if alias.get("RoutingConfig", {}).get("AdditionalVersionWeights"):
            raise EndpointBusyError(f"{self.what} is shifting traffic between two versions")
        return alias

    def _alias(self) -> dict[str, Any]:
        try:
            alias: dict[str, Any] = self.lambda_.get_alias(
                FunctionName=self.target.function_name, Name=self.target.alias_name
            )
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise PromotionFailedError(
                    f"{self.what} does not exist; deploy the serving stack before uploading models"
                ) from None
            raise
        return alias

    def serving_artifact(self, state: dict[str, Any]) -> str | None:
        """MODEL_DATA_URL of the version the alias serves."""
        return self._variables(str(state["FunctionVersion"])).get(MODEL_DATA_URL)

    def _configuration(self, qualifier: str | None = None) -> dict[str, Any]:
        request = {"FunctionName": self.target.function_name}
        if qualifier is not None:
            request["Qualifier"] = qualifier
        configuration: dict[str, Any] = self.lambda_.get_function_configuration(**request)
        return configuration

    def _variables(self, qualifier: str) -> dict[str, str]:
        environment = self._configuration(qualifier).get("Environment", {})
        return dict(environment.get("Variables", {}))

    # -- the deployment ----------------------------------------------------------------------

    def submit(
        self,
        name: str,
        tags: list[dict[str, str]],
        report: ArtifactReport,
        artifact_uri: str,
        state: dict[str, Any],
    ) -> Submission:
        """$LATEST gets the release, a version is published from it, CodeDeploy shifts the
        alias from the version it serves to the new one."""
        label = f"{MARKER}{name} sha256:{report.sha256}"[:_DESCRIPTION_LIMIT]
        updated = self._configure_latest(artifact_uri, report.sha256)
        version = self._publish(updated, label)
        current = str(state["FunctionVersion"])
        if version == current:
            raise PromotionFailedError(f"{self.what} already serves version {version}")
        document = appspec(self.target, current, version)
        try:
            deployment = self.codedeploy.create_deployment(
                **self._group, revision=revision(document), description=label
            )
        except ClientError as error:
            if error_code(error) in {"DeploymentLimitExceededException", "ThrottlingException"}:
                raise EndpointBusyError(
                    f"CreateDeployment refused: {error_message(error)}"
                ) from None
            raise
        return Submission(
            f"CodeDeploy deployment {deployment['deploymentId']} created",
            details={
                "function_version": version,
                "previous_version": current,
                "deployment_id": deployment["deploymentId"],
            },
            notice={"deployment_group": self.target.deployment_group_name},
        )

    def _configure_latest(self, artifact_uri: str, sha256: str) -> dict[str, Any]:
        """UpdateFunctionConfiguration of $LATEST with the model's two variables (the call
        replaces the whole environment: every other variable is read first and kept), guarded
        by the revision read; then wait until Lambda applied it."""
        latest = self._configuration()
        environment = latest.get("Environment", {})
        if environment.get("Error"):  # e.g. no kms:Decrypt of the variables' key
            error = environment["Error"]
            raise PromotionFailedError(
                f"the environment of {self.target.function_name} cannot be read, so it cannot "
                f"be kept: {error.get('ErrorCode', '')} {error.get('Message', '')}"
            )
        variables = dict(environment.get("Variables", {}))
        variables |= {MODEL_DATA_URL: artifact_uri, MODEL_SHA256: sha256}
        try:
            self.lambda_.update_function_configuration(
                FunctionName=self.target.function_name,
                Environment={"Variables": variables},
                RevisionId=latest["RevisionId"],
            )
        except ClientError as error:
            if error_code(error) in {"PreconditionFailedException", "ResourceConflictException"}:
                raise EndpointBusyError(
                    f"{self.target.function_name} changed meanwhile: {error_message(error)}"
                ) from None
            raise
        return self._wait_until_updated()

    def _wait_until_updated(self) -> dict[str, Any]:
        deadline = self.clock() + UPDATE_TIMEOUT_S
        while True:
            latest = self._configuration()
            status = latest.get("LastUpdateStatus", "Successful")
            if status == "Successful":
                return latest
            if status == "Failed":
                raise PromotionFailedError(
                    f"Lambda could not apply the configuration of {self.target.function_name}: "
                    f"{latest.get('LastUpdateStatusReasonCode', '')} "
                    f"{latest.get('LastUpdateStatusReason', 'no reason given')}"
                )
            if self.clock() >= deadline:
                raise PromotionFailedError(
                    f"{self.target.function_name} is still {status} {UPDATE_TIMEOUT_S:.0f} s "
                    "after UpdateFunctionConfiguration; nothing was published"
                )
            self.sleep(POLL_S)

    def _publish(self, latest: dict[str, Any], label: str) -> str:
        """PublishVersion of exactly the configuration waited for (CodeSha256 and RevisionId:
        Lambda refuses if $LATEST changed since)."""
        try:
            published = self.lambda_.publish_version(
                FunctionName=self.target.function_name,
                CodeSha256=latest["CodeSha256"],
                RevisionId=latest["RevisionId"],
                Description=label,
            )
        except ClientError as error:
            if error_code(error) in {"PreconditionFailedException", "ResourceConflictException"}:
                raise EndpointBusyError(
                    f"{self.target.function_name} changed before publishing: {error_message(error)}"
                ) from None
            raise
        return str(published["Version"])

    # -- settling ----------------------------------------------------------------------------

    def settle(self, event: EndpointSettled | DeploymentSettled) -> Outcome:
        """CodeDeploy's end of a deployment of our group: record SUCCESS, report a rollback."""
        if not isinstance(event, DeploymentSettled):
            return Outcome("ignored", "a SageMaker event, and this promotion serves a function")
        if (event.application, event.deployment_group) != (
            self.target.application_name,
            self.target.deployment_group_name,
        ):
            return Outcome(
                "ignored", f"event for another deployment group {event.deployment_group}"
            )
        if event.state not in DEPLOYMENT_ENDS:
            return Outcome("ignored", f"deployment {event.deployment_id} is {event.state}")
        if event.state == "SUCCESS":
            recorded = self.reconcile()
            deleted = self.clean_up()
            details: dict[str, Any] = {"deployment_id": event.deployment_id}
            if deleted:
                details["deleted"] = deleted
            if recorded:
                details["artifact"] = recorded
                return Outcome("recorded", f"{self.what} serves {recorded}", details)
            return Outcome("unchanged", "the recorded artifact already names what serves", details)
        return self._rolled_back(event)

    def _rolled_back(self, event: DeploymentSettled) -> Outcome:
        deployment = self.codedeploy.get_deployment(deploymentId=event.deployment_id)[
            "deploymentInfo"
        ]
        description = str(deployment.get("description", ""))
        if not description.startswith(MARKER):
            return Outcome("ignored", f"deployment {event.deployment_id} is not a promotion's")
        details = {
            "deployment_id": event.deployment_id,
            "state": event.state,
            "promotion": description,
            "error": deployment.get("errorInformation", {}),
            "rollback": deployment.get("rollbackInfo", {}),
            "serving_version": self._alias().get("FunctionVersion"),
        }
        self.reporter.emit_metric(METRIC_FAILED)
        log("promotion_rolled_back", level="WARNING", **details)
        self.reporter.notify(
            "rolled_back",
            f"Promotion rolled back: {self.what} stays on its version ({event.state})",
            details,
        )
        return Outcome(
            "rolled-back",
            f"deployment {event.deployment_id} ended {event.state}; the parameter is unchanged",
            details,
        )

    def reconcile(self) -> str | None:
        """If the alias serves (alone) a version a promotion published, point the SSM
        parameter at its MODEL_DATA_URL. Returns the newly recorded URI, or None."""
        alias = self._alias()
        if alias.get("RoutingConfig", {}).get("AdditionalVersionWeights"):
            return None  # a shift runs
        version = str(alias["FunctionVersion"])
        configuration = self._configuration(version)
        if not str(configuration.get("Description", "")).startswith(MARKER):
            return None  # the stack's own version: the parameter already names its artifact
        uri = configuration.get("Environment", {}).get("Variables", {}).get(MODEL_DATA_URL)
        current = self.record.recorded_artifact()
        if not uri or uri == current:
            return None
        self.record.record(
            uri,
            current,
            {"function_version": version},
            f"{self.what} now serves version {version}",
            "S3 URI of the model artifact the Lambda-hosted model serves (set by promotion)",
        )
        return str(uri)

    def clean_up(self) -> list[str]:
        """Delete versions a promotion published beyond the ``keep_previous`` newest others;
        never the alias's version(s), $LATEST, or one younger than the grace period."""
        alias = self._alias()
        kept = {str(alias["FunctionVersion"])}
        kept |= set(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
        now = dt.datetime.now(dt.UTC)
        candidates = [
            v
            for v in self._versions()
            if v["Version"] not in kept and str(v.get("Description", "")).startswith(MARKER)
        ]
        candidates.sort(key=lambda v: int(v["Version"]), reverse=True)
        deleted = []
        for version in candidates[self.config.keep_previous :]:
            if now - _modified(version) < GRACE:
                continue
            self.lambda_.delete_function(
                FunctionName=self.target.function_name, Qualifier=version["Version"]
            )
            deleted.append(f"{self.target.function_name}:{version['Version']}")
        if deleted:
            self.reporter.emit_metric(METRIC_CLEANED, len(deleted))
            log("promotions_deleted", deleted=deleted, kept=self.config.keep_previous)
        return deleted

    def _versions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"FunctionName": self.target.function_name}
        while True:
            page = self.lambda_.list_versions_by_function(**request)
            found += [v for v in page.get("Versions", []) if v.get("Version") != "$LATEST"]
            if not page.get("NextMarker"):
                return found
            request["Marker"] = page["NextMarker"]


def _modified(version: dict[str, Any]) -> dt.datetime:
    """Lambda's LastModified (ISO 8601: ``2024-01-01T00:00:00.000+0000``); unreadable: in the
    future (so the version is kept)."""
    text = str(version.get("LastModified", ""))
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00 (fromisoformat before 3.11)
    try:
        modified = dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return modified if modified.tzinfo else modified.replace(tzinfo=dt.UTC)
