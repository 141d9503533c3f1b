"""Alarms, the encrypted alarm topic and the operations dashboard."""
