"""SageMaker Model Monitor on the endpoint's captured traffic (data and model quality)."""
