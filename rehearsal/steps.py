"""The rehearsal's steps, in order. Each takes the run's :class:`Rehearsal`, does one thing,
checks it, and returns the line the timeline prints; a failed check raises RehearsalError.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any

from ml_constructs.model_promotion.construct import promotion_function_name
from rehearsal import artifacts
from rehearsal.artifacts import Training, model_specs
from rehearsal.capacity_step import measure_capacity
from rehearsal.context import Rehearsal
from rehearsal.drift_step import watch_the_model
from rehearsal.predictions import (
    RehearsalError,
    api_url,
    async_summary,
    capture_summary,
    deployed_function,
    log_lines,
    measured,
    predict_through_api,
    predict_through_lambda,
    wait_for,
)
from rehearsal.registry_step import register_and_approve
from serving_config import Settings

Step = Callable[[Rehearsal], str]
#: Where the rehearsal uploads the data set: the training launcher's channel layout.
DATASET_KEYS = {"train.csv": "datasets/train/train.csv", "test.csv": "datasets/test/test.csv"}


# -- 1-2: train (in the background) and synthesize -------------------------------------------


def start_training(r: Rehearsal) -> Training:
    """Both models train in background processes while the app synthesizes."""
    for stale in (r.workdir / "lambda" / "logs", r.workdir / "served"):  # per-run outputs
        shutil.rmtree(stale, ignore_errors=True)
    return artifacts.start_training(
        r.workdir,
        model_specs(r.settings.model.framework),
        force=r.args.retrain,
        reuse_only=r.args.skip_train,
    )


def finish_training(r: Rehearsal, training: Training) -> str:
    r.models = training.wait()
    r.corrupt = artifacts.corrupt_artifact(r.workdir)
    r.held_out = artifacts.held_out_rows(r.workdir / "data" / "test.csv")
    return "; ".join(
        f"{m.label}: {'reused' if m.reused else 'trained'}, accuracy {m.accuracy:.4f}, "
        f"AUC {m.auc:.4f}"
        for m in r.models.values()
    )


def synthesize(r: Rehearsal) -> str:
    from rehearsal.deployment import synthesize as synth

    r.stacks = synth(r.args.env, r.workdir / "cdk.out", r.config_dir)
    names = ", ".join(s.name for s in r.stacks)
    return f"{names} (cdk-nag AwsSolutions and NIST 800-53 packs passed)"


# -- 3-4: deploy with the CDK CLI ------------------------------------------------------------


def deploy_data_stack(r: Rehearsal) -> str:
    """moto and the stand-ins start; `cdk bootstrap` and `cdk deploy` create the data stack."""
    from rehearsal import local_aws
    from rehearsal.cdk_cli import CdkCli
    from rehearsal.deployment import describe_stack
    from rehearsal.moto_gaps import service_model

    service_model.install()  # the rehearsal's own requests: checked as AWS would
    r.aws = local_aws.start(
        r.account,
        r.region,
        r.workdir,
        port=r.args.port,
        enforce_iam=r.args.enforce_iam,
        cleanup=r.cleanup,
    )
    r.cdk = CdkCli(r.aws.moto_url, r.region, r.workdir / "cdk.out", r.aws.operator)
    r.cdk.bootstrap(r.account)
    data_synth = r.stacks[0]
    outputs = r.cdk.deploy(data_synth.name, r.workdir / "outputs-data.json")
    r.data_stack = describe_stack(r.clients, data_synth)
    r.bucket, r.key_arn = outputs["BucketName"], outputs["KeyArn"]
    return (
        f"moto {r.aws.moto_url}; cdk bootstrap: CDKToolkit; cdk deploy: {r.data_stack.name} "
        f"{r.data_stack.status} ({len(r.data_stack.physical_ids)} resources, "
        f"{len(outputs)} outputs)"
    )


def deploy_serving_stack(r: Rehearsal) -> str:
    """The data set and the first model are uploaded (deploy_tools.publish_model), then
    `cdk deploy` creates the serving stack, which resolves that model from SSM."""
    from deploy_tools.publish_model import DataStackOutputs, publish_initial_model
    from rehearsal.deployment import describe_stack
    from rehearsal.images import image_assets, stand_in_for_images
    from rehearsal.local_aws import iam_probe
    from rehearsal.moto_gaps.public_parameters import seed_public_parameters

    for name, key in DATASET_KEYS.items():
        r.clients.s3.upload_file(
            str(r.workdir / "data" / name), r.bucket, key, ExtraArgs=r.encryption
        )
    r.initial_uri = publish_initial_model(
        r.settings,
        r.models["initial"].package,
        outputs=DataStackOutputs(bucket_name=r.bucket, key_arn=r.key_arn),
        session=r.clients.session,
        endpoint_url=r.aws.moto_url,
    )
    serving_synth = r.stacks[1]
    seeded = seed_public_parameters(serving_synth.template, r.account, r.region)
    images = stand_in_for_images(
        r.clients.ecr,
        image_assets(r.workdir / "cdk.out", serving_synth.name, r.account, r.region),
    )
    outputs = r.cdk.deploy(serving_synth.name, r.workdir / "outputs-serving.json")
    r.serving_stack = describe_stack(r.clients, serving_synth)
    r.endpoint_name = outputs.get("EndpointName", "")  # none where the model runs in Lambda
    probe = (
        iam_probe(r.aws, r.serving_stack, r.settings.artifact_parameter)
        if r.args.enforce_iam
        else "IAM not enforced (--no-iam)"
    )
    stood_in = f"; image stood in for (no docker): {', '.join(images)}" if images else ""
    return (
        f"bucket {r.bucket}; {r.initial_uri}; cdk deploy: {r.serving_stack.name} "
        f"{r.serving_stack.status} ({len(r.serving_stack.physical_ids)} resources, "
        f"{len(outputs)} outputs); AWS public parameters seeded: {len(seeded)}; {probe}"
        f"{stood_in}"
    )


# -- 5-6: serve and predict ------------------------------------------------------------------


def serve_endpoint(r: Rehearsal) -> str:
    from rehearsal.serving import EndpointMirror

    r.mirror = EndpointMirror(r.clients, r.aws.model_server, r.endpoint_name, r.workdir)
    r.mirror.sync()
    r.mirror.start()
    r.cleanup.append(r.mirror.stop)
    r.aws.runtime.follow(r.mirror, r.clients.s3, r.clients.cloudwatch, r.clients.sns)
    served = r.mirror.served
    assert served is not None
    if served.model_data_url != r.initial_uri:
        raise RehearsalError(f"the endpoint serves {served.model_data_url}, not {r.initial_uri}")
    r.inference_fn = r.serving_stack.outputs.get("InferenceFunctionName")
    r.promotion_fn = deployed_function(r.serving_stack, promotion_function_name(r.settings.prefix))
    return (
        f"{r.aws.runtime.url}/endpoints/{r.endpoint_name}/invocations serves "
        f"{served.model_data_url} (model {served.model_name})"
    )


def predict(r: Rehearsal) -> str:
    if r.inference_fn is None:
        r.missing.append("the serving stack deploys no inference function (InferenceFunctionName)")
        return "NOT SHOWN: " + r.missing[-1]
    max_rows = r.settings.api.max_rows
    first = measured(r.clients, r.inference_fn, r.held_out, r.models["initial"], max_rows)
    url = api_url(r.serving_stack, r.aws.execute_api)
    asynchronous = r.settings.variant.supports("async_invocation")
    through_api = predict_through_api(url, r.held_out[0], max_rows, asynchronous)
    direct = predict_through_lambda(r.clients, r.inference_fn, r.held_out[0], max_rows)
    if through_api != direct:
        raise RehearsalError("the REST API answered differently from lambda:Invoke")
    if asynchronous:
        return (
            f"{len(r.held_out[0])} rows via lambda:Invoke({r.inference_fn}): POST "
            "/predict-async -> s3 async/input/ + InvokeEndpointAsync (202), GET "
            f"/predict-async/{{id}} -> the results: accuracy {first['accuracy']:.4f}, AUC "
            f"{first['roc_auc']:.4f} = training metrics; {url}/predict-async answers the same; "
            f"{async_summary(r.aws.runtime)}"
        )
    return (
        f"{len(r.held_out[0])} rows via lambda:Invoke({r.inference_fn}) -> InvokeEndpoint: "
        f"accuracy {first['accuracy']:.4f}, AUC {first['roc_auc']:.4f} = training metrics; "
        f"POST {url}/predict answers the same; {capture_summary(r.clients, r.aws.runtime)}"
    )


# -- 8: promote and reject on upload---------------------------------------------------------------


def promote_and_reject(r: Rehearsal) -> str:
    """Upload the model the endpoint does not serve (the candidate; the initial model again if
    the registry step promoted the candidate): promoted, the endpoint's config changes and the
    new model answers. Then the corrupt artifact: rejected, the endpoint keeps its config."""
    from rehearsal.promotions import await_promotion, promoted_container

    if r.promotion_fn is None or r.inference_fn is None:
        r.missing.append("the serving stack deploys no promotion function (MIN_AUC)")
        return "NOT SHOWN: " + r.missing[-1]
    if not r.settings.registry.from_upload:
        return f"NOT SHOWN: {r.settings.name} promotes on registry approval only"
    clients, timeout_s = r.clients, r.args.timeout
    model = r.models["initial" if r.registered else "candidate"]
    before = r.serving_config()
    run_id = time.strftime("%Y%m%d-%H%M%S")
    upload_key = f"models/{model.label}-{run_id}/model.tar.gz"
    clients.s3.upload_file(str(model.package), r.bucket, upload_key, ExtraArgs=r.encryption)
    after = await_promotion(r, before, model, upload_key)
    container = promoted_container(r)

    corrupt_key = f"models/corrupt-{run_id}/model.tar.gz"
    clients.s3.upload_file(str(r.corrupt), r.bucket, corrupt_key, ExtraArgs=r.encryption)
    promotion_fn = r.promotion_fn

    def rejected() -> str | None:
        lines = log_lines(clients, promotion_fn)
        return next((x for x in lines if corrupt_key in x and "reject" in x), None)

    evidence = wait_for(rejected, timeout_s, f"the promotion function to reject {corrupt_key}")
    still = r.serving_config()
    if still != r.promoted_config:
        raise RehearsalError(f"the corrupt upload changed the {r.serving_label} to {still}")
    unaffected = measured(clients, r.inference_fn, r.held_out, model, r.settings.api.max_rows)
    try:
        reason = str(json.loads(evidence[evidence.index("{") :]).get("reason", ""))[:120]
    except ValueError:
        reason = evidence[:120]
    kept = _async_config_kept(r) if r.settings.variant.supports("async_invocation") else ""
    return (
        f"promoted {upload_key}: {r.serving_label} {before} -> {r.promoted_config}{kept}, "
        f"accuracy {after['accuracy']:.4f} AUC {after['roc_auc']:.4f} = the {model.label} "
        f"model's training metrics{container}; {r.settings.artifact_parameter} = "
        f"{r.promoted_uri}. "
        f"Rejected {corrupt_key} ({reason}); {r.serving_label} still on {still}, "
        f"accuracy {unaffected['accuracy']:.4f}"
    )


def _async_config_kept(r: Rehearsal) -> str:
    """The promoted EndpointConfig carries the stack's AsyncInferenceConfig unchanged."""
    sagemaker = r.clients.sagemaker
    (stack_config,) = [
        r.serving_stack.physical_ids[logical]
        for logical, resource in r.serving_stack.template["Resources"].items()
        if resource["Type"] == "AWS::SageMaker::EndpointConfig"
    ]
    stack_config = stack_config.split(":endpoint-config/", 1)[-1]  # the ARN names it
    expected = sagemaker.describe_endpoint_config(EndpointConfigName=stack_config)
    promoted = sagemaker.describe_endpoint_config(EndpointConfigName=r.promoted_config)
    wanted = expected.get("AsyncInferenceConfig")
    if not wanted or promoted.get("AsyncInferenceConfig") != wanted:
        raise RehearsalError(
            f"the promoted config's AsyncInferenceConfig {promoted.get('AsyncInferenceConfig')} "
            f"is not the stack's {wanted}"
        )
    return " (AsyncInferenceConfig copied: output, failures, KMS key, topics)"


# -- 9: a later `cdk deploy` --------------------------------------------------------------------


def deploy_serving_stack_again(r: Rehearsal) -> None:
    """`cdk deploy` of the serving stack once more, the parameter naming the promoted model
    (what the deploy resolves from SSM)."""
    from rehearsal.deployment import describe_stack

    if r.recorded_artifact() != r.promoted_uri:
        raise RehearsalError("the parameter no longer names the promoted model before redeploy")
    r.cdk.deploy(r.serving_stack.name, r.workdir / "outputs-serving.json")
    r.serving_stack = describe_stack(r.clients, r.stacks[1])


def redeploy_serving_stack(r: Rehearsal) -> str:
    """After autoscaling grew the fleet, `cdk deploy` updates the serving stack (it resolves
    the promoted model from SSM): the endpoint must keep its instance count, move blue/green with
    the promotions' policy and alarms, and keep serving the promoted model."""
    if r.promotion_fn is None or r.inference_fn is None:
        return "NOT SHOWN: nothing was promoted"
    clients, sagemaker = r.clients, r.clients.sagemaker
    variant = r.settings.endpoint.variant_name
    grown = r.settings.variant.fleet_range[1] if r.settings.scales else None
    if grown is not None:  # what Application Auto Scaling does when it scales out
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=r.endpoint_name,
            DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": grown}],
        )
    before = _fleet(r)
    deploy_serving_stack_again(r)

    def settled() -> str | None:
        endpoint = r.endpoint()
        name = str(endpoint["EndpointConfigName"])
        done = endpoint["EndpointStatus"] == "InService" and name != r.promoted_config
        return name if done else None

    config = wait_for(settled, r.args.timeout, "cdk deploy to update the endpoint")
    if not r.mirror.wait_for(config, r.args.timeout):
        raise RehearsalError(f"the model server never loaded {config}: {r.mirror.errors}")
    after = _fleet(r)
    if after != before:
        raise RehearsalError(f"cdk deploy changed the fleet from {before} to {after}")
    served = r.mirror.served.model_data_url
    if served != r.promoted_uri:
        raise RehearsalError(f"after cdk deploy the endpoint serves {served}, not {r.promoted_uri}")
    metrics = measured(
        clients, r.inference_fn, r.held_out, r.promoted_model, r.settings.api.max_rows
    )
    update = r.aws.journal.endpoint_updates.last(r.endpoint_name)
    expected = _template_deployment_config(r)
    deployed = update.deployment_config if update else None
    if deployed != expected:
        raise RehearsalError(
            f"cdk deploy updated the endpoint with {deployed}, not the template's "
            f"DeploymentConfig {expected}"
        )
    if update is None or not update.retain_all_variant_properties:
        raise RehearsalError("cdk deploy did not retain the variant's properties")
    routing = expected["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    alarms = expected.get("AutoRollbackConfiguration", {}).get("Alarms", [])
    return (
        f"cdk deploy: {r.serving_stack.name} {r.serving_stack.status}; endpoint config "
        f"{r.promoted_config} -> {config}: blue/green {routing['Type']} (wait "
        f"{routing['WaitIntervalInSeconds']} s), auto-rollback on {len(alarms)} alarms, variant "
        f"properties retained; {variant} instances {before} -> {after} (autoscaled, kept); "
        f"still serves {served}: accuracy {metrics['accuracy']:.4f} = the "
        f"{r.promoted_model.label} model's"
    )


def _fleet(r: Rehearsal) -> int:
    (variant,) = r.endpoint()["ProductionVariants"]
    return int(variant["DesiredInstanceCount"])


def _template_deployment_config(r: Rehearsal) -> dict[str, Any]:
    """The template's DeploymentConfig with each alarm's Ref replaced by its name."""
    template = r.serving_stack.template
    (props,) = [
        res["Properties"]
        for res in template["Resources"].values()
        if res["Type"] == "AWS::SageMaker::Endpoint"
    ]
    config: dict[str, Any] = json.loads(json.dumps(props["DeploymentConfig"]))
    for alarm in config.get("AutoRollbackConfiguration", {}).get("Alarms", []):
        logical = alarm["AlarmName"]["Ref"]
        alarm["AlarmName"] = template["Resources"][logical]["Properties"]["AlarmName"]
    return config


# -- 9-10: report and tear down --------------------------------------------------------------


def report(r: Rehearsal) -> str:
    from rehearsal import report as reports
    from rehearsal.moto_gaps import alarms, service_model

    rows = reports.resource_rows([r.data_stack, r.serving_stack], r.aws.journal)
    print(
        reports.table(
            ("stack", "logical id", "type", "state"),
            [(x.stack, x.logical_id, x.resource_type, x.state) for x in rows],
            max_width=150,
        )
    )
    evaluations = alarms.evaluate(r.account, r.region)
    print("\nAlarms, evaluated by the rehearsal from this run's metrics (moto never does):")
    print(reports.alarms_table(r.clients.cloudwatch, evaluations))
    print(
        "\nMetrics of this run as moto's CloudWatch holds them (service metrics the "
        "rehearsal emits for Lambda, API Gateway, SageMaker and SQS; the functions' EMF):"
    )
    print(reports.metrics_table(r.clients.cloudwatch))
    if r.settings.network.private:
        _report_network(r)
    print("\nEndpoint autoscaling (Application Auto Scaling, as moto describes it):")
    print(reports.scaling_table(r.clients.autoscaling))
    counts, problems = service_model.read_journal(r.aws.request_journal)
    print(
        "\nAWS requests of the deployed functions, checked against botocore's service models "
        "(patterns, lengths, enums, required members), as AWS would before moto answers:"
    )
    print(reports.requests_table(counts, problems))
    if problems:
        r.missing.extend(f"AWS would refuse: {p}" for p in problems)
    r.missing.extend(
        f"{x.stack}/{x.logical_id} ({x.resource_type}) is missing"
        for x in rows
        if x.state.startswith("MISSING")
    )
    r.emulated, r.resources = sum(x.emulated for x in rows), len(rows)
    return (
        f"{r.emulated}/{r.resources} resources created, {r.resources - r.emulated} not emulated; "
        f"{sum(counts.values())} function requests checked, {len(problems)} refused"
    )


def _report_network(r: Rehearsal) -> None:
    from rehearsal.network_report import deployed_functions, network_report

    text, missing = network_report(
        r.clients.ec2, deployed_functions(r.account, r.region), [r.data_stack, r.serving_stack]
    )
    print("\n" + text)
    r.missing.extend(missing)


def tear_down(r: Rehearsal) -> str:
    from rehearsal.deployment import delete_stack

    network = _network_before_teardown(r)
    stacks = (r.serving_stack, r.data_stack)
    statuses = [delete_stack(r.clients, stack.name) for stack in stacks]
    r.missing.extend(
        f"tear down: {status} (expected DELETE_COMPLETE)"
        for status in statuses
        if not status.endswith("DELETE_COMPLETE")
    )
    text = ", ".join(statuses)
    if network is not None:
        from rehearsal.network_teardown import network_state, teardown_report

        vpc_id, before = network
        after = network_state(r.clients.ec2, vpc_id)
        summary, left = teardown_report(before, after, r.aws.journal.lambda_interfaces)
        r.missing.extend(left)
        text += f"; {summary}"
    while r.cleanup:
        stop_quietly(r.cleanup.pop())
    return text + "; moto, model server, Lambda workers stopped"


def _network_before_teardown(r: Rehearsal) -> tuple[str, Any] | None:
    """The private network's VPC and pieces before the stacks are deleted (None without)."""
    if not r.settings.network.private:
        return None
    from rehearsal.network_report import vpc_id_of
    from rehearsal.network_teardown import network_state

    vpc_id = vpc_id_of([r.data_stack, r.serving_stack])
    if vpc_id is None:
        r.missing.append("tear down: the data stack created no VPC")
        return None
    return vpc_id, network_state(r.clients.ec2, vpc_id)


def stop_quietly(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception as error:  # teardown goes on
        print(f"teardown: {type(error).__name__}: {error}", file=sys.stderr)


#: Deploying, the same whatever serves.
DEPLOY: tuple[tuple[str, Step], ...] = (
    (
        "Start moto on 127.0.0.1; cdk bootstrap and cdk deploy the data stack",
        deploy_data_stack,
    ),
    (
        "Upload the dataset and the model; cdk deploy the serving stack",
        deploy_serving_stack,
    ),
)
#: Serving on an endpoint: its model server, predictions through the inference function, the
#: capacity ladder.
SERVE_ENDPOINT: tuple[tuple[str, Step], ...] = (
    ("Serve the endpoint's model behind the SageMaker runtime API", serve_endpoint),
    ("Predict the held-out rows through the deployed inference function", predict),
    (
        "Measure capacity: a short Locust ladder against the endpoint's model server",
        measure_capacity,
    ),
)
#: Promoting, rejecting and watching, the same whatever serves.
PROMOTE_AND_WATCH: tuple[tuple[str, Step], ...] = (
    (
        "Register the candidate, approve it; approve a defective package (model registry)",
        register_and_approve,
    ),
    ("Upload a model to promote it, upload a corrupt one", promote_and_reject),
    (
        "Watch the model: drift and quality against the served model's training data, alarms",
        watch_the_model,
    ),
)
REDEPLOY_ENDPOINT: tuple[str, Step] = (
    "Autoscale the fleet, then cdk deploy the serving stack again (a later deploy)",
    redeploy_serving_stack,
)
REPORT: tuple[str, Step] = ("Report the deployment", report)
#: After training and synthesis (which overlap), the steps in order (an endpoint's).
SEQUENCE: tuple[tuple[str, Step], ...] = (
    *DEPLOY,
    *SERVE_ENDPOINT,
    *PROMOTE_AND_WATCH,
    REDEPLOY_ENDPOINT,
    REPORT,
)
TEAR_DOWN = "Tear down: delete both stacks, stop moto and the local servers"


def sequence(settings: Settings) -> tuple[tuple[str, Step], ...]:
    """The steps for what serves: an endpoint's, or a Lambda-hosted model's (no endpoint, no
    model server: the function's own code answers)."""
    if settings.variant.supports("sagemaker_endpoint"):
        return SEQUENCE
    from rehearsal import lambda_steps

    return (*DEPLOY, *lambda_steps.SERVE, *PROMOTE_AND_WATCH, lambda_steps.REDEPLOY, REPORT)
