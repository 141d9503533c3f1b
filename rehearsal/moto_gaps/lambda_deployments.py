"""CodeDeploy's Lambda deployments for moto 5.2.5 (which records CreateDeployment and does
nothing else): the one stand-in the rehearsal and the tests share.

As the CodeDeploy API reference and user guide document a deployment to the Lambda compute
platform:

- CreateDeployment takes the AppSpec as ``revision`` (``revisionType: AppSpecContent``,
  ``appSpecContent.content`` JSON here, ``sha256`` of it when given): ``version`` 0.0 and one
  ``Resources`` entry of ``Type: AWS::Lambda::Function`` whose ``Properties`` name the function,
  alias, ``CurrentVersion`` (what the alias serves) and ``TargetVersion``. A request that breaks
  these rules is refused (``InvalidRevisionException``), as is one for a group that already has
  an active deployment (``DeploymentLimitExceededException``);
- the deployment config (the request's, else the group's) shifts the alias: AllAtOnce, or a
  canary's / linear steps (the alias's ``RoutingConfig.AdditionalVersionWeights`` carries the
  target's share), each step first checking the group's rollback alarms: one in ALARM rolls the
  alias back to ``CurrentVersion`` (no routing) and the deployment ends ``Failed`` with
  ``errorInformation.code ALARM_ACTIVE`` and ``rollbackInfo``; otherwise the alias ends on
  ``TargetVersion`` and the deployment ``Succeeded``;
- the end is published to EventBridge as "CodeDeploy Deployment State-change Notification"
  (``detail.state`` SUCCESS or FAILURE), the way CodeDeploy sends it;
- GetDeploymentConfig answers the predefined Lambda configs and the custom ones a template
  created (``CUSTOM_CONFIGS``, filled by shims/codedeploy.py); GetDeployment shows the status,
  errorInformation and rollbackInfo.

The Lambda guards a promotion relies on (moto 5.2.5 has no function RevisionId): every
function configuration carries a ``RevisionId`` that changes with it, and
UpdateFunctionConfiguration and PublishVersion refuse a ``RevisionId`` (or PublishVersion a
``CodeSha256``) that is not the current one with ``PreconditionFailedException``, as Lambda
documents.

Timing: the first shift (the canary, the first linear step, or all at once) is made before
CreateDeployment returns; ``step_seconds`` 0 runs the rest at once too (tests of a deployment
that is over at once); ``None`` leaves it InProgress until :meth:`advance` (tests of a
deployment that runs); a positive value runs one step per ``step_seconds`` (the rehearsal;
CodeDeploy's waits are minutes). Not emulated: lifecycle hooks
(BeforeAllowTraffic/AfterAllowTraffic), YAML AppSpecs, StopDeployment.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.codedeploy import models as codedeploy_models
from moto.codedeploy import responses as codedeploy_responses
from moto.codedeploy.exceptions import CodeDeployException

from rehearsal.moto_gaps._patching import Installer, patch

STATE_CHANGE = "CodeDeploy Deployment State-change Notification"
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
#: CodeDeploy's predefined Lambda configs: name -> (type, percentage, interval in minutes).
_CANARY = re.compile(r"^CodeDeployDefault\.LambdaCanary(\d+)Percent(\d+)Minutes?$")
_LINEAR = re.compile(r"^CodeDeployDefault\.LambdaLinear(\d+)PercentEvery(\d+)Minutes?$")
ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
_lock = threading.RLock()
#: Custom Lambda deployment configs the templates created (AWS::CodeDeploy::DeploymentConfig,
#: shims/codedeploy.py): name -> GetDeploymentConfig's ``trafficRoutingConfig``.
CUSTOM_CONFIGS: dict[str, dict[str, Any]] = {}


def _refuse(code: str, message: str) -> CodeDeployException:
    error = CodeDeployException(code, message)
    error.code = 400
    return error


def traffic_routing(config_name: str) -> dict[str, Any]:
    """GetDeploymentConfig's ``trafficRoutingConfig`` of a predefined or a custom Lambda
    config."""
    if config_name in CUSTOM_CONFIGS:
        return CUSTOM_CONFIGS[config_name]
    if config_name == ALL_AT_ONCE:
        return {"type": "AllAtOnce"}
    if match := _CANARY.match(config_name):
        percent, minutes = (int(g) for g in match.groups())
        canary = {"canaryPercentage": percent, "canaryInterval": minutes}
        return {"type": "TimeBasedCanary", "timeBasedCanary": canary}
    if match := _LINEAR.match(config_name):
        percent, minutes = (int(g) for g in match.groups())
        linear = {"linearPercentage": percent, "linearInterval": minutes}
        return {"type": "TimeBasedLinear", "timeBasedLinear": linear}
    raise _refuse(
        "DeploymentConfigDoesNotExistException",
        f"No deployment configuration found for name: {config_name}",
    )


def shares(config_name: str) -> list[int]:
    """The target version's share of the alias's traffic at each step, in percent."""
    routing = traffic_routing(config_name)
    if routing["type"] == "TimeBasedCanary":
        return [routing["timeBasedCanary"]["canaryPercentage"], 100]
    if routing["type"] == "TimeBasedLinear":
        step = routing["timeBasedLinear"]["linearPercentage"]
        return [*range(step, 100, step), 100]
    return [100]


@dataclass(frozen=True)
class AppSpec:
    """The one Lambda resource of a deployment's AppSpec."""

    function_name: str
    alias: str
    current_version: str
    target_version: str


def parse_appspec(revision: dict[str, Any]) -> AppSpec:
    """The AppSpec of a CreateDeployment ``revision``, checked as CodeDeploy documents it."""
    if revision.get("revisionType") != "AppSpecContent":
        raise _refuse(
            "InvalidRevisionException",
            "A Lambda deployment's revision must be AppSpecContent (S3 revisions are not emulated)",
        )
    content = revision.get("appSpecContent", {}).get("content", "")
    digest = revision.get("appSpecContent", {}).get("sha256")
    if digest and digest != hashlib.sha256(content.encode()).hexdigest():
        raise _refuse("InvalidRevisionException", "The AppSpec content's sha256 does not match")
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        raise _refuse("InvalidRevisionException", f"The AppSpec is not JSON: {error}") from None
    if str(document.get("version")) not in ("0.0", "0"):
        raise _refuse("InvalidRevisionException", "The AppSpec version must be 0.0")
    resources = document.get("Resources", document.get("resources"))
    if not isinstance(resources, list) or len(resources) != 1 or len(resources[0]) != 1:
        raise _refuse(
            "InvalidRevisionException", "A Lambda AppSpec has exactly one entry in Resources"
        )
    (resource,) = resources[0].values()
    if resource.get("Type") != "AWS::Lambda::Function":
        raise _refuse(
            "InvalidRevisionException", "The resource's Type is not AWS::Lambda::Function"
        )
    properties = resource.get("Properties", {})
    keys = ("Name", "Alias", "CurrentVersion", "TargetVersion")
    missing = [key for key in keys if not isinstance(properties.get(key), str)]
    if missing:
        raise _refuse(
            "InvalidRevisionException", f"The resource's Properties lack {', '.join(missing)}"
        )
    return AppSpec(*(properties[key] for key in keys))


@dataclass
class LambdaDeployment:
    """One accepted deployment and what happened to it."""

    deployment_id: str
    application: str
    deployment_group: str
    config_name: str
    appspec: AppSpec
    description: str
    #: The target's share at each step taken, in percent.
    steps: list[int] = field(default_factory=list)
    status: str = "InProgress"
    #: The alarm that rolled it back (None: not rolled back).
    rolled_back_by: str | None = None


@dataclass
class LambdaDeployments:
    """Every Lambda deployment CodeDeploy accepted, oldest first, and the events it sent (a
    journal part)."""

    deployments: list[LambdaDeployment] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    _pending: dict[str, Callable[[], bool]] = field(default_factory=dict, repr=False)

    def get(self, deployment_id: str) -> LambdaDeployment | None:
        return next((d for d in self.deployments if d.deployment_id == deployment_id), None)

    def advance(self, deployment_id: str) -> bool:
        """Run the next step of a deployment (``step_seconds=None``); True once it ended."""
        step = self._pending.get(deployment_id)
        return True if step is None else step()


def _alarms_in_alarm(group: Any, account_id: str, region: str) -> list[str]:
    from moto.cloudwatch.models import cloudwatch_backends

    configuration = group.alarm_configuration
    if isinstance(configuration, dict):
        enabled = configuration.get("enabled", False)
        names = [a.get("name") for a in configuration.get("alarms", [])]
    elif configuration is not None:
        enabled = configuration.enabled
        names = [a.get("name") for a in configuration.alarms]
    else:
        enabled, names = False, []
    if not enabled:
        return []
    alarms = cloudwatch_backends[account_id][region].alarms
    return [n for n in names if n in alarms and alarms[n].state_value == "ALARM"]


class _Run:
    """One deployment's steps against moto's Lambda alias."""

    def __init__(
        self, backend: Any, deployment: Any, record: LambdaDeployment, journal: LambdaDeployments
    ) -> None:
        from moto.awslambda.models import lambda_backends

        self.backend = backend
        self.deployment = deployment
        self.record = record
        self.journal = journal
        self.lambda_: Any = lambda_backends[backend.account_id][backend.region_name]
        self.remaining = shares(record.config_name)

    def _route(self, version: str, weights: dict[str, float]) -> None:
        spec = self.record.appspec
        routing = {"AdditionalVersionWeights": weights} if weights else {}
        self.lambda_.update_alias(spec.alias, spec.function_name, version, None, routing)

    def step(self) -> bool:
        """Check the alarms, then move to the next share; True once the deployment ended."""
        with _lock:
            if self.record.status != "InProgress":
                return True
            spec, group = self.record.appspec, self.deployment.deployment_group
            firing = _alarms_in_alarm(group, self.backend.account_id, self.backend.region_name)
            if firing:
                self._route(spec.current_version, {})
                return self._end("Failed", rolled_back_by=firing[0])
            share = self.remaining.pop(0)
            self.record.steps.append(share)
            if share < 100:
                self._route(spec.current_version, {spec.target_version: share / 100})
                return False
            self._route(spec.target_version, {})
            return self._end("Succeeded")

    def _end(self, status: str, rolled_back_by: str | None = None) -> bool:
        from moto.core.utils import utcnow

        deployment, record = self.deployment, self.record
        record.status = deployment.status = status
        record.rolled_back_by = rolled_back_by
        deployment.complete_time = utcnow()
        if rolled_back_by:
            deployment.error_information = {
                "code": "ALARM_ACTIVE",
                "message": f"One or more alarms have been activated: {rolled_back_by}",
            }
            deployment.rollback_info = {
                "rollbackMessage": "The deployment failed: the alias serves CurrentVersion "
                f"{record.appspec.current_version} again"
            }
        self.journal._pending.pop(record.deployment_id, None)
        _emit_state_change(self.backend, deployment, self.journal)
        return True


def _emit_state_change(backend: Any, deployment: Any, journal: LambdaDeployments) -> None:
    from moto.events.models import events_backends

    region, account = backend.region_name, backend.account_id
    arn = f"arn:aws:codedeploy:{region}:{account}"
    detail = {
        "region": region,
        "deploymentId": deployment.deployment_id,
        "instanceGroupId": deployment.deployment_group.deployment_group_id,
        "deploymentGroup": deployment.deployment_group_name,
        "state": "SUCCESS" if deployment.status == "Succeeded" else "FAILURE",
        "application": deployment.application_name,
    }
    resources = [
        f"{arn}:application:{deployment.application_name}",
        f"{arn}:deploymentgroup:{deployment.application_name}/{deployment.deployment_group_name}",
    ]
    journal.events.append(
        {
            "version": "0",
            "source": "aws.codedeploy",
            "account": account,
            "region": region,
            "detail-type": STATE_CHANGE,
            "resources": resources,
            "detail": detail,
        }
    )
    entry = {
        "Source": "aws.codedeploy",
        "DetailType": STATE_CHANGE,
        "Detail": json.dumps(detail),
        "Resources": resources,
    }
    events_backends[account][region].put_events([entry])


def _create_deployment(
    journal: LambdaDeployments, step_seconds: float | None, original: Callable[..., str]
) -> Callable[..., str]:
    """CodeDeployBackend.create_deployment for the Lambda compute platform."""

    def create_deployment(
        self: Any,
        application_name: str,
        deployment_group_name: str,
        revision: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> str:
        application = self.applications.get(application_name)
        if application is None or application.compute_platform != "Lambda":
            return original(
                self, application_name, deployment_group_name, revision, *args, **kwargs
            )
        spec = parse_appspec(revision or {})
        with _lock:
            active = [
                d
                for d in self.deployments.values()
                if d.application_name == application_name
                and d.deployment_group_name == deployment_group_name
                and d.status in ACTIVE
            ]
            if active:
                raise _refuse(
                    "DeploymentLimitExceededException",
                    f"The Deployment Group '{deployment_group_name}' already has an active "
                    f"Deployment '{active[0].deployment_id}'",
                )
            _check_versions(self, spec)
            group = self.deployment_groups[application_name].get(deployment_group_name)
            requested = kwargs.get("deployment_config_name")
            config_name = str(requested or getattr(group, "deployment_config_name", ""))
            shares(config_name)  # an unknown (or a non-Lambda) config is refused
            deployment_id = original(
                self, application_name, deployment_group_name, revision, *args, **kwargs
            )
            deployment = self.deployments[deployment_id]
            deployment.deployment_config_name = config_name
            deployment.status = "InProgress"
            deployment.start_time = deployment.create_time
            record = LambdaDeployment(
                deployment_id,
                application_name,
                deployment_group_name,
                config_name,
                spec,
                str(deployment.description or ""),
            )
            journal.deployments.append(record)
            run = _Run(self, deployment, record, journal)
            journal._pending[deployment_id] = run.step
        _schedule(run, step_seconds)
        return str(deployment_id)

    return create_deployment


def _check_versions(backend: Any, spec: AppSpec) -> None:
    """The alias exists and serves CurrentVersion; TargetVersion is published."""
    from moto.awslambda.models import lambda_backends

    lambda_ = lambda_backends[backend.account_id][backend.region_name]
    try:
        alias = lambda_.get_alias(spec.alias, spec.function_name)
        lambda_.get_function(spec.function_name, spec.target_version)
    except Exception as error:  # moto's not-found errors
        raise _refuse("InvalidRevisionException", f"AppSpec: {error}") from None
    if str(alias.function_version) != spec.current_version:
        raise _refuse(
            "InvalidRevisionException",
            f"AppSpec: CurrentVersion {spec.current_version} is not the version alias "
            f"{spec.alias} serves ({alias.function_version})",
        )


def _schedule(run: _Run, step_seconds: float | None) -> None:
    """The first shift starts with the deployment; the others follow ``step_seconds``."""
    if run.step() or step_seconds is None:
        return
    if step_seconds <= 0:
        while not run.step():
            pass
        return

    def tick() -> None:
        if not run.step():
            _start_timer(step_seconds, tick)

    _start_timer(step_seconds, tick)


def _start_timer(seconds: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


def _deployment_info(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """GetDeployment with the errorInformation and rollbackInfo of a rolled back one."""

    def deployment_info(deployment: Any) -> dict[str, Any]:
        info = original(deployment)
        info["errorInformation"] = getattr(deployment, "error_information", {})
        info["rollbackInfo"] = getattr(deployment, "rollback_info", {})
        return info

    return deployment_info


def _get_deployment_config(self: Any) -> Any:
    """CodeDeployResponse.get_deployment_config: the predefined Lambda configs."""
    from moto.core.responses import ActionResult

    name = self._get_param("deploymentConfigName")
    return ActionResult(
        {
            "deploymentConfigInfo": {
                "deploymentConfigId": hashlib.sha256(name.encode()).hexdigest()[:36],
                "deploymentConfigName": name,
                "computePlatform": "Lambda",
                "trafficRoutingConfig": traffic_routing(name),
            }
        }
    )


def _revision_id(configuration: dict[str, Any]) -> str:
    """A RevisionId that changes whenever the configuration does (UUID-shaped, as Lambda's)."""
    stable = {k: v for k, v in configuration.items() if k != "RevisionId"}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _with_revision(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        configuration = original(self, *args, **kwargs)
        configuration["RevisionId"] = _revision_id(configuration)
        return configuration

    return get_configuration


def _guarded(original: Callable[..., Any], fields: tuple[str, ...]) -> Callable[..., Any]:
    """A LambdaResponse method that first checks the request's RevisionId (and CodeSha256)
    against $LATEST's configuration, as Lambda does."""

    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.awslambda.exceptions import PreconditionFailedException

        body = self.json_body or {}
        name = self.path.rsplit("/", 2)[-2]
        current = self.backend.get_function(name, None).get_configuration()
        for key in fields:
            if body.get(key) and body[key] != current.get(key):
                raise PreconditionFailedException(
                    f"The {key} provided does not match the latest {key} for the Lambda "
                    "function. Call the GetFunction or the GetAlias API to retrieve the "
                    f"latest {key} for your resource."
                )
        return original(self, *args, **kwargs)

    return guarded


def _apply(
    journal: LambdaDeployments | None = None, step_seconds: float | None = 1.0
) -> LambdaDeployments:
    """Lambda deployments in moto's CodeDeploy; returns the journal part it records into."""
    journal = LambdaDeployments() if journal is None else journal
    backend = codedeploy_models.CodeDeployBackend
    patch(
        backend,
        "create_deployment",
        _create_deployment(journal, step_seconds, backend.create_deployment),
    )
    patch(
        codedeploy_responses,
        "_deployment_info",
        _deployment_info(codedeploy_responses._deployment_info),
    )
    patch(codedeploy_responses.CodeDeployResponse, "get_deployment_config", _get_deployment_config)
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    patch(LambdaFunction, "get_configuration", _with_revision(LambdaFunction.get_configuration))
    patch(
        LambdaResponse,
        "update_function_configuration",
        _guarded(LambdaResponse.update_function_configuration, ("RevisionId",)),
    )
    patch(
        LambdaResponse,
        "publish_version",
        _guarded(LambdaResponse.publish_version, ("RevisionId", "CodeSha256")),
    )
    return journal


INSTALL = Installer(_apply)
