"""The analyzer that runs in the monitor's container image (as the package ``analyzer``): it
reads a window of data capture and ground truth from S3, runs Evidently, publishes CloudWatch
metrics and writes its HTML and JSON reports. No CDK here."""
