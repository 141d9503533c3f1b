"""The capacity test, rehearsed: the ladder of ``capacity:`` (local.yaml: a few seconds) against
the model server that serves the deployed endpoint, through the SageMaker runtime route with
boto3 (the path ``--endpoint-name`` takes against a real endpoint). Locust runs in a process of
its own (``deploy_tools.capacity.load``): it monkey-patches whatever process imports it.

``--kind lambda``: the same ladder against the Lambda-hosted model's alias, through boto3
Invoke against moto (the docker-free runner runs the handler), and the provisioned
concurrency that follows (:func:`measure_function_capacity`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from rehearsal.context import Rehearsal
from rehearsal.predictions import RehearsalError


def _signing(r: Any) -> dict[str, str]:
    """The operator's credentials for the load process's boto3: moto checks the Lambda-hosted
    model's invocations against the operator's policies (the local model server checks
    nothing). A session token of the surrounding environment must not come with them: an
    empty one is no token to botocore."""
    credentials = r.clients.session.get_credentials().get_frozen_credentials()
    return {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token or "",
        "AWS_SECURITY_TOKEN": "",
    }


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
    outcome = measure(plan, env=_signing(r))
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


#: The ladder the rehearsal runs against the local Lambda runner (requests per second).
LOCAL_RUNNER_RATES = (2.0, 4.0, 8.0)


def measure_function_capacity(r: Rehearsal) -> str:
    """The ladder of ``capacity:`` against the Lambda-hosted model: boto3 Invoke of
    ``r.inference_fn`` (the alias ARN) with ``POST /predict`` proxy events, through moto and
    its docker-free runner; one line with the sustained rate and the provisioned concurrency
    it would recommend. The runner serves one request at a time per function, so the figures
    check the path and the arithmetic, not a size for Lambda."""
    from deploy_tools.capacity.cli import measure
    from deploy_tools.capacity.plan import (
        CapacityError,
        concurrency_advice,
        function_target,
        plan_from,
        request_bodies,
        table,
    )

    if r.inference_fn is None:
        raise RehearsalError("no Lambda-hosted model to measure (no inference function)")
    try:
        function, qualifier, arn_region = function_target(r.inference_fn, None)
    except CapacityError as error:
        raise RehearsalError(f"the inference function {r.inference_fn}: {error}") from None
    # The local runner serves one invocation at a time per function (tens of ms each through
    # moto): the ladder starts where that can pass; the configured rates are Lambda's scale.
    capacity = dataclasses.replace(r.settings.capacity, rates=LOCAL_RUNNER_RATES)
    bodies = request_bodies(r.workdir / "data" / "test.csv", r.settings.model.feature_count)
    plan = plan_from(
        capacity,
        bodies,
        mode="lambda",
        function_name=function,
        qualifier=qualifier,
        region=arn_region or r.region,
        endpoint_url=r.aws.moto_url,
    )
    outcome = measure(plan, env=_signing(r))
    print(table(outcome.steps, plan), flush=True)
    sustained = outcome.sustained
    if sustained is None:
        raise RehearsalError(f"the Lambda-hosted model sustained no rate: {outcome.stopped}")
    advice = concurrency_advice(
        sustained, capacity.safety_factor, peak_rate=capacity.peak_requests_per_s
    )
    limit = f"stopped at {outcome.stopped}" if outcome.stopped else "the ladder's top passed"
    return (
        f"{sum(s.requests for s in outcome.steps)} Invoke requests (Locust, boto3, POST /predict "
        f"proxy events) to {function}:{qualifier}: sustained {sustained.achieved:.1f}/s with "
        f"p99 {sustained.p99_ms:.0f} ms <= {capacity.latency_p99_ms:g} ms, 0 errors, "
        f"0 throttled ({limit}); provisioned concurrency would be {advice.provisioned} = "
        f"ceil({advice.rate_per_s:g}/s x {advice.duration_ms / 1000:.3f} s / "
        f"{capacity.safety_factor:g}) for {advice.rate_source} (the local runner serves one "
        "request at a time per function: these figures size nothing real)"
    )
