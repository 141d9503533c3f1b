#!/usr/bin/env python3
"""CDK entry point: read the environment's configuration, instantiate its stacks."""

from __future__ import annotations

from app_factory import build_app

if __name__ == "__main__":
    build_app().synth()
