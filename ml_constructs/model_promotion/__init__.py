"""Safe promotion of an uploaded model: ``construct.py`` deploys it, ``runtime/`` runs it.

Kept empty so that importing ``runtime`` (which never imports aws_cdk) stays light.
"""
