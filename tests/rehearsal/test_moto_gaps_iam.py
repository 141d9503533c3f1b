"""IAM enforcement: a function's calls are signed with its role and checked against its policy."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from moto.server import ThreadedMotoServer

from rehearsal import moto_gaps
from rehearsal.moto_gaps import iam, lambda_runner

ACCOUNT, REGION = "123456789012", "us-east-1"

HANDLER = """
import boto3
from botocore.exceptions import ClientError

# Over 10 KB: botocore sends it gzip-compressed, as the monitor's batches of drift metrics.
DATA = [
    {"MetricName": f"feature_drifted_{i}", "Value": 1.0,
     "Dimensions": [{"Name": "Endpoint", "Value": "mlserving-local-endpoint"}]}
    for i in range(150)
]

def handler(event, context):
    outcome = {}
    cloudwatch = boto3.client("cloudwatch")
    for name, call in (("s3", lambda: boto3.client("s3").list_buckets()),
                       ("sagemaker", lambda: boto3.client("sagemaker").list_endpoints()),
                       ("put_metric_data", lambda: cloudwatch.put_metric_data(
                           Namespace="mlserving-local/model-monitor", MetricData=DATA)),
                       ("list_metrics", lambda: cloudwatch.list_metrics())):
        try:
            call()
            outcome[name] = "allowed"
        except ClientError as error:
            outcome[name] = "denied" if "not authorized" in str(error) else str(error)
    return outcome
"""


@pytest.fixture
def enforced(tmp_path):
    moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    lambda_runner.install(
        lambda_runner.RunnerSettings(
            endpoint_url=url,
            workdir=tmp_path,
            credentials=lambda fn: iam.role_credentials(
                ACCOUNT, REGION, fn.role, fn.function_name
            ).environment(),
        )
    )
    operator = iam.enforce(ACCOUNT)
    yield url, boto3.session.Session(region_name=REGION, **iam.as_client_kwargs(operator))
    server.stop()
    moto_gaps.uninstall()


def test_function_calls_are_checked_against_its_role(enforced):
    """Also CloudWatch's: signed as ``monitoring`` over a gzip body, named ``cloudwatch:``."""
    url, operator = enforced
    client = operator.client("iam", endpoint_url=url)
    role = client.create_role(
        RoleName="narrow",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    client.put_role_policy(
        RoleName="narrow",
        PolicyName="s3-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ListAllMyBuckets", "cloudwatch:PutMetricData"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER)
    functions = operator.client("lambda", endpoint_url=url)
    functions.create_function(
        FunctionName="narrow-fn",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=10,
    )
    answer = json.loads(functions.invoke(FunctionName="narrow-fn", Payload=b"{}")["Payload"].read())
    # CloudWatch: a compressed PutMetricData passes moto's signature check (it checks the
    # decompressed body), and the action is named cloudwatch:*, not monitoring:*.
    assert answer == {
        "s3": "allowed",
        "sagemaker": "denied",
        "put_metric_data": "allowed",
        "list_metrics": "denied",
    }
    # A request without a body (Scheduler's GETs) is signed over the empty payload.
    assert operator.client("scheduler", endpoint_url=url).list_schedules()["Schedules"] == []
    with pytest.raises(Exception, match=r"InvalidClientTokenId|security token"):
        boto3.client(
            "sagemaker",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).list_endpoints()
