"""Retraining started by the model's drift and quality alarms (off by default)."""
