"""Lambda code of the network construct (no aws_cdk here)."""
