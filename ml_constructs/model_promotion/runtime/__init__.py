"""Lambda runtime of the promotion function: stdlib and boto3 only (no aws_cdk)."""
