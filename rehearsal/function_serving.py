"""What serves a Lambda-hosted model (``endpoint.kind: lambda``), as the rehearsal follows it:
the alias API Gateway invokes -> the version it names -> that version's ``MODEL_DATA_URL``.

No stand-in serves anything here: the deployed function's own code (onnxruntime) answers
through moto's Lambda (the rehearsal's runner). This is the counterpart of
:class:`rehearsal.serving.EndpointMirror` for the promotion checks: ``current()`` names what
serves (``version N``), ``served`` says which artifact it loads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

#: The model function's variables a promotion changes (its construct writes the others).
MODEL_DATA_URL = "MODEL_DATA_URL"
ENDPOINT_NAME = "ENDPOINT_NAME"


@dataclass(frozen=True)
class ServedVersion:
    """The version the alias names and the artifact it serves."""

    endpoint_config: str  # "version N": what a promotion moves, by the name the checks use
    model_name: str  # function:version
    model_data_url: str
    endpoint_name: str  # the name the model is known by (capture folder, responses)


class ServedFunction:
    """The alias of the model function: which version serves, and its model."""

    def __init__(self, lambda_client: Any, function_name: str, alias: str) -> None:
        self._lambda = lambda_client
        self.function_name = function_name
        self.alias = alias
        self.errors: list[str] = []

    @property
    def alias_arn(self) -> str:
        """What API Gateway invokes (and the rehearsal's ``lambda:Invoke`` too)."""
        answer = self._lambda.get_alias(FunctionName=self.function_name, Name=self.alias)
        return str(answer["AliasArn"])

    def version(self) -> str:
        answer = self._lambda.get_alias(FunctionName=self.function_name, Name=self.alias)
        return str(answer["FunctionVersion"])

    def current(self) -> str:
        return f"version {self.version()}"

    @property
    def served(self) -> ServedVersion:
        version = self.version()
        config = self._lambda.get_function_configuration(
            FunctionName=self.function_name, Qualifier=version
        )
        variables = config.get("Environment", {}).get("Variables", {})
        return ServedVersion(
            f"version {version}",
            f"{self.function_name}:{version}",
            str(variables.get(MODEL_DATA_URL, "")),
            str(variables.get(ENDPOINT_NAME, "")),
        )

    def wait_for(self, current: str, timeout_s: float) -> bool:
        """The alias moves at once: nothing loads in the background as on an endpoint."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.current() == current:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Nothing runs in the background (the runner's workers stop with it)."""
