"""What every promotion the rehearsal triggers must show, whatever triggered it: the endpoint
moves to a new config, the model server loads it, the held-out rows score as the model's
training measured, and the SSM parameter names the model now serving."""

from __future__ import annotations

from rehearsal.artifacts import TrainedModel
from rehearsal.context import Rehearsal
from rehearsal.predictions import RehearsalError, measured, wait_for


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
