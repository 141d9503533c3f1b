"""Step 5: the SageMaker runtime for the deployed endpoint, following what moto says it serves.

moto's endpoint runs nothing. :class:`EndpointMirror` follows it the way SageMaker would:
endpoint -> endpoint config -> model -> ``ModelDataUrl`` -> the object in moto's S3, and loads
that artifact into the model code's local server (``model_code.local_server``) under the
endpoint's name. When a promotion updates the endpoint, the next poll loads the new artifact
(fully, before swapping it in), so requests never see a half-loaded model.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServedArtifact:
    """What the endpoint serves, as moto describes it."""

    endpoint_config: str
    model_name: str
    model_data_url: str


class EndpointMirror:
    """Keeps ``server`` serving the artifact that moto's endpoint names (polls in a thread)."""

    def __init__(
        self,
        clients: Any,
        server: Any,
        endpoint_name: str,
        workdir: Path,
        poll_interval_s: float = 0.2,
    ) -> None:
        self._clients = clients
        self._server = server
        self.endpoint_name = endpoint_name
        self._workdir = workdir
        self._interval = poll_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.served: ServedArtifact | None = None
        self.history: list[tuple[float, ServedArtifact]] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()

    def describe(self) -> ServedArtifact:
        """endpoint -> config -> (first variant's) model -> ModelDataUrl, through the API."""
        sagemaker = self._clients.sagemaker
        endpoint = sagemaker.describe_endpoint(EndpointName=self.endpoint_name)
        config_name = endpoint["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model_name = config["ProductionVariants"][0]["ModelName"]
        model = sagemaker.describe_model(ModelName=model_name)
        return ServedArtifact(config_name, model_name, model["PrimaryContainer"]["ModelDataUrl"])

    def sync(self) -> bool:
        """Load the endpoint's current artifact if it changed; True when it did."""
        current = self.describe()
        if current == self.served:
            return False
        bucket, _, key = current.model_data_url.removeprefix("s3://").partition("/")
        target = self._workdir / "served" / f"{len(self.history)}-{current.model_name}.tar.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        self._clients.s3.download_file(bucket, key, str(target))
        self._server.load_model(target, endpoint_name=self.endpoint_name)
        with self._changed:
            self.served = current
            self.history.append((time.monotonic(), current))
            self._changed.notify_all()
        return True

    def wait_for(self, endpoint_config: str, timeout_s: float) -> bool:
        """Block until the server serves ``endpoint_config`` (or time out)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.served is None or self.served.endpoint_config != endpoint_config:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def start(self) -> EndpointMirror:
        self._thread = threading.Thread(target=self._loop, name="endpoint-mirror", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception as error:  # recorded and shown; the mirror keeps following
                message = f"{type(error).__name__}: {error}"
                if not self.errors or self.errors[-1] != message:
                    self.errors.append(message)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
