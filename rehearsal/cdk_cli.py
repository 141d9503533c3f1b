"""The CDK CLI (``npx cdk``, pinned in package.json) pointed at the local moto server.

Users deploy with ``cdk bootstrap`` and ``cdk deploy``; so does the rehearsal, against moto, from
the cloud assembly it synthesized (``--app cdk.out``: no second synth). Two moto 5.2.5 gaps shape
the command line (both in the gap list):

- moto's ``ExecuteChangeSet`` creates the resources but leaves the stack's outputs and exports
  empty, so the serving stack's ``Fn::ImportValue`` of the data stack fails: deployments use
  ``--method=direct`` (CreateStack/UpdateStack, which the CLI also offers);
- moto's CloudFormation reads a ``TemplateURL`` on ``127.0.0.1:PORT`` as the bucket "127": the
  CLI is given ``http://localhost:PORT``, which moto parses as path-style.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NPX = "npx"


class CdkCliError(RuntimeError):
    """``cdk`` exited non-zero; the message holds the end of its output."""


@dataclass(frozen=True)
class CdkCli:
    """One CLI configuration: moto's URL, the operator's credentials, the synthesized app."""

    endpoint_url: str
    region: str
    cloud_assembly: Path
    credentials: Mapping[str, str]
    timeout_s: float = 180

    def environment(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"
        }
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url.replace("127.0.0.1", "localhost"),
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "CDK_DISABLE_VERSION_CHECK": "1",
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                **self.credentials,
            }
        )
        return env

    def run(self, *arguments: str) -> str:
        """``npx cdk ARGUMENTS --app CLOUD_ASSEMBLY``; returns the combined output."""
        command = [NPX, "--no-install", "cdk", *arguments, "--app", str(self.cloud_assembly)]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=REPO,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise CdkCliError(
                f"`{' '.join(command[:5])}` exited {result.returncode} after "
                f"{time.perf_counter() - started:.1f} s:\n{output[-3000:]}"
            )
        return output

    def bootstrap(self, account: str) -> str:
        """``cdk bootstrap aws://ACCOUNT/REGION`` (the CDKToolkit stack and its asset bucket)."""
        return self.run("bootstrap", f"aws://{account}/{self.region}")

    def deploy(self, stack: str, outputs_file: Path) -> dict[str, str]:
        """``cdk deploy STACK`` (only that stack; its dependencies are deployed already);
        returns the stack outputs the CLI printed and wrote to ``outputs_file``."""
        outputs_file.unlink(missing_ok=True)
        log = self.run(
            "deploy",
            stack,
            "--exclusively",
            "--require-approval",
            "never",
            "--method",
            "direct",
            "--progress",
            "events",
            "--outputs-file",
            str(outputs_file),
        )
        if os.environ.get("REHEARSAL_VERBOSE"):
            print(log)
        written: dict[str, dict[str, str]] = json.loads(outputs_file.read_text(encoding="utf-8"))
        return dict(written.get(stack, {}))
