"""Lambda runtime of the inference API: standard library and boto3 only (Powertools optional).

The deployment package holds this folder as the package ``inference`` beside the shared core
(``serving_core``): Lambda imports ``inference.handler``, tests import
``ml_constructs.inference_api.runtime.handler``, and the same relative imports serve both.
"""
