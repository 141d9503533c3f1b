"""Lambda code of the retraining function (no aws_cdk here)."""
