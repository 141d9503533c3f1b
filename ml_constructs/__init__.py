"""Reusable CDK constructs of the serving app.

Not named ``constructs``: that is the CDK base library (``from constructs import
Construct``) and a local package of that name would shadow it.
"""
