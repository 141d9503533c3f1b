"""The rehearsal's steps where the model runs inside its Lambda function (``endpoint.kind:
lambda``): no endpoint and no model server; the deployed function's own code (onnxruntime)
answers through moto's Lambda, behind the alias API Gateway invokes. The steps that do not
depend on what serves (deploy, registry, promote and reject, watch, report) are
:mod:`rehearsal.steps`' own; the ones here replace the endpoint's serve, predict and redeploy.
"""

from __future__ import annotations

from collections.abc import Callable

from ml_constructs.model_promotion.construct import promotion_function_name
from rehearsal.capacity_step import measure_function_capacity
from rehearsal.context import Rehearsal
from rehearsal.function_serving import ServedFunction
from rehearsal.predictions import (
    RehearsalError,
    api_url,
    deployed_function,
    measured,
    predict_through_api,
    predict_through_lambda,
)

#: The serving stack's outputs for a Lambda-hosted model.
FUNCTION_OUTPUT = "InferenceFunctionName"
ALIAS_OUTPUT = "ModelAliasArn"


def serve_function(r: Rehearsal) -> str:
    """The alias names a version whose model is the one published; the function's package
    (built for Lambda) runs on this machine's same-version onnxruntime and numpy."""
    from rehearsal.moto_gaps.lambda_runner import RUNNER

    outputs = r.serving_stack.outputs
    missing = [name for name in (FUNCTION_OUTPUT, ALIAS_OUTPUT) if name not in outputs]
    if missing:
        raise RehearsalError(f"the serving stack has no output {', '.join(missing)}")
    function, alias = outputs[FUNCTION_OUTPUT], outputs[ALIAS_OUTPUT].rsplit(":", 1)[-1]
    r.mirror = ServedFunction(r.clients.lambda_, function, alias)
    r.serving_label = f"alias {alias}"
    served = r.mirror.served
    if served.model_data_url != r.initial_uri:
        raise RehearsalError(
            f"{served.model_name} serves {served.model_data_url}, not {r.initial_uri}"
        )
    r.endpoint_name = served.endpoint_name
    r.inference_fn = r.mirror.alias_arn
    r.promotion_fn = deployed_function(r.serving_stack, promotion_function_name(r.settings.prefix))
    predict_through_lambda(r.clients, r.inference_fn, r.held_out[0][:1], 1)  # the cold start
    replaced = RUNNER.foreign_builds.get(function, [])
    built = (
        f"; its layer's builds for Lambda ({replaced[0].tags}) run as this machine's: "
        f"{', '.join(map(str, replaced))}"
        if replaced
        else ""
    )
    return (
        f"{r.inference_fn} -> {served.model_name} serves {served.model_data_url} "
        f"(onnxruntime in the function, no endpoint){built}"
    )


def predict_in_function(r: Rehearsal) -> str:
    """The held-out rows through the alias (lambda:Invoke) and the REST API: the training
    metrics, the same answers both ways, and the capture the function wrote."""
    assert r.inference_fn is not None
    max_rows = r.settings.api.max_rows
    first = measured(r.clients, r.inference_fn, r.held_out, r.models["initial"], max_rows)
    url = api_url(r.serving_stack, r.aws.execute_api)
    through_api = predict_through_api(url, r.held_out[0], max_rows)
    direct = predict_through_lambda(r.clients, r.inference_fn, r.held_out[0], max_rows)
    if through_api != direct:
        raise RehearsalError("the REST API answered differently from lambda:Invoke")
    return (
        f"{len(r.held_out[0])} rows via lambda:Invoke({r.inference_fn}): accuracy "
        f"{first['accuracy']:.4f}, AUC {first['roc_auc']:.4f} = training metrics (the ONNX "
        f"export of the SavedModel); POST {url}/predict answers the same; {_captured(r)}"
    )


def _captured(r: Rehearsal) -> str:
    """What the function captured, in SageMaker's layout under the capture prefix."""
    if (
        not r.settings.variant.supports("data_capture")
        or not r.settings.endpoint.data_capture_percent
    ):
        return "data capture: off"
    prefix = f"data-capture/{r.endpoint_name}/"
    listed = r.clients.s3.list_objects_v2(Bucket=r.bucket, Prefix=prefix)
    objects = listed.get("Contents", [])
    if not objects:
        raise RehearsalError(f"the function captured nothing under s3://{r.bucket}/{prefix}")
    lines = sum(
        len(r.clients.s3.get_object(Bucket=r.bucket, Key=o["Key"])["Body"].read().splitlines())
        for o in objects
    )
    return (
        f"data capture: {lines} request/response records in {len(objects)} objects under "
        f"s3://{r.bucket}/{prefix} (written by the function, SageMaker's capture format)"
    )


def redeploy_function_stack(r: Rehearsal) -> str:
    """A later `cdk deploy` resolves the promoted model from SSM: the alias keeps the
    promoted version and the function serves the promoted model."""
    from rehearsal.steps import deploy_serving_stack_again

    if r.promotion_fn is None or r.inference_fn is None:
        return "NOT SHOWN: nothing was promoted"
    before = r.serving_config()
    deploy_serving_stack_again(r)
    after = r.serving_config()
    served = r.mirror.served
    if served.model_data_url != r.promoted_uri:
        raise RehearsalError(
            f"after cdk deploy {served.model_name} serves {served.model_data_url}, not "
            f"{r.promoted_uri}"
        )
    metrics = measured(
        r.clients, r.inference_fn, r.held_out, r.promoted_model, r.settings.api.max_rows
    )
    return (
        f"cdk deploy: {r.serving_stack.name} {r.serving_stack.status}; {r.serving_label}: "
        f"{before} -> {after}; still serves {served.model_data_url}: accuracy "
        f"{metrics['accuracy']:.4f} = the {r.promoted_model.label} model's. {_deployments(r)}"
    )


def _deployments(r: Rehearsal) -> str:
    """The promotions' CodeDeploy deployments as the stand-in ran them."""
    done = r.aws.journal.lambda_deployments.deployments
    if not done:
        raise RehearsalError("no promotion went through CodeDeploy")
    return "CodeDeploy deployments of the promotions: " + "; ".join(
        f"{d.appspec.current_version} -> {d.appspec.target_version} with {d.config_name} "
        f"(shares {' -> '.join(f'{p}%' for p in d.steps)}) {d.status}"
        for d in done
    )


#: Serving inside the function: the alias and its model, predictions, the capacity ladder.
SERVE: tuple[tuple[str, Callable[[Rehearsal], str]], ...] = (
    (
        "Serve the model inside its Lambda function: the alias, its version, its model",
        serve_function,
    ),
    (
        "Predict the held-out rows through the model function's alias and the REST API",
        predict_in_function,
    ),
    (
        "Measure capacity: a short Locust ladder against the function's alias (lambda:Invoke)",
        measure_function_capacity,
    ),
)
REDEPLOY: tuple[str, Callable[[Rehearsal], str]] = (
    "cdk deploy the serving stack again (a later deploy keeps the promoted version)",
    redeploy_function_stack,
)
