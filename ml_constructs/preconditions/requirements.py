"""What AWS requires before it creates or runs something in a VPC, as its documentation lists
it: one constant per precondition, with its source. The constructs grant from these and the
project's rule pack (``ml_constructs.preconditions``) checks every synthesized template for
them, so a grant that goes missing fails the synth instead of the first real deploy."""

from __future__ import annotations

#: A Lambda function in a VPC: Lambda creates, describes and deletes its Hyperplane network
#: interfaces with the function's execution role, and checks the create permission when the
#: function is created or its VPC configuration changes ("The provided execution role does not
#: have permissions to call CreateNetworkInterface on EC2"). Source: Lambda developer guide,
#: "Giving Lambda functions access to resources in an Amazon VPC" (Required IAM permissions;
#: the actions of AWSLambdaVPCAccessExecutionRole, which CDK attaches only to a role it creates
#: itself). The Describe actions support no resource-level permissions.
LAMBDA_VPC_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)

#: A SageMaker model, training, processing or monitoring job in a VPC: SageMaker creates the
#: job's or endpoint's network interfaces with the role the resource names. Sources: "How to
#: use SageMaker AI execution roles" (CreateModel, CreateTrainingJob, CreateProcessingJob: the
#: EC2 actions for VpcConfig) and "Give SageMaker Hosted Endpoints Access to Resources in Your
#: Amazon VPC" (which adds ec2:DescribeVpcEndpoints).
SAGEMAKER_VPC_INTERFACE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
SAGEMAKER_VPC_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
)
SAGEMAKER_VPC_ACTIONS: tuple[str, ...] = (
    *SAGEMAKER_VPC_INTERFACE_ACTIONS,
    *SAGEMAKER_VPC_DESCRIBE_ACTIONS,
)

#: An SQS event source: Lambda's poller receives, deletes and returns messages with the
#: function's execution role, and CreateEventSourceMapping checks the first three on the queue.
#: Source: Lambda developer guide, "Using Lambda with Amazon SQS" (execution role permissions;
#: the actions of AWSLambdaSQSQueueExecutionRole).
LAMBDA_SQS_POLLER_ACTIONS: tuple[str, ...] = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)

#: Provisioned concurrency is configured on a published version or an alias, never on
#: ``$LATEST``, and a function's provisioned concurrency cannot exceed its reserved concurrency
#: (when it has one); Application Auto Scaling's bounds for it are provisioned concurrency too.
#: Lambda also keeps 100 of the account's concurrency unreserved, so reservations need an
#: account limit above 100 plus them (not visible in a template). Sources: Lambda developer
#: guide, "Configuring provisioned concurrency for a function"; "Configuring reserved
#: concurrency for a function".
LAMBDA_PROVISIONED_QUALIFIER_FORBIDDEN = "$LATEST"
LAMBDA_PROVISIONED_DIMENSION = "lambda:function:ProvisionedConcurrency"
