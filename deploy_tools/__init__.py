"""Deployment helpers: publishing the first model, and the synth report for reviewers."""
