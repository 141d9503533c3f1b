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


@dataclass(frozen=True)
class SynthesizedPipeline:
    """The pipeline stack's template and each stage's templates (by stack name), as written."""

    name: str
    outdir: Path
    pipeline: Template
    pipeline_json: dict[str, Any]
    stages: dict[str, dict[str, dict[str, Any]]]
    validation_report: dict[str, Any]


@cache
def synth_pipeline(name: str = "pipeline", config_dir: str | None = None) -> SynthesizedPipeline:
    """Synthesize the pipeline file ``name`` (cdk-nag attached) once per session."""
    from aws_cdk import cx_api

    from serving_config import ENVIRONMENTS_DIR, load_pipeline

    outdir = Path(tempfile.mkdtemp(prefix=f"cdk-{name}-"))
    context = {"env": name, **({"config_dir": config_dir} if config_dir else {})}
    assembly = build_app(context=context, outdir=str(outdir)).synth()
    delivery = load_pipeline(name, Path(config_dir) if config_dir else ENVIRONMENTS_DIR)
    pipeline_json = assembly.get_stack_by_name(delivery.pipeline.name).template
    stages = {
        stage.settings.name: {
            stack.stack_name: stack.template
            for stack in cx_api.CloudAssembly(
                str(outdir / f"assembly-{stage.settings.name}")
            ).stacks
        }
        for stage in delivery.stages
    }
    report_path = outdir / "validation-report.json"
    return SynthesizedPipeline(
        name=name,
        outdir=outdir,
        pipeline=Template.from_json(pipeline_json),
        pipeline_json=pipeline_json,
        stages=stages,
        validation_report=json.loads(report_path.read_text()) if report_path.exists() else {},
    )
