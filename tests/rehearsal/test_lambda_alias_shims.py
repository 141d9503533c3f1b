"""moto 5.2.5's CloudFormation has no alias model, and its version model answers neither Ref
nor GetAtt: the shims publish the version, create the alias on it, and move it on update, so
the API can invoke the alias a Lambda-hosted model serves behind."""

from __future__ import annotations

import json

import pytest

from tests.rehearsal.test_moto_gaps import _client, _function, moto_url  # noqa: F401


def _template(version: str) -> dict:
    """CDK's ``current_version``: a new logical id whenever the function changes."""
    return {
        "Resources": {
            version: {
                "Type": "AWS::Lambda::Version",
                "Properties": {"FunctionName": "aliased"},
            },
            "Live": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {
                    "FunctionName": "aliased",
                    "FunctionVersion": {"Fn::GetAtt": [version, "Version"]},
                    "Name": "live",
                    "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2},
                },
            },
        },
        "Outputs": {
            "AliasArn": {"Value": {"Ref": "Live"}},
            "VersionArn": {"Value": {"Ref": version}},
        },
    }


@pytest.mark.usefixtures("moto_url")
def test_the_alias_names_the_published_version_and_moves_on_update(moto_url):  # noqa: F811
    _function(moto_url, "aliased")
    cfn, lambda_ = _client("cloudformation", moto_url), _client("lambda", moto_url)
    cfn.create_stack(StackName="aliased", TemplateBody=json.dumps(_template("VersionA")))
    stack = cfn.describe_stacks(StackName="aliased")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["AliasArn"].endswith(":function:aliased:live")
    assert outputs["VersionArn"].endswith(":function:aliased:1")
    assert lambda_.get_alias(FunctionName="aliased", Name="live")["FunctionVersion"] == "1"
    answer = lambda_.invoke(FunctionName=outputs["AliasArn"], Payload=b"{}")
    assert json.loads(answer["Payload"].read())["stage"] == "test"

    lambda_.update_function_configuration(
        FunctionName="aliased", Environment={"Variables": {"STAGE": "second"}}
    )
    cfn.update_stack(StackName="aliased", TemplateBody=json.dumps(_template("VersionB")))
    assert lambda_.get_alias(FunctionName="aliased", Name="live")["FunctionVersion"] == "2"
    answer = lambda_.invoke(FunctionName="aliased", Qualifier="live", Payload=b"{}")
    assert json.loads(answer["Payload"].read())["stage"] == "second"


@pytest.mark.usefixtures("moto_url")
def test_a_custom_deployment_config_is_known_by_its_name(moto_url):  # noqa: F811
    """A promotion policy CodeDeploy has no predefined config for becomes an
    AWS::CodeDeploy::DeploymentConfig (TimeBasedCanary here): the stand-in shifts by it."""
    from rehearsal.moto_gaps import lambda_deployments

    template = {
        "Resources": {
            "Shift": {
                "Type": "AWS::CodeDeploy::DeploymentConfig",
                "Properties": {
                    "ComputePlatform": "Lambda",
                    "TrafficRoutingConfig": {
                        "Type": "TimeBasedCanary",
                        "TimeBasedCanary": {"CanaryPercentage": 25, "CanaryInterval": 1},
                    },
                },
            }
        },
        "Outputs": {"Name": {"Value": {"Ref": "Shift"}}},
    }
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="shift", TemplateBody=json.dumps(template))
    (output,) = cfn.describe_stacks(StackName="shift")["Stacks"][0]["Outputs"]
    name = output["OutputValue"]
    assert lambda_deployments.shares(name) == [25, 100]
    described = _client("codedeploy", moto_url).get_deployment_config(deploymentConfigName=name)
    assert described["deploymentConfigInfo"]["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 1},
    }
