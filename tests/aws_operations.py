"""Every AWS API operation the product's runtime code calls, by caller.

The suite checks each request against botocore's service model (``tests/conftest.py``
installs ``rehearsal.moto_gaps.service_model``), and a full run fails if one of these was never
exercised; ``docs/aws-contracts.md`` has a row for each (``tests/infra/test_aws_contracts.py``).
"""

from __future__ import annotations

RUNTIME_OPERATIONS: dict[str, tuple[str, ...]] = {
    "inference function (ml_constructs/inference_api/runtime)": (
        "sagemaker-runtime.InvokeEndpoint",
        # async mode (POST /predict-async, GET /predict-async/{id})
        "sagemaker-runtime.InvokeEndpointAsync",
        "s3.PutObject",
        "s3.ListObjectsV2",
        "s3.GetObject",
    ),
    "promotion function (ml_constructs/model_promotion/runtime)": (
        "s3.HeadObject",
        "s3.GetObject",
        "s3.CopyObject",
        "s3.DeleteObject",
        "sagemaker.DescribeEndpoint",
        "sagemaker.DescribeEndpointConfig",
        "sagemaker.DescribeModel",
        "sagemaker.CreateModel",
        "sagemaker.CreateEndpointConfig",
        "sagemaker.UpdateEndpoint",
        "sagemaker.AddTags",
        "sagemaker.ListTags",
        "sagemaker.ListEndpointConfigs",
        "sagemaker.DeleteEndpointConfig",
        "sagemaker.DeleteModel",
        "ssm.GetParameter",
        "ssm.PutParameter",
        "sns.Publish",
        "sagemaker.DescribeModelPackage",
        "sagemaker.UpdateModelPackage",
        "s3.PutObject",
        # a Lambda-hosted model (lambda_target.py)
        "lambda.GetAlias",
        "lambda.GetFunctionConfiguration",
        "lambda.UpdateFunctionConfiguration",
        "lambda.PublishVersion",
        "lambda.ListVersionsByFunction",
        "lambda.DeleteFunction",
        "codedeploy.ListDeployments",
        "codedeploy.BatchGetDeployments",
        "codedeploy.CreateDeployment",
        "codedeploy.GetDeployment",
    ),
    "first-model publish (deploy_tools/publish_model.py)": (
        "ssm.GetParameter",
        "cloudformation.DescribeStacks",
        "s3.PutObject",
        "ssm.PutParameter",
    ),
    "retraining function (ml_constructs/retraining/runtime)": (
        "sagemaker.ListTrainingJobs",
        "sagemaker.CreateTrainingJob",
        "s3.PutObject",
        "s3.ListObjectsV2",
        "sns.Publish",
    ),
    "model monitor function (ml_constructs/drift_monitor/runtime)": (
        "s3.ListObjectsV2",
        "s3.GetObject",
        "s3.PutObject",
        "cloudwatch.PutMetricData",
        "sns.Publish",
    ),
    "ground truth upload (deploy_tools/ground_truth.py)": (
        "cloudformation.DescribeStacks",
        "s3.PutObject",
    ),
    "model registration (deploy_tools/register_model.py)": (
        "cloudformation.DescribeStacks",
        "sagemaker.DescribeModelPackageGroup",
        "sagemaker.ListModelPackages",
        "sagemaker.DescribeModelPackage",
        "sagemaker.CreateModelPackage",
        "sagemaker.DescribeTrainingJob",
        "s3.GetObject",
        "s3.PutObject",
    ),
    "Lambda-hosted model (ml_constructs/lambda_model/runtime)": (
        "s3.GetObject",  # model.tar.gz at cold start
        "s3.PutObject",  # data capture
    ),
    "S3 prefix-list lookup (ml_constructs/private_network/runtime)": (
        "ec2.DescribeManagedPrefixLists",
    ),
    "capacity test (deploy_tools/capacity, --endpoint-name)": ("sagemaker-runtime.InvokeEndpoint",),
    "capacity test (deploy_tools/capacity, --function-name)": ("lambda.Invoke",),
    "instance recommendation (deploy_tools/recommend_instance.py)": (
        "cloudformation.DescribeStacks",
        "s3.PutObject",
        "sagemaker.CreateInferenceRecommendationsJob",
    ),
}
#: Checked in the launcher's own environment (.venv-sagemaker), by its own session.
LAUNCHER_OPERATIONS = ("sagemaker.CreateTrainingJob", "s3.PutObject")


def expected() -> set[str]:
    return {operation for operations in RUNTIME_OPERATIONS.values() for operation in operations}
