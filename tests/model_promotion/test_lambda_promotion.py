"""Promotion into a Lambda-hosted model (``endpoint.kind: lambda``), end to end against moto and
the rehearsal's CodeDeploy stand-in: upload -> validation (model.onnx required) -> $LATEST
re-configured -> version published -> CodeDeploy shifts the alias -> CodeDeploy's state-change
event settles it (SUCCESS records the parameter; a rollback leaves it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ml_constructs.lambda_model.runtime import config as model_config
from ml_constructs.model_promotion.runtime import handler, lambda_target
from ml_constructs.model_promotion.runtime.config import (
    ENDPOINT_VARIABLES,
    LambdaTargetConfig,
    PromotionConfig,
)
from ml_constructs.model_promotion.runtime.errors import PromotionFailedError
from ml_constructs.model_promotion.runtime.messages import DeploymentSettled, parse_body
from tests.lambda_model.test_onnx_member import archive, tiny_onnx
from tests.model_promotion import artifacts
from tests.model_promotion.conftest import BUCKET, INITIAL_URI
from tests.model_promotion.lambda_account import (
    ALIAS,
    APPLICATION,
    FUNCTION,
    GROUP,
    STACK_VARIABLES,
    LambdaAccount,
    environment,
    lambda_account,
)

KEY = "models/run-1/model.tar.gz"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture
def account() -> Iterator[LambdaAccount]:
    with lambda_account() as made:
        yield made


def onnx_artifact(tag: str = "") -> bytes:
    """A valid artifact with model.onnx and its evidence (``tag`` makes two differ)."""
    metrics = json.loads(artifacts.metrics())
    onnx = tiny_onnx()
    metrics["onnx"] = {
        "sha256": hashlib.sha256(onnx).hexdigest(),
        "max_abs_diff": 1e-7,
        "checked_rows": 100,
        "tag": tag,
    }
    return archive(onnx, json.dumps(metrics).encode())


def promote(account: LambdaAccount, data: bytes, key: str = KEY) -> dict[str, Any]:
    """Upload and run the handler; the outcome's log line."""
    outcome = handler.process_message(account.promoter(), json.dumps(account.upload(key, data)))
    (result,) = outcome
    return result.as_dict()


def test_a_promotion_reconfigures_publishes_and_deploys_through_codedeploy(
    account: LambdaAccount,
) -> None:
    outcome = promote(account, onnx_artifact())
    assert outcome["status"] == "submitted", outcome
    release = outcome["artifact"]
    assert release.startswith(f"s3://{BUCKET}/models/releases/")
    # $LATEST: the two model variables, every other variable kept.
    latest = account.variables()
    assert latest == {
        **STACK_VARIABLES,
        "MODEL_DATA_URL": release,
        "MODEL_SHA256": outcome["report"]["sha256"],
    }
    # The published version is exactly that configuration, named after the promotion.
    assert outcome["function_version"] == "2" and outcome["previous_version"] == "1"
    assert account.variables("2") == latest
    described = account.lambda_.get_function_configuration(FunctionName=FUNCTION, Qualifier="2")
    assert described["Description"].startswith(f"promotion:{outcome['name']} sha256:")
    # CodeDeploy got the documented AppSpec for the group; the canary runs.
    (deployment,) = account.journal.deployments
    assert deployment.deployment_id == outcome["deployment_id"]
    assert (deployment.application, deployment.deployment_group) == (APPLICATION, GROUP)
    assert deployment.appspec == lambda_deployments_appspec("1", "2")
    assert account.alias()["FunctionVersion"] == "1"
    assert account.alias()["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    assert account.recorded_artifact() == INITIAL_URI  # not before the deployment ends
    info = account.codedeploy.get_deployment(deploymentId=deployment.deployment_id)
    assert info["deploymentInfo"]["status"] == "InProgress"


def lambda_deployments_appspec(current: str, target: str) -> Any:
    from rehearsal.moto_gaps.lambda_deployments import AppSpec

    return AppSpec(FUNCTION, ALIAS, current, target)


def test_success_settles_the_parameter_baseline_and_report(account: LambdaAccount) -> None:
    outcome = promote(account, onnx_artifact())
    event = account.finish(outcome["deployment_id"])
    assert event["detail"]["state"] == "SUCCESS"
    assert account.alias()["FunctionVersion"] == "2"
    assert not account.alias().get("RoutingConfig")
    assert account.handle(event) == {"batchItemFailures": []}
    assert account.recorded_artifact() == outcome["artifact"]
    kinds = [n["event"] for n in account.notifications()]
    assert kinds == ["promotion_started", "promotion_completed"]
    # A redelivered SUCCESS changes nothing; a redelivered upload is a duplicate.
    (again,) = handler.process_message(account.promoter(), json.dumps(event))
    assert again.status == "unchanged"
    (duplicate,) = handler.process_message(
        account.promoter(),
        json.dumps(
            {
                **account.upload("models/other/model.tar.gz", b"x"),
                "detail": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": KEY, "version-id": outcome["source"].rsplit("=", 1)[1]},
                },
            }
        ),
    )
    assert duplicate.status == "duplicate"


def test_an_alarm_rolls_the_alias_back_and_the_parameter_stays(
    account: LambdaAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = promote(account, onnx_artifact())
    account.set_alarm("ALARM")
    event = account.finish(outcome["deployment_id"])
    assert event["detail"]["state"] == "FAILURE"
    assert account.alias()["FunctionVersion"] == "1"
    assert not account.alias().get("RoutingConfig")
    (settled,) = handler.process_message(account.promoter(), json.dumps(event))
    assert settled.status == "rolled-back"
    assert settled.details["serving_version"] == "1"
    assert settled.details["error"]["code"] == "ALARM_ACTIVE"
    assert account.recorded_artifact() == INITIAL_URI
    assert [n["event"] for n in account.notifications()][-1] == "promotion_rolled_back"
    assert '"PromotionFailed": 1' in capsys.readouterr().out


def test_an_artifact_without_model_onnx_is_rejected_with_its_reason(
    account: LambdaAccount,
) -> None:
    outcome = promote(account, artifacts.build())
    assert outcome["status"] == "rejected"
    assert outcome["code"] == "missing-onnx"
    assert "model.onnx is missing" in outcome["reason"]
    assert account.variables() == STACK_VARIABLES
    assert account.journal.deployments == []
    (notice,) = account.notifications()
    assert notice["event"] == "promotion_rejected" and "model.onnx" in notice["reason"]


def test_a_promotion_during_a_deployment_is_retried(account: LambdaAccount) -> None:
    first = promote(account, onnx_artifact())
    second_upload = account.upload("models/run-2/model.tar.gz", onnx_artifact("two"))
    assert account.handle(second_upload) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert len(account.journal.deployments) == 1  # nothing was touched
    assert account.variables()["MODEL_DATA_URL"] == first["artifact"]
    account.handle(account.finish(first["deployment_id"]))
    assert account.handle(second_upload) == {"batchItemFailures": []}
    second = account.journal.deployments[-1]
    assert (second.appspec.current_version, second.appspec.target_version) == ("2", "3")


def test_codedeploy_refuses_a_second_deployment_of_the_group_and_it_is_retried(
    account: LambdaAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the ListDeployments check cannot close: CreateDeployment's refusal retries."""
    first = promote(account, onnx_artifact())
    target = account.promoter().target
    monkeypatch.setattr(
        lambda_target.LambdaFunctionTarget, "_deployments", lambda *_args, **_kw: iter(())
    )
    monkeypatch.setattr(lambda_target.LambdaFunctionTarget, "ready", lambda self: account.alias())
    outcome = promote(account, onnx_artifact("two"), "models/run-2/model.tar.gz")
    assert outcome["status"] == "retry"
    assert "already has an active Deployment" in outcome["reason"]
    assert first["deployment_id"] and target.what == f"alias {ALIAS} of {FUNCTION}"


def test_old_promotion_versions_are_deleted_beyond_keep_previous(account: LambdaAccount) -> None:
    """KEEP_PREVIOUS=1: after three promotions, version 2 goes; 4 serves, 3 is kept, the
    stack's version 1 is never a promotion's."""
    from ml_constructs.model_promotion.runtime import lambda_target as module

    for run in range(3):
        outcome = promote(account, onnx_artifact(str(run)), f"models/run-{run}/model.tar.gz")
        account.handle(account.finish(outcome["deployment_id"]))
    original = module.GRACE
    try:
        module.GRACE = module.dt.timedelta(0)
        deleted = account.promoter().clean_up()
    finally:
        module.GRACE = original
    assert deleted == [f"{FUNCTION}:2"]
    versions = account.lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "3", "4"]
    assert account.alias()["FunctionVersion"] == "4"


def test_the_handler_builds_lambda_and_codedeploy_clients_from_the_environment(
    account: LambdaAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment(account.topic_arn).items():
        monkeypatch.setenv(name, value)
    made = account.clients()
    created: list[str] = []

    def client(name: str) -> Any:
        created.append(name)
        return made[name]

    monkeypatch.setattr(handler.boto3, "client", client)
    handler.reset()
    event = {
        "Records": [{"messageId": "m", "body": json.dumps(account.upload(KEY, onnx_artifact()))}]
    }
    assert handler.lambda_handler(event) == {"batchItemFailures": []}
    assert created == ["s3", "sagemaker", "ssm", "sns", "lambda", "codedeploy"]
    assert len(account.journal.deployments) == 1


def test_the_lambda_config_round_trips_without_endpoint_variables() -> None:
    config = PromotionConfig.from_env(environment(TOPIC))
    assert config.lambda_target == LambdaTargetConfig(FUNCTION, ALIAS, APPLICATION, GROUP)
    assert PromotionConfig.from_env(config.to_env()) == config
    assert not set(config.to_env()) & set(ENDPOINT_VARIABLES)
    with pytest.raises(ValueError, match="CODEDEPLOY_DEPLOYMENT_GROUP"):
        PromotionConfig.from_env(environment(TOPIC, CODEDEPLOY_DEPLOYMENT_GROUP=""))


def test_the_variables_set_are_the_model_functions() -> None:
    assert lambda_target.MODEL_DATA_URL == model_config.MODEL_DATA_URL
    assert lambda_target.MODEL_SHA256 == model_config.MODEL_SHA256


def test_the_appspec_is_codedeploys_lambda_shape() -> None:
    """AWS CodeDeploy user guide, 'AppSpec resources section for AWS Lambda deployments'."""
    document = lambda_target.appspec(LambdaTargetConfig("f", "live", "a", "g"), "1", "2")
    assert document == {
        "version": 0.0,
        "Resources": [
            {
                "model": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": "f",
                        "Alias": "live",
                        "CurrentVersion": "1",
                        "TargetVersion": "2",
                    },
                }
            }
        ],
    }
    revision = lambda_target.revision(document)
    assert revision["revisionType"] == "AppSpecContent"
    content = revision["appSpecContent"]["content"]
    assert json.loads(content) == document
    assert revision["appSpecContent"]["sha256"] == hashlib.sha256(content.encode()).hexdigest()


def test_codedeploys_state_change_event_is_parsed() -> None:
    """EventBridge's example of a CodeDeploy Deployment State-change Notification."""
    event = {
        "account": "123456789012",
        "region": "us-east-1",
        "detail-type": "CodeDeploy Deployment State-change Notification",
        "source": "aws.codedeploy",
        "version": "0",
        "time": "2016-06-30T22:06:31Z",
        "id": "c071bfbf-83c4-49ca-a6ff-3df053957145",
        "resources": [
            "arn:aws:codedeploy:us-east-1:123456789012:application:myApplication",
            "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:myApplication/myGroup",
        ],
        "detail": {
            "instanceGroupId": "9fd2fbef-2157-40d8-91e7-6845af69e2d2",
            "region": "us-east-1",
            "application": "myApplication",
            "deploymentId": "d-123456789",
            "state": "SUCCESS",
            "deploymentGroup": "myGroup",
        },
    }
    assert parse_body(json.dumps(event)) == [
        DeploymentSettled("myApplication", "myGroup", "d-123456789", "SUCCESS")
    ]


def test_events_of_other_groups_and_non_final_states_are_ignored(account: LambdaAccount) -> None:
    promoter = account.promoter()
    other = DeploymentSettled(APPLICATION, "another-group", "d-1", "SUCCESS")
    assert promoter.settle(other).status == "ignored"
    started = DeploymentSettled(APPLICATION, GROUP, "d-1", "START")
    assert promoter.settle(started).status == "ignored"


class _Updating:
    """A Lambda client whose $LATEST reports ``statuses`` one after another."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)

    def get_function_configuration(self, **_: Any) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {
            "LastUpdateStatus": status,
            "LastUpdateStatusReason": "the KMS key is disabled",
            "LastUpdateStatusReasonCode": "KMSKeyAccessDenied",
            "RevisionId": "r",
            "CodeSha256": "c",
        }


def _waiting_target(client: _Updating, clock: list[float]) -> lambda_target.LambdaFunctionTarget:
    config = PromotionConfig.from_env(environment(TOPIC))
    return lambda_target.LambdaFunctionTarget(
        config,
        client,
        codedeploy=None,
        record=None,  # type: ignore[arg-type]
        reporter=None,  # type: ignore[arg-type]
        sleep=lambda seconds: clock.append(clock[-1] + seconds),
        clock=lambda: clock[-1],
    )


def test_the_wait_for_lambda_to_apply_the_configuration_is_bounded_and_clear() -> None:
    """Lambda applies UpdateFunctionConfiguration asynchronously (LastUpdateStatus InProgress,
    then Successful or Failed); moto applies it at once, so this is tested with a fake."""
    clock = [0.0]
    applied = _waiting_target(_Updating("InProgress", "InProgress", "Successful"), clock)
    assert applied._wait_until_updated()["LastUpdateStatus"] == "Successful"
    assert clock[-1] == 2 * lambda_target.POLL_S
    failed = _waiting_target(_Updating("InProgress", "Failed"), [0.0])
    with pytest.raises(PromotionFailedError, match="KMSKeyAccessDenied the KMS key is disabled"):
        failed._wait_until_updated()
    stuck = _waiting_target(_Updating("InProgress"), [0.0])
    with pytest.raises(PromotionFailedError, match="still InProgress 120 s after"):
        stuck._wait_until_updated()


def test_an_environment_lambda_cannot_show_is_never_overwritten() -> None:
    """GetFunctionConfiguration answers Environment.Error instead of the variables when they
    cannot be decrypted; writing only the model's two would delete the others."""

    class Unreadable:
        def get_function_configuration(self, **_: Any) -> dict[str, Any]:
            error = {"ErrorCode": "AccessDeniedException", "Message": "no kms:Decrypt"}
            return {"Environment": {"Error": error}, "RevisionId": "r"}

        def update_function_configuration(self, **_: Any) -> None:
            raise AssertionError("must not be called")

    target = _waiting_target(Unreadable(), [0.0])  # type: ignore[arg-type]
    with pytest.raises(PromotionFailedError, match="cannot be read, so it cannot be kept"):
        target._configure_latest("s3://b/k", "0" * 64)
