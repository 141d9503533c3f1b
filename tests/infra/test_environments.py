"""Reuse across accounts: environments differ only where their configuration differs."""

from __future__ import annotations

import json
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app_factory import build_app
from ml_constructs.framework_image import ImageSpec, sdk_image_config
from serving_config import ENVIRONMENTS_DIR
from tests.synth_cache import synth

ACCOUNTS = {"alpha": ("111111111111", "eu-west-1"), "beta": ("222222222222", "ap-southeast-2")}


@cache
def synth_pair() -> dict[str, dict[str, Any]]:
    """Both accounts' templates (synthesized once for the tests below)."""
    config_dir = Path(tempfile.mkdtemp(prefix="envs-"))
    base = yaml.safe_load((ENVIRONMENTS_DIR / "prod.yaml").read_text())
    for name, (account, region) in ACCOUNTS.items():
        (config_dir / f"{name}.yaml").write_text(
            yaml.safe_dump({**base, "account": account, "region": region})
        )
    templates: dict[str, dict[str, Any]] = {}
    for name in ACCOUNTS:
        app = build_app(context={"env": name, "config_dir": str(config_dir)})
        assembly = app.synth()
        templates[name] = {s.stack_name: s.template for s in assembly.stacks}
    return templates


def normalized(name: str, templates: dict[str, Any]) -> str:
    account, region = ACCOUNTS[name]
    registry = ImageSpec("tensorflow", "2.20", "inference").registries()[region]
    training_registry = ImageSpec("tensorflow", "2.19", "training").registries()[region]
    (monitor,) = sdk_image_config("model-monitor")["versions"].values()
    text = json.dumps(templates, sort_keys=True)
    for value, placeholder in (
        (account, "<ACCOUNT>"),
        (region, "<REGION>"),
        (registry, "<REGISTRY>"),
        (training_registry, "<REGISTRY>"),
        (monitor["registries"][region], "<REGISTRY>"),
        (name, "<ENV>"),
    ):
        text = text.replace(value, placeholder)
    # Logical ids hash the construct path, which holds the environment name; API Gateway
    # deployments and permissions add hashes of their own.
    text = re.sub(r"[0-9a-f]{32}\b", "<HASH>", text)
    # Monitoring job definitions are named after a digest of their (resolved) properties.
    text = re.sub(r"-(dq|mq)-[0-9a-f]{10}\b", r"-\1-<DIGEST>", text)
    text = re.sub(r"[0-9A-F]{8}(?=POST)", "<HASH>", text)
    return re.sub(r"[0-9A-F]{8}\b", "<HASH>", text)


def test_two_accounts_differ_only_in_account_region_and_name() -> None:
    templates = synth_pair()
    alpha, beta = (templates[name] for name in ACCOUNTS)
    assert "111111111111" in json.dumps(alpha) and "222222222222" in json.dumps(beta)
    assert normalized("alpha", alpha) == normalized("beta", beta)


def test_pinned_environment_resolves_the_image_registry_at_synth() -> None:
    templates = synth_pair()
    data = templates["alpha"]["mlserving-alpha-data"]
    image = data["Outputs"]["ServingImageUri"]["Value"]
    registry = ImageSpec("tensorflow", "2.20", "inference").registries()["eu-west-1"]
    assert json.dumps(image).startswith(f'{{"Fn::Join": ["", ["{registry}.dkr.ecr.eu-west-1.')


def test_environment_agnostic_by_default() -> None:
    from aws_cdk import cx_api

    for stack in cx_api.CloudAssembly(str(synth("dev").outdir)).stacks:
        assert stack.environment.account == "unknown-account"
        assert stack.environment.region == "unknown-region"
