"""Synthesize every environment (and every delivery pipeline) and print what a reviewer checks
first.

For each environment or pipeline (its stages' stacks are environments' own): the stacks, their
resource counts by type, and the security checks: cdk-nag's AwsSolutions and NIST 800-53 rev 5
packs and the project's DeployPreconditions pack (a finding left unacknowledged fails synth)
with each acknowledged finding and its written reason, each checkov check skipped on a
resource, with its reason (the test suite runs checkov on every environment and pipeline), and
parliament's IAM lint of every policy (a failing finding fails the report). Last, what the
environment (or each stage) costs at the cost tool's default traffic (``deploy_tools.cost``:
fixed per month and per million predictions, priced from the configuration, no synth needed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from aws_cdk import Validations

from app_factory import build_app
from deploy_tools.cost import price_environment
from deploy_tools.cost.table import summary
from deploy_tools.iam_lint import failures, lint_assembly
from ml_constructs.checkov import skips_of
from ml_constructs.nag import PACKS
from serving_config import available_environments, available_pipelines, load_pipeline, load_settings


def cost_lines(name: str) -> list[str]:
    """What ``name`` costs (each stage's, for a pipeline), one line each."""
    if name in available_pipelines():
        stages = [(f"{s.stage.name}: ", s.settings) for s in load_pipeline(name).stages]
    else:
        stages = [("", load_settings(name))]
    return [f"   {label}{summary(price_environment(settings))}" for label, settings in stages]


def report(env: str, outdir: Path, verbose: bool) -> int:
    """Synthesize ``env`` and print its summary; returns the number of acknowledgements."""
    started = time.perf_counter()
    app = build_app(context={"env": env}, outdir=str(outdir))
    assembly = app.synth()
    elapsed = time.perf_counter() - started
    print(f"== {env}: synthesized in {elapsed:.1f} s to {outdir}")
    for stack in assembly.stacks:
        kinds = Counter(r["Type"] for r in stack.template.get("Resources", {}).values())
        account = stack.environment.account
        where = (
            "environment-agnostic"
            if account == "unknown-account"
            else f"{account}/{stack.environment.region}"
        )
        print(f"   {stack.stack_name} ({where}): {sum(kinds.values())} resources")
        if verbose:
            for kind, count in sorted(kinds.items()):
                print(f"      {count:3d} {kind}")
    acknowledged = [
        (node.node.path, rule, reason)
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in dict(entry.data).items()
    ]
    for pack in PACKS:
        ours = [a for a in acknowledged if a[1].startswith(f"{pack}::")]
        print(f"   cdk-nag {pack}: 0 unacknowledged findings, {len(ours)} acknowledged")
        if verbose:
            for path, rule, reason in ours:
                print(f"      {rule} on {path}: {reason}")
    skipped = [
        (stack.stack_name, *skip) for stack in assembly.stacks for skip in skips_of(stack.template)
    ]
    print(f"   checkov: {len(skipped)} checks skipped, each on one resource")
    if verbose:
        for stack_name, logical_id, check, reason in skipped:
            print(f"      {check} on {stack_name}/{logical_id}: {reason}")
    findings = lint_assembly(outdir)
    failed = failures(findings)
    print(
        f"   IAM lint (parliament): {len(failed)} failing findings, "
        f"{len(findings) - len(failed)} advice (wildcards acknowledged above)"
    )
    for finding in failed:
        print(f"      {finding}")
    if failed:
        raise RuntimeError(f"{len(failed)} IAM lint failure(s)")
    for line in cost_lines(env):
        print(line)
    return len(acknowledged) + len(skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env", action="append", help="environment or pipeline (repeatable); default: all"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="resource types and reasons")
    args = parser.parse_args(argv)
    envs = args.env or [*available_environments(), *available_pipelines()]
    root = Path(tempfile.mkdtemp(prefix="synth-report-"))
    for env in envs:
        try:
            report(env, root / env, args.verbose)
        except Exception as error:
            print(f"== {env}: synth FAILED: {error}", file=sys.stderr)
            return 1
    print(f"all {len(envs)} configurations synthesized; security checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
