"""moto 5.2.5's CloudFormation drops a function's ``Layers``: the patch attaches them and the
runner mounts them after the task root, as Lambda's Python puts /opt/python."""

from __future__ import annotations

import io
import json
import zipfile

from tests.rehearsal.test_moto_gaps import _client, moto_url  # noqa: F401


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_layers_module_is_imported_by_the_function(moto_url):  # noqa: F811
    s3, iam = _client("s3", moto_url), _client("iam", moto_url)
    s3.create_bucket(Bucket="layers")
    s3.put_object(Bucket="layers", Key="layer.zip", Body=_zip({"python/from_layer.py": "X = 42"}))
    s3.put_object(
        Bucket="layers",
        Key="code.zip",
        Body=_zip({"app.py": "import from_layer\ndef handler(e, c):\n    return from_layer.X\n"}),
    )
    role = iam.create_role(
        RoleName="layered-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    template = {
        "Resources": {
            "Dependencies": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"Content": {"S3Bucket": "layers", "S3Key": "layer.zip"}},
            },
            "Layered": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "layered",
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "Role": role,
                    "Code": {"S3Bucket": "layers", "S3Key": "code.zip"},
                    "Layers": [{"Ref": "Dependencies"}],
                },
            },
        }
    }
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName="layered", TemplateBody=json.dumps(template))
    assert cfn.describe_stacks(StackName="layered")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    functions = _client("lambda", moto_url)
    layers = functions.get_function_configuration(FunctionName="layered")["Layers"]
    assert len(layers) == 1 and ":layer:" in layers[0]["Arn"]
    answer = functions.invoke(FunctionName="layered", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == 42
