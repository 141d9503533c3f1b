"""The front door: an IAM-authenticated REST API and the validating inference function.

``construct.py`` deploys it (CDK); ``runtime/`` is the Lambda function's code, which never
imports CDK. This ``__init__`` stays empty so that importing the runtime from tests or the
local rehearsal does not import CDK either.
"""
