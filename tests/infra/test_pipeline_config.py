"""The `pipeline:` section: validated like the rest, one line naming the field per problem."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving_config import (
    ENVIRONMENTS_DIR,
    ConfigError,
    available_environments,
    available_pipelines,
    load_pipeline,
    load_settings,
)

CONNECTION = (
    "arn:aws:codeconnections:eu-west-1:333333333333:connection/0d8b5a2e-1c1f-4a38-9e8b-7f0c1e2d3a4b"
)
BASE: dict[str, Any] = {
    "pipeline": {
        "tooling_account": "333333333333",
        "tooling_region": "eu-west-1",
        "source": {"connection_arn": CONNECTION, "repository": "org/repo", "branch": "main"},
        "stages": [
            {
                "name": "staging",
                "account": "111111111111",
                "region": "eu-west-1",
                "post_deploy_test": {"min_accuracy": 0.9, "min_auc": 0.95},
            },
            {"name": "prod", "account": "222222222222", "region": "eu-west-1", "approval": True},
        ],
    }
}


def config_dir(tmp_path: Path, pipeline: dict[str, Any], **environments: dict[str, Any]) -> Path:
    """The shipped staging and prod files (or the given ones) and ``pipeline`` as delivery.yaml."""
    for name in ("staging", "prod"):
        shutil.copy(ENVIRONMENTS_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    for name, data in environments.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "delivery.yaml").write_text(yaml.safe_dump(pipeline))
    return tmp_path


def changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with the dotted ``path`` (list indexes as numbers) set to ``value``."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return data


def test_the_shipped_pipeline_deploys_staging_then_prod_trusting_only_its_step_roles() -> None:
    assert available_pipelines() == ["pipeline"]
    assert "pipeline" not in available_environments()
    delivery = load_pipeline("pipeline")
    assert [stage.settings.name for stage in delivery.stages] == ["staging", "prod"]
    staging, prod = delivery.stages
    assert (staging.settings.account, prod.settings.account) == ("111111111111", "222222222222")
    assert staging.stage.post_deploy_test is not None and prod.stage.approval
    assert staging.settings.deployer_trusted_roles == (
        "arn:aws:iam::333333333333:role/mlserving-pipeline-staging",
    )
    # The plain workflow is untouched: the environment files name no account and no trust.
    assert load_settings("prod").account is None
    assert load_settings("prod").deployer_trusted_roles == ()


def test_a_pipeline_file_is_not_an_environment() -> None:
    with pytest.raises(ConfigError, match=r"pipeline.yaml defines a delivery pipeline"):
        load_settings("pipeline")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            changed("pipeline.stages.0.name", "stagin"),
            r"pipeline.stages\[0\].name: unknown environment 'stagin'; known environments: "
            r"prod, staging",
        ),
        (
            changed("pipeline.stages.1", {"name": "prod", "region": "eu-west-1"}),
            r"pipeline.stages\[1\].account: neither the stage nor prod.yaml names one",
        ),
        (
            changed("pipeline.stages.1", {"name": "prod", "account": "222222222222"}),
            r"pipeline.stages\[1\].region: neither the stage nor prod.yaml names one",
        ),
        (
            changed("pipeline.stages.1.account", "333333333333"),
            r"pipeline.stages\[1\].account: 333333333333 is the tooling account.*"
            r"allow_tooling_account: true",
        ),
        (
            changed("pipeline.source.connection_arn", "arn:aws:codeconnections:eu-west-1:x"),
            r"pipeline.source.connection_arn: 'arn:aws:codeconnections:eu-west-1:x' is not a "
            r"connection ARN",
        ),
        (
            changed(
                "pipeline.source.connection_arn",
                CONNECTION.replace("eu-west-1", "us-east-1"),
            ),
            r"pipeline.source.connection_arn: is in us-east-1, not the tooling region eu-west-1",
        ),
        (
            changed("pipeline.stages.1.region", "eu-central-1"),
            r"pipeline.stages\[1\].region: eu-central-1 is not the tooling region eu-west-1",
        ),
        (
            changed("pipeline.stages.1.name", "staging"),
            r"pipeline.stages\[1\].name: 'staging' is deployed twice",
        ),
        (
            changed("pipeline.stages.0.post_deploy_test.min_auc", 1.2),
            r"pipeline.stages\[0\].post_deploy_test.min_auc: 1.2 is outside 0.5-1.0",
        ),
        (
            changed("pipeline.stages.0.post_deploy_test.batch_size", 500),
            r"pipeline.stages\[0\].post_deploy_test.batch_size: 500 is above staging.yaml's "
            r"api.max_rows 100",
        ),
        (
            changed("pipeline.stages.0.approval", "yes"),
            r"pipeline.stages\[0\].approval: expected true or false",
        ),
        (changed("pipeline.stages", []), r"pipeline.stages: name at least one environment"),
        (
            changed("pipeline.tooling_account", "33333333333"),
            r"pipeline.tooling_account: '33333333333' is not a 12-digit AWS account id",
        ),
        (
            changed("pipeline.source.kind", "codecommit"),
            r"pipeline.source.connection_arn: a CodeCommit source takes no connection",
        ),
        (
            changed("pipeline.source.repository", "no-owner"),
            r"pipeline.source.repository: 'no-owner' is not OWNER/NAME",
        ),
        (
            changed("pipeline.stages.0.stage", "x"),
            r"pipeline.stages\[0\]: unknown field\(s\) stage",
        ),
        ({**BASE, "account": "111111111111"}, r"unknown top-level field\(s\) account"),
    ],
)
def test_pipeline_error_names_the_field(tmp_path: Path, data: Any, message: str) -> None:
    directory = config_dir(tmp_path, data)
    with pytest.raises(ConfigError, match=rf"^delivery.yaml: {message}") as raised:
        load_pipeline("delivery", directory)
    assert "\n" not in str(raised.value)


def test_deploying_into_the_tooling_account_needs_the_explicit_allowance(tmp_path: Path) -> None:
    data = changed("pipeline.stages.1.account", "333333333333")
    data["pipeline"]["stages"][1]["allow_tooling_account"] = True
    delivery = load_pipeline("delivery", config_dir(tmp_path, data))
    assert delivery.stages[1].settings.account == "333333333333"


def test_an_environment_file_may_name_the_account_itself(tmp_path: Path) -> None:
    prod = yaml.safe_load((ENVIRONMENTS_DIR / "prod.yaml").read_text())
    pinned = {**prod, "account": "222222222222", "region": "eu-west-1"}
    data = changed("pipeline.stages.1", {"name": "prod", "approval": True})
    delivery = load_pipeline("delivery", config_dir(tmp_path, data, prod=pinned))
    assert delivery.stages[1].settings.account == "222222222222"
    conflicting = changed("pipeline.stages.1.account", "444444444444")
    with pytest.raises(ConfigError, match=r"stages\[1\].account: 444444444444 differs from"):
        load_pipeline("delivery", config_dir(tmp_path, conflicting, prod=pinned))


def test_an_error_in_a_stages_environment_names_the_stage_and_the_file(tmp_path: Path) -> None:
    staging = yaml.safe_load((ENVIRONMENTS_DIR / "staging.yaml").read_text())
    broken = {**staging, "scaling": {"min_capacity": 3, "max_capacity": 2}}
    with pytest.raises(
        ConfigError,
        match=r"^delivery.yaml: pipeline.stages\[0\]: staging.yaml: scaling.max_capacity: 2 is "
        r"below min_capacity 3$",
    ):
        load_pipeline("delivery", config_dir(tmp_path, BASE, staging=broken))


def test_deployer_trusted_roles_must_be_role_arns(tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump({"deployer_trusted_roles": ["arn:aws:iam::333333333333:user/ci"]})
    )
    with pytest.raises(ConfigError, match=r"deployer_trusted_roles\[0\]: .* is not an IAM role"):
        load_settings("test", tmp_path)
