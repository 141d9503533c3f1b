"""Lambda runtime of the inference API: standard library and boto3 only (Powertools optional).

In AWS the folder is the deployment package and ``handler.py`` is imported as a top-level
module; locally it is imported as ``ml_constructs.inference_api.runtime.handler``. Sibling
imports therefore branch on ``__package__``.
"""
