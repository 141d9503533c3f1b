"""The moto 5.2.5 gap closers: a real handler runs without docker, shims create real resources."""

from __future__ import annotations

import io
import json
import time
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from rehearsal import moto_gaps
from rehearsal.moto_gaps import lambda_runner, shims

REGION = "us-east-1"
ACCOUNT = "123456789012"

HANDLER = """
import os, boto3

def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    if "Records" in event:
        s3 = boto3.client("s3")
        for record in event["Records"]:
            s3.put_object(Bucket="seen", Key=record["messageId"], Body=record["body"].encode())
        return {"batchItemFailures": []}
    print("hello from", context.function_name)
    return {
        "echo": event,
        "stage": os.environ["STAGE"],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "buckets": [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]],
    }
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    lambda_runner.RUNNER.configure(
        lambda_runner.RunnerSettings(
            endpoint_url=url, workdir=tmp_path_factory.mktemp("runner"), poll_interval_s=0.05
        )
    )
    yield url
    server.stop()
    moto_gaps.uninstall()  # other tests in this session get moto as released


def _client(service, url):
    return boto3.client(service, region_name=REGION, endpoint_url=url)


def _function(url, name, source=HANDLER, timeout=10):
    iam = _client("iam", url)
    role = iam.create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    return _client("lambda", url).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip(source)},
        Timeout=timeout,
        Environment={"Variables": {"STAGE": "test"}},
    )["FunctionArn"]


def test_uninstall_restores_moto():
    from moto.awslambda.models import LambdaFunction
    from moto.cloudformation import parsing
    from moto.sagemaker.responses import SageMakerResponse

    original = parsing.resource_class_from_type
    invoke = LambdaFunction._invoke_lambda
    moto_gaps.install()
    assert parsing.resource_class_from_type is not original
    moto_gaps.uninstall()
    assert parsing.resource_class_from_type is original
    assert LambdaFunction._invoke_lambda is invoke
    assert "update_endpoint" not in vars(SageMakerResponse)


def test_moto_version_is_pinned(monkeypatch):
    import importlib
    import importlib.metadata

    assert moto_gaps.MOTO_VERSION == "5.2.5"
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "5.3.0" if name == "moto" else real_version(name),
    )
    with pytest.raises(ImportError, match=r"patches moto 5\.2\.5 internals, but moto 5\.3\.0"):
        importlib.reload(moto_gaps)
    monkeypatch.undo()
    importlib.reload(moto_gaps)
    assert any(not gap.closed for gap in moto_gaps.GAPS), "open gaps must be listed"


def test_invoke_runs_the_real_handler_with_moto_as_its_aws(moto_url):
    _client("s3", moto_url).create_bucket(Bucket="visible-to-handler")
    _function(moto_url, "echo")
    response = _client("lambda", moto_url).invoke(
        FunctionName="echo", Payload=json.dumps({"x": 1}), LogType="Tail"
    )
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert body["echo"] == {"x": 1}
    assert body["stage"] == "test"
    assert body["endpoint"] == moto_url
    assert body["remaining_ms_positive"] is True
    assert "visible-to-handler" in body["buckets"]
    logs = _client("logs", moto_url).filter_log_events(logGroupName="/aws/lambda/echo")
    assert any("hello from echo" in e["message"] for e in logs["events"])


def test_handler_exception_is_a_function_error(moto_url):
    _function(moto_url, "failing")
    response = _client("lambda", moto_url).invoke(
        FunctionName="failing", Payload=json.dumps({"fail": True})
    )
    assert response.get("FunctionError")
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "asked to fail"


def test_timeout_kills_the_worker_and_reports_it(moto_url):
    _function(
        moto_url,
        "sleepy",
        source="import time\ndef handler(e, c):\n    time.sleep(30)\n",
        timeout=1,
    )
    started = time.monotonic()
    response = _client("lambda", moto_url).invoke(FunctionName="sleepy", Payload=b"{}")
    assert time.monotonic() - started < 10
    assert "timed out" in json.loads(response["Payload"].read())["errorMessage"]


def test_sqs_mapping_is_delivered_after_send_returns(moto_url):
    sqs = _client("sqs", moto_url)
    _client("s3", moto_url).create_bucket(Bucket="seen")
    queue_url = sqs.create_queue(QueueName="work")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    arn = _function(moto_url, "consumer")
    _client("lambda", moto_url).create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=arn,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody="payload")["MessageId"]
    deadline = time.monotonic() + 15
    keys: list[str] = []
    while time.monotonic() < deadline and not keys:
        keys = [
            o["Key"]
            for o in _client("s3", moto_url).list_objects_v2(Bucket="seen").get("Contents", [])
        ]
        time.sleep(0.1)
    assert keys == [message_id]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


TEMPLATE = {
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "NotificationConfiguration": {
                    "EventBridgeConfiguration": {"EventBridgeEnabled": True}
                },
            },
        },
        "Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Bucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ModelName": "named-model",
                "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
                "PrimaryContainer": {"Image": "img", "ModelDataUrl": "s3://b/k"},
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "EndpointConfigName": "named-config",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                    }
                ],
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "named-endpoint",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
        "Target": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "DependsOn": "Endpoint",
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "endpoint/named-endpoint/variant/AllTraffic",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "MinCapacity": 1,
                "MaxCapacity": 2,
            },
        },
        "Scaling": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": "track",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 1000,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                },
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "errors",
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocation5XXErrors",
                "Dimensions": [{"Name": "EndpointName", "Value": "named-endpoint"}],
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "EvaluationPeriods": 3,
                "Period": 60,
                "Statistic": "Sum",
                "Threshold": 1,
            },
        },
        "Unknown": {"Type": "AWS::Pipes::Pipe", "Properties": {"Name": "p"}},
    },
    "Outputs": {"PipeArn": {"Value": {"Fn::GetAtt": ["Unknown", "Arn"]}}},
}


def test_shims_create_what_moto_skips(moto_url):
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="shims", TemplateBody=json.dumps(TEMPLATE))
    stack = cfn.describe_stacks(StackName="shims")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName="shims")["StackResources"]
    }
    bucket = physical["Bucket"]
    s3 = _client("s3", moto_url)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"][
        "BlockPublicPolicy"
    ]
    assert "SecureTransport" in s3.get_bucket_policy(Bucket=bucket)["Policy"]
    sqs = _client("sqs", moto_url)
    queue_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    events = _client("events", moto_url)
    events.put_rule(
        Name="uploads",
        EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}),
    )
    events.put_targets(
        Rule="uploads", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:s3-events"}]
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")  # the conditional deny is not misapplied
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(received[0]["Body"])["detail"]["object"]["key"] == "k"
    sagemaker = _client("sagemaker", moto_url)
    assert sagemaker.describe_endpoint(EndpointName="named-endpoint")["EndpointConfigName"] == (
        "named-config"
    )
    autoscaling = _client("application-autoscaling", moto_url)
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert targets["ScalableTargets"][0]["MaxCapacity"] == 2
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")
    assert policies["ScalingPolicies"][0]["PolicyName"] == "track"
    alarms = _client("cloudwatch", moto_url).describe_alarms(AlarmNames=["errors"])
    assert alarms["MetricAlarms"][0]["Threshold"] == 1.0
    assert shims.not_emulated_reason("AWS::Pipes::Pipe")
    assert shims.not_emulated_reason("AWS::CloudWatch::Alarm") is None
    assert physical["Unknown"]
    assert stack["Outputs"][0]["OutputValue"].startswith("arn:aws:pipes:")


def test_a_scheduler_schedule_is_created_from_the_template_and_deleted_with_it(moto_url):
    """moto 5.2.5 has Scheduler's API but no CloudFormation model for AWS::Scheduler::Schedule."""
    schedule = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "Name": "watch",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ScheduleExpression": "cron(0 * ? * * *)",
            "ScheduleExpressionTimezone": "Etc/UTC",
            "State": "ENABLED",
            "Target": {
                "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:analyzer",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/schedule",
                "Input": '{"scheduled_time":"<aws.scheduler.scheduled-time>"}',
                "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 0},
            },
        },
    }
    template = {
        "Resources": {"Watch": schedule},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Watch", "Arn"]}}},
    }
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="scheduled", TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName="scheduled")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"].endswith(":schedule/default/watch")
    scheduler = _client("scheduler", moto_url)
    deployed = scheduler.get_schedule(Name="watch")
    assert deployed["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert deployed["Target"]["Input"] == schedule["Properties"]["Target"]["Input"]
    assert deployed["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    cfn.delete_stack(StackName="scheduled")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        scheduler.get_schedule(Name="watch")


def test_update_endpoint_switches_config(moto_url):
    sagemaker = _client("sagemaker", moto_url)
    sagemaker.create_model(
        ModelName="m2",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/k"},
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "m2",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    sagemaker.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[variant])
    sagemaker.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c1")
    sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="c2")
    during = sagemaker.describe_endpoint(EndpointName="e")
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", "c1")
    with pytest.raises(sagemaker.exceptions.ClientError, match="in-progress"):
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="c1")
    deadline = time.monotonic() + 10
    while sagemaker.describe_endpoint(EndpointName="e")["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    described = sagemaker.describe_endpoint(EndpointName="e")
    assert described["EndpointConfigName"] == "c2"
    with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find endpoint"):
        sagemaker.update_endpoint(EndpointName="missing", EndpointConfigName="c2")


PROXY_HANDLER = """
import json

def handler(event, context):
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"method": event["httpMethod"], "path": event["path"],
                            "stage": event["requestContext"]["stage"], "got": event["body"]}),
    }
"""


def test_execute_api_runs_lambda_proxy_integrations(moto_url):
    import urllib.error
    import urllib.request

    from rehearsal.moto_gaps.api_gateway import ExecuteApi

    arn = _function(moto_url, "proxied", source=PROXY_HANDLER)
    apigw = _client("apigateway", moto_url)
    api_id = apigw.create_rest_api(name="api")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="predict")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    execute_api = ExecuteApi(ACCOUNT, REGION).start()
    url = f"{execute_api.invoke_url(api_id, 'v1')}/predict"
    try:
        with pytest.raises(urllib.error.HTTPError) as forbidden:  # no Lambda permission yet
            urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=10)
        assert forbidden.value.code == 500
        _client("lambda", moto_url).add_permission(
            FunctionName="proxied",
            StatementId="api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/POST/predict",
        )
        request = urllib.request.Request(url, data=b'{"a": 1}', method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            body = json.loads(response.read())
        assert body == {"method": "POST", "path": "/predict", "stage": "v1", "got": '{"a": 1}'}
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{execute_api.invoke_url(api_id, 'v1')}/nothing", timeout=10)
        assert missing.value.code == 403
    finally:
        execute_api.stop()


def test_emf_lines_become_metrics():
    logs = "\n".join(
        [
            "START RequestId: x",
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": 1,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": "App",
                                "Dimensions": [["service"]],
                                "Metrics": [{"Name": "Success", "Unit": "Count"}],
                            }
                        ],
                    },
                    "service": "api",
                    "Success": [1.0, 2.0],
                }
            ),
            '{"_aws": "not metrics"}',
        ]
    )
    assert lambda_runner.emf_metrics(logs) == [
        (
            "App",
            [
                {
                    "MetricName": "Success",
                    "Values": [1.0, 2.0],
                    "Unit": "Count",
                    "Dimensions": [{"Name": "service", "Value": "api"}],
                }
            ],
        )
    ]


MONITOR_TEMPLATE = {
    "Resources": {
        "Definition": {
            "Type": "AWS::SageMaker::DataQualityJobDefinition",
            "Properties": {
                "JobDefinitionName": "p-dq-0123456789",
                "DataQualityAppSpecification": {
                    "ImageUri": "1.dkr.ecr.us-east-1.amazonaws.com/analyzer",
                    "RecordPreprocessorSourceUri": "s3://b/monitoring/baseline/preprocessor.py",
                },
                "DataQualityBaselineConfig": {
                    "StatisticsResource": {"S3Uri": "s3://b/monitoring/baseline/s.json"}
                },
                "DataQualityJobInput": {
                    "EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/in"}
                },
                "DataQualityJobOutputConfig": {
                    "MonitoringOutputs": [
                        {"S3Output": {"S3Uri": "s3://b/monitoring/reports", "LocalPath": "/out"}}
                    ]
                },
                "JobResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 20,
                    }
                },
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/p-model-monitor",
            },
        },
        "Schedule": {
            "Type": "AWS::SageMaker::MonitoringSchedule",
            "DependsOn": ["Definition"],
            "Properties": {
                "MonitoringScheduleName": "p-data-quality",
                "MonitoringScheduleConfig": {
                    "MonitoringJobDefinitionName": "p-dq-0123456789",
                    "MonitoringType": "DataQuality",
                    "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                },
                "EndpointName": "ep",
            },
        },
    }
}


def test_monitoring_schedules_and_job_definitions_are_created_from_the_template(moto_url):
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="monitor", TemplateBody=json.dumps(MONITOR_TEMPLATE))
    assert cfn.describe_stacks(StackName="monitor")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    sagemaker = _client("sagemaker", moto_url)
    (summary,) = sagemaker.list_monitoring_schedules(EndpointName="ep")[
        "MonitoringScheduleSummaries"
    ]
    assert summary["MonitoringJobDefinitionName"] == "p-dq-0123456789"
    schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="p-data-quality")
    assert schedule["MonitoringScheduleStatus"] == "Scheduled"
    assert schedule["MonitoringScheduleArn"].endswith(":monitoring-schedule/p-data-quality")
    definition = sagemaker.describe_data_quality_job_definition(JobDefinitionName="p-dq-0123456789")
    assert definition["DataQualityAppSpecification"]["RecordPreprocessorSourceUri"].endswith(
        "preprocessor.py"
    )
    with pytest.raises(sagemaker.exceptions.ClientError, match="does not exist"):
        sagemaker.update_monitoring_schedule(
            MonitoringScheduleName="p-data-quality",
            MonitoringScheduleConfig={
                "MonitoringJobDefinitionName": "p-dq-absent",
                "MonitoringType": "DataQuality",
            },
        )
    cfn.delete_stack(StackName="monitor")
    assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []


LOOKUP = """
import json, urllib.request, boto3

def handler(event, context):
    name = event["ResourceProperties"]["PrefixListName"]
    found = boto3.client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [name]}])["PrefixLists"]
    body = {"Status": "SUCCESS", "PhysicalResourceId": found[0]["PrefixListId"],
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {"PrefixListId": found[0]["PrefixListId"]}}
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(),
                                     method="PUT")
    urllib.request.urlopen(request).read()
"""


def test_a_custom_resource_answers_before_the_resources_that_read_it(moto_url, tmp_path):
    """moto runs custom resources in the background; here the stack waits for the answer and
    a security group rule reads the attribute (the S3 prefix list id, as the network does)."""
    arn = _function(moto_url, "prefix-list-lookup", source=LOOKUP)
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
            "Lookup": {
                "Type": "Custom::S3PrefixList",
                "Properties": {
                    "ServiceToken": arn,
                    "PrefixListName": f"com.amazonaws.{REGION}.s3",
                },
            },
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "g", "VpcId": {"Ref": "Vpc"}},
            },
            "ToS3": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "DestinationPrefixListId": {"Fn::GetAtt": ["Lookup", "PrefixListId"]},
                },
            },
        },
        "Outputs": {"PrefixList": {"Value": {"Fn::GetAtt": ["Lookup", "PrefixListId"]}}},
    }
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="lookup", TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName="lookup")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    expected = _client("ec2", moto_url).describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    assert stack["Outputs"][0]["OutputValue"] == expected


def test_a_group_that_lists_its_egress_rules_loses_the_default_one(moto_url):
    """As CloudFormation does: listed egress rules, or a rule of its own, replace EC2's "all to
    0.0.0.0/0" (CDK's allow_all_outbound=False writes a placeholder rule that matches nothing
    when the group has no rule)."""
    placeholder = {
        "CidrIp": "255.255.255.255/32",
        "IpProtocol": "icmp",
        "FromPort": 252,
        "ToPort": 86,
        "Description": "Disallow all traffic",
    }
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.8.0.0/16"}},
            "Closed": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "closed",
                    "VpcId": {"Ref": "Vpc"},
                    "SecurityGroupEgress": [placeholder],
                },
            },
            "Default": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "default", "VpcId": {"Ref": "Vpc"}},
            },
            "Ruled": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "ruled", "VpcId": {"Ref": "Vpc"}},
            },
            "RuledToClosed": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Ruled", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "DestinationSecurityGroupId": {"Fn::GetAtt": ["Closed", "GroupId"]},
                },
            },
        }
    }
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="egress", TemplateBody=json.dumps(template))
    ec2 = _client("ec2", moto_url)
    ids = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName="egress")["StackResources"]
    }
    (closed,) = ec2.describe_security_groups(GroupIds=[ids["Closed"]])["SecurityGroups"]
    (default,) = ec2.describe_security_groups(GroupIds=[ids["Default"]])["SecurityGroups"]
    assert "0.0.0.0/0" not in json.dumps(closed["IpPermissionsEgress"])
    assert "255.255.255.255/32" in json.dumps(closed["IpPermissionsEgress"])
    assert "0.0.0.0/0" in json.dumps(default["IpPermissionsEgress"])
    # A rule of its own (AWS::EC2::SecurityGroupEgress) replaces the default one too.
    (ruled,) = ec2.describe_security_groups(GroupIds=[ids["Ruled"]])["SecurityGroups"]
    assert "0.0.0.0/0" not in json.dumps(ruled["IpPermissionsEgress"])
    assert ids["Closed"] in json.dumps(ruled["IpPermissionsEgress"])
    cfn.delete_stack(StackName="egress")


def _private_function_stack(depends_on_policy: bool) -> dict:
    """A VPC, a subnet, a group, a role whose policy lets Lambda manage interfaces, and a
    function in the subnet (that depends on the policy, or not)."""
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "eni",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                        "Resource": "*",
                    }
                ],
            },
        },
    }
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(e, c): return e"},
            "VpcConfig": {
                "SubnetIds": [{"Ref": "Subnet"}],
                "SecurityGroupIds": [{"Fn::GetAtt": ["Group", "GroupId"]}],
            },
        },
        **({"DependsOn": ["Policy"]} if depends_on_policy else {}),
    }
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.0.0/24"},
            },
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "fn", "VpcId": {"Ref": "Vpc"}},
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17"}},
            },
            "Policy": policy,
            "Fn": function,
        }
    }


def test_deletion_order_deletes_dependents_first_and_functions_last_among_free() -> None:
    from rehearsal.moto_gaps.lambda_network import deletion_order

    ordered = deletion_order(_private_function_stack(depends_on_policy=True))
    assert ordered.index("Fn") < ordered.index("Policy") < ordered.index("Role")
    assert ordered.index("Fn") < ordered.index("Subnet") < ordered.index("Vpc")
    # Nothing orders the policy after the function: the worst order CloudFormation may take.
    unordered = deletion_order(_private_function_stack(depends_on_policy=False))
    assert unordered.index("Policy") < unordered.index("Fn")


@pytest.mark.parametrize("depends_on_policy", [True, False])
def test_lambdas_interfaces_go_with_the_function_only_while_its_role_may_delete_them(
    moto_url, depends_on_policy: bool
) -> None:
    """Lambda's Hyperplane interface is created with the function and deleted with its role's
    permission: a function that does not depend on that policy can be deleted after it, the
    interface is stranded and the subnet and group cannot be deleted (as on AWS)."""
    from rehearsal.moto_gaps.lambda_network import DESCRIPTION

    interfaces = moto_gaps.install().lambda_interfaces  # installed: the fixture's journal

    name = f"private-{depends_on_policy}".lower()
    cfn, ec2 = _client("cloudformation", moto_url), _client("ec2", moto_url)
    cfn.create_stack(
        StackName=name, TemplateBody=json.dumps(_private_function_stack(depends_on_policy))
    )
    ids = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
    }
    (interface,) = [
        i
        for i in ec2.describe_network_interfaces()["NetworkInterfaces"]
        if i["SubnetId"] == ids["Subnet"]
    ]
    assert interface["Description"] == DESCRIPTION.format(ids["Fn"])
    assert interface["Groups"][0]["GroupId"] == ids["Group"]
    if depends_on_policy:
        cfn.delete_stack(StackName=name)
    else:  # moto deletes synchronously and answers with what AWS reports as DELETE_FAILED
        with pytest.raises(ClientError, match="DependencyViolation"):
            cfn.delete_stack(StackName=name)
    left = [
        i["NetworkInterfaceId"]
        for i in ec2.describe_network_interfaces()["NetworkInterfaces"]
        if i["NetworkInterfaceId"] == interface["NetworkInterfaceId"]
    ]
    if depends_on_policy:
        assert left == [] and interface["NetworkInterfaceId"] in interfaces.released
        assert not ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [ids["Subnet"]]}])[
            "Subnets"
        ]
    else:
        assert left == [interface["NetworkInterfaceId"]]
        assert interface["NetworkInterfaceId"] in interfaces.stranded
        assert ec2.describe_subnets(SubnetIds=[ids["Subnet"]])["Subnets"]
