"""Synthesize each environment once per test session (a synth costs seconds: jsii runs node)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aws_cdk.assertions import Template

from app_factory import build_app, stack_names
from serving_config import ENVIRONMENTS_DIR, load_settings


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
def synth(env: str, config_dir: str | None = None) -> Synthesized:
    """Synthesize ``env`` (from ``config_dir``, default serving_config's) with cdk-nag
    attached; raises if any finding is unacknowledged."""
    outdir = Path(tempfile.mkdtemp(prefix=f"cdk-{env}-"))
    context = {"env": env, **({"config_dir": config_dir} if config_dir else {})}
    app = build_app(context=context, outdir=str(outdir))
    assembly = app.synth()
    directory = Path(config_dir) if config_dir else ENVIRONMENTS_DIR
    data_name, serving_name = stack_names(load_settings(env, directory))
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


def variant_dir(env: str, changes: dict[str, Any], label: str) -> str:
    """A configuration folder holding ``env``'s file with ``changes`` merged into it (one
    level deep per section), under the same name, so the prefix stays the environment's."""
    raw = yaml.safe_load((ENVIRONMENTS_DIR / f"{env}.yaml").read_text())
    for section, values in changes.items():
        current = raw.get(section)
        merged = {**current, **values} if isinstance(current, dict) else values
        raw[section] = merged
    directory = Path(tempfile.mkdtemp(prefix=f"config-{env}-{label}-"))
    (directory / f"{env}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(directory)


#: SageMaker Model Monitor is opt-in (``engine: sagemaker``; closed to new customers, README
#: "Watching the model"): its suites synthesize an environment with that engine under the
#: environment's own name (dev with retraining, as it runs with the in-account monitor).
MONITOR_OPT_IN: dict[str, dict[str, Any]] = {
    "dev": {"model_monitor": {"enabled": True, "engine": "sagemaker"}},
    "prod": {"model_monitor": {"enabled": True, "engine": "sagemaker"}},
}


@cache
def synth_monitored(env: str) -> Synthesized:
    """``env`` with Model Monitor opted in (``MONITOR_OPT_IN``)."""
    return synth(env, variant_dir(env, MONITOR_OPT_IN[env], "monitored"))


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


@cache
def synth_framework(framework: str, env: str = "local") -> Synthesized:
    """``env`` serving and training with ``framework`` (``serving_config.frameworks.
    framework_overrides``, as the rehearsal's ``--framework``)."""
    from serving_config.frameworks import framework_overrides

    return synth(env, variant_dir(env, framework_overrides(framework), framework))
