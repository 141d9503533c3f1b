"""The capacity test, rehearsed: the ladder of ``capacity:`` (local.yaml: a few seconds) against
the model server that serves the deployed endpoint, through the SageMaker runtime route with
boto3 (the path ``--endpoint-name`` takes against a real endpoint). Locust runs in a process of
its own (``deploy_tools.capacity.load``): it monkey-patches whatever process imports it."""

from __future__ import annotations

from rehearsal.context import Rehearsal
from rehearsal.predictions import RehearsalError


def measure_capacity(r: Rehearsal) -> str:
    from deploy_tools.capacity.cli import measure
    from deploy_tools.capacity.plan import plan_from, recommended_target, request_bodies, table

    capacity = r.settings.capacity
    bodies = request_bodies(r.workdir / "data" / "test.csv", r.settings.model.feature_count)
    plan = plan_from(
        capacity,
        bodies,
        mode="runtime",
        endpoint_name=r.endpoint_name,
        region=r.region,
        endpoint_url=r.aws.model_server.url,
    )
    # boto3 signs with the operator's credentials (the local server does not check them).
    credentials = r.clients.session.get_credentials().get_frozen_credentials()
    signing = {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        **({"AWS_SESSION_TOKEN": credentials.token} if credentials.token else {}),
    }
    outcome = measure(plan, env=signing)
    print(table(outcome.steps, plan), flush=True)
    sustained = outcome.sustained
    if sustained is None:
        raise RehearsalError(f"the endpoint's model server sustained no rate: {outcome.stopped}")
    target = recommended_target(sustained.achieved, capacity.safety_factor)
    limit = f"stopped at {outcome.stopped}" if outcome.stopped else "the ladder's top passed"
    return (
        f"{sum(s.requests for s in outcome.steps)} InvokeEndpoint requests (Locust, boto3) to "
        f"{r.endpoint_name}: sustained {sustained.achieved:.1f}/s with p99 "
        f"{sustained.p99_ms:.0f} ms <= {capacity.latency_p99_ms:g} ms, 0 errors ({limit}); "
        f"target_invocations_per_instance would be {target} on this machine "
        f"(x 60 x {capacity.safety_factor:g})"
    )
