"""Command-line client of the inference API (SigV4-signed with the caller's AWS credentials)."""
