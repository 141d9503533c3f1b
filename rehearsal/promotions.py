"""What every promotion the rehearsal triggers must show, whatever triggered it: the endpoint
moves to a new config, the model server loads it, the held-out rows score as the model's
training measured, the SSM parameter names the model now serving, and a promoted SageMaker
Model runs with the framework's container environment."""

from __future__ import annotations

from rehearsal.artifacts import TrainedModel
from rehearsal.context import Rehearsal
from rehearsal.predictions import RehearsalError, measured, wait_for
from serving_core.frameworks import container_environment


def await_promotion(r: Rehearsal, before: str, model: TrainedModel, what: str) -> dict[str, float]:
    """Wait until the endpoint left config ``before`` for ``model``; sets ``r.promoted_config``
    and ``r.promoted_uri``; returns the measured accuracy and AUC."""
    assert r.inference_fn is not None

    def new_config() -> str | None:
        name = r.serving_config()
        return name if name != before else None

    r.promoted_config = wait_for(new_config, r.args.timeout, f"the endpoint to switch to {what}")
    if not r.mirror.wait_for(r.promoted_config, r.args.timeout):
        raise RehearsalError(
            f"the model server never loaded {r.promoted_config}: {r.mirror.errors}"
        )
    after = measured(r.clients, r.inference_fn, r.held_out, model, r.settings.api.max_rows)
    r.promoted_uri = r.mirror.served.model_data_url  # the promotion serves a release copy
    r.promoted_model = model
    wait_for(
        lambda: r.recorded_artifact() == r.promoted_uri,
        r.args.timeout,
        f"{r.settings.artifact_parameter} to name {r.promoted_uri}",
    )
    return after


def promoted_container(r: Rehearsal) -> str:
    """The promoted Model's ``PrimaryContainer.Environment`` (as moto describes it) is the
    framework's, as the stack's own model has it: a script-mode container finds the
    artifact's ``code/inference.py`` by it, TensorFlow Serving needs none. A Lambda-hosted
    model has no SageMaker Model: nothing to check."""
    if not r.settings.variant.supports("sagemaker_endpoint"):
        return ""
    name = r.mirror.served.model_name
    container = r.clients.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]
    environment = container.get("Environment") or {}
    expected = container_environment(r.settings.model.framework, r.region)
    if environment != expected:
        raise RehearsalError(
            f"the promoted model {name} runs with the container environment {environment}, "
            f"not the framework's {expected}"
        )
    shown = ", ".join(f"{k}={v}" for k, v in sorted(environment.items()))
    return f"; container environment of {name}: {shown or 'none'}"
