"""The baseline of the synth benchmark: the smallest useful CDK app (one bucket)."""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

if __name__ == "__main__":
    app = App()
    stack = Stack(app, "OneBucket")
    s3.Bucket(stack, "Bucket")
    app.synth()
