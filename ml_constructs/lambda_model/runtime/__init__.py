"""Lambda runtime of the Lambda-hosted model: onnxruntime and numpy (its requirements.txt),
boto3 (in Lambda's Python runtime), the standard library and the shared core (Powertools
optional).

The deployment package holds this folder as one package beside ``serving_core/`` (bundle it with
``core=True``): Lambda imports ``<package>.handler.lambda_handler``, tests import
``ml_constructs.lambda_model.runtime.handler``, and the same relative imports serve both.
onnxruntime and numpy come from ``requirements.txt`` built for the function's architecture.
"""
