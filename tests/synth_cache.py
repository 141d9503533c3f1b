"""Synthesize each environment once per test session (a synth costs seconds: jsii runs node)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from app_factory import build_app, stack_names
from serving_config import load_settings


@dataclass(frozen=True)
class Synthesized:
    """The templates of one environment and the assembly directory they were written to."""

    env: str
    outdir: Path
    data: Template
    serving: Template
    data_json: dict[str, Any]
    serving_json: dict[str, Any]
    validation_report: dict[str, Any]


@cache
def synth(env: str) -> Synthesized:
    """Synthesize ``env`` with cdk-nag attached; raises if any finding is unacknowledged."""
    outdir = Path(tempfile.mkdtemp(prefix=f"cdk-{env}-"))
    app = build_app(context={"env": env}, outdir=str(outdir))
    assembly = app.synth()
    data_name, serving_name = stack_names(load_settings(env))
    data_json = assembly.get_stack_by_name(data_name).template
    serving_json = assembly.get_stack_by_name(serving_name).template
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Synthesized(
        env=env,
        outdir=outdir,
        data=Template.from_json(data_json),
        serving=Template.from_json(serving_json),
        data_json=data_json,
        serving_json=serving_json,
        validation_report=report,
    )
