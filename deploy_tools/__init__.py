"""Deployment helpers that run with the user's AWS credentials (no CDK import)."""
