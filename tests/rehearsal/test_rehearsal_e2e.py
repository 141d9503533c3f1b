"""The README's first command end to end: `python -m rehearsal` passes and says what it showed.

The runs start in the background, one after another, as soon as collection ends, and overlap
the rest of the suite (tests/background.py); these tests run last, each waiting for its run's
output."""

from __future__ import annotations

import re

import pytest

from tests.background import RUNS, Run


@pytest.fixture
def rehearsal_default() -> Run:
    """``python -m rehearsal`` as a user runs it (it trains the models when out of date)."""
    return RUNS.run("rehearsal_default")


@pytest.fixture
def rehearsal_network() -> Run:
    """``python -m rehearsal --network --engine sagemaker --framework sklearn`` (after the
    default run)."""
    return RUNS.run("rehearsal_network")


@pytest.fixture
def rehearsal_async() -> Run:
    """``python -m rehearsal --kind async`` (after the runs above: the models are current)."""
    return RUNS.run("rehearsal_async")


@pytest.fixture
def rehearsal_lambda() -> Run:
    """``python -m rehearsal --kind lambda --skip-train`` (the models of the runs above)."""
    return RUNS.run("rehearsal_lambda")


@pytest.fixture
def rehearsal_sklearn() -> Run:
    """The scikit-learn models are rehearsed in the private-network run (one run fewer:
    ``--network --engine sagemaker --framework sklearn``; it trains its own models, cached
    under .rehearsal/models/sklearn/)."""
    return RUNS.run("rehearsal_network")


@pytest.mark.slow
def test_python_m_rehearsal_deploys_serves_predicts_promotes_and_rejects(rehearsal_default):
    output = rehearsal_default.output()
    # Deployed with the CDK CLI, as users do.
    assert "cdk bootstrap: CDKToolkit; cdk deploy: mlserving-local-data CREATE_COMPLETE" in output
    assert "cdk deploy: mlserving-local-serving CREATE_COMPLETE" in output
    created = re.search(r"(\d+)/(\d+) resources created, (\d+) not emulated", output)
    assert created, output[-3000:]
    assert int(created[1]) + int(created[3]) == int(created[2])
    assert "MISSING" not in output
    # accuracy and AUC through Lambda -> endpoint equal the training metrics (checked in-process
    # to 1e-6; the line is printed only when they match)
    assert re.search(r"\d+ rows via lambda:Invoke\(.+\) -> InvokeEndpoint: accuracy", output)
    assert "= training metrics; POST " in output  # the REST API answers the same
    assert re.search(r"data capture: [1-9]\d* request/response records under s3://", output)
    assert re.search(r"IAM enforced \(probe: \S+'s role may not ssm:PutParameter\)", output)
    assert re.search(
        r"registered \S+:model-package/mlserving-local/\d+ \(PendingManualApproval\) -> approved "
        r"-> promoted: endpoint config \S+ -> \S+, /mlserving/local/model-data-url = s3://",
        output,
    )
    assert re.search(r"-> Rejected in the registry: \"Rejected by the promotion .+not-gzip", output)
    assert re.search(r"promoted models/initial-.+ endpoint config .+ -> ", output)
    # Watching the model: the in-account monitor's real analyzer (Evidently) on the captured
    # traffic: no drift on the held-out rows, whose labels score as training measured; drift on
    # exactly the three shifted features, their alarms in ALARM, the topic notified.
    assert "image stood in for (no docker): cdk-hnb659fds-container-assets-" in output
    assert re.search(
        r"the in-account monitor's real analyzer \(mlserving-local-drift-monitor, Evidently.+ "
        r"(\d+) held-out rows, one request each: no drift; model quality from \1 uploaded "
        r"labels: AUC [\d.]+, accuracy [\d.]+ \(= training's for the initial model\)",
        output,
    )
    assert re.search(
        r"drift on exactly those \(mean_perimeter K-S p_value \S+ vs 0.05, .+\); alarms "
        r"mlserving-local-drift-\S+, mlserving-local-drift-\S+, mlserving-local-drift-\S+ in "
        r"ALARM -> notified mlserving-local-alarms; report s3://\S+/monitoring/reports/own/\S+"
        r"/report.html",
        output,
    )
    assert re.search(
        r"Retraining: the alarms' state change \(EventBridge\) started mlserving-local-retrain-"
        r"\d{10} \(one job for 3 alarms\) on \S+/tensorflow-training:",
        output,
    )
    # the deployed schedule's own input reaches the analyzer (moto never fires it)
    assert re.search(
        r"Schedule mlserving-local-drift-monitor \(cron\(0 \* \? \* \* \*\), "
        r"role/mlserving-local-drift-schedule\) fires it with "
        r"\{\"scheduled_time\":\"<aws.scheduler.scheduled-time>\"\}: at \d\d:00 it analyzes "
        r"\S+:00:00Z\.\.\S+:00:00Z, every request of the hour so far.+"
        r"\((analyzed|too-few-rows), \d+ rows",  # too few only just after an hour begins
        output,
    )
    assert re.search(r"Rejected models/corrupt-.+endpoint config still on", output)
    # the corrupt upload's rejection reaches its alarm through the promotion's metrics
    assert re.search(r"\S*promotion\S* .+ ALARM .+notified", output)
    # A later `cdk deploy` (the SSM parameter now names the promoted model) keeps the fleet that
    # autoscaling set, moves blue/green with the alarms, and still serves the promoted model.
    redeploy = re.search(
        r"cdk deploy: mlserving-local-serving UPDATE_COMPLETE; endpoint config \S+ -> \S+: "
        r"blue/green (\w+) .+auto-rollback on (\d) alarms, variant properties retained; "
        r"AllTraffic instances (\d+) -> (\d+) .+still serves \S+/models/releases/",
        output,
    )
    assert redeploy, output[-6000:]
    assert redeploy[2] == "3" and redeploy[3] == redeploy[4] == "2"
    # Every request of the deployed functions passed botocore's service-model check.
    checked = re.search(r"(\d+) function requests checked, 0 refused", output)
    assert checked and int(checked[1]) > 20
    assert "DELETE_COMPLETE" in output
    # The capacity step: a Locust ladder through the runtime API, 0 errors, a recommendation.
    assert re.search(
        r"\d+ InvokeEndpoint requests \(Locust, boto3\) to mlserving-local-\S+: sustained "
        r"[\d.]+/s with p99 \d+ ms <= 300 ms, 0 errors .+target_invocations_per_instance would be "
        r"\d+",
        output,
    )
    assert re.search(r"^ *rate/s +achieved/s +requests +p50 ms +p99 ms", output, re.MULTILINE)
    for step in range(1, 14):
        assert re.search(rf"^{step}\. .+\d+\.\d s", output, re.MULTILINE), f"step {step} untimed"
    assert "REHEARSAL PASSED" in output


@pytest.mark.slow
def test_python_m_rehearsal_network_runs_everything_in_the_private_network(rehearsal_network):
    """`--network` (network.mode: create) with Model Monitor (`--engine sagemaker`): the VPC,
    its endpoints and groups exist in moto, the functions carry their VpcConfig and Lambda's
    interfaces, everything still answers, Model Monitor's stand-in runs, and the teardown
    leaves nothing (with the scikit-learn models: see the framework test)."""
    output = rehearsal_network.output()
    network = output[output.index("Private network (moto):") : output.index("Endpoint autoscaling")]
    assert re.search(r"^VPC\s+vpc-\w+\s+10\.\d+\.0\.0/16\s+mlserving-local-vpc", network, re.M)
    assert len(re.findall(r"^subnet\s+subnet-\w+ .+ in us-east-1[a-z]", network, re.M)) == 2
    assert re.search(r"^internet gateways\s+0\s*$", network, re.M)
    assert re.search(r"^NAT gateways\s+0\s*$", network, re.M)
    assert "VPC endpoints (12):" in network
    for service in ("sagemaker.runtime", "sagemaker.api", "s3 ", "logs", "kms", "sts", "ecr.dkr"):
        assert f"com.amazonaws.us-east-1.{service}" in network, service
    groups = network[network.index("Security groups") : network.index("Functions:")]
    assert "0.0.0.0/0" not in groups
    functions = network[network.index("Functions:") :]
    for name in ("InferenceApiFunction", "PromotionFunction", "RetrainingFunction"):
        assert re.search(rf"^{name}\w+\s+2 subnets", functions, re.M), name
    # Model Monitor (engine sagemaker) in the private network: the stand-in analyzer on the
    # deployed schedule's definition.
    assert re.search(
        r"STAND-IN for Model Monitor's analyzer .+ baseline s3://\S+ = the served", output
    )
    assert re.search(r"\d+ held-out rows: 0 violations", output)
    assert re.search(
        r"baseline_drift_check violations on exactly those .+ alarms "
        r"mlserving-local-drift-\S+, mlserving-local-drift-\S+, mlserving-local-drift-\S+ in "
        r"ALARM -> notified mlserving-local-alarms",
        output,
    )
    # Teardown: Lambda's interfaces (3 functions x 2 subnets) go with their functions, each
    # deleted before the policy that lets its role delete them; nothing of the network is left.
    assert re.search(
        r"DELETE_COMPLETE; network: 6 Lambda interfaces at deploy, 6 released by Lambda .*"
        r"0 stranded; VPC, 2 subnets, \d+ security groups, 12 endpoints deleted; nothing left",
        output,
    )
    assert "REHEARSAL PASSED" in output


@pytest.mark.slow
def test_python_m_rehearsal_kind_async_predicts_through_the_async_api(rehearsal_async):
    """``--kind async`` (measured on the 2-core machine: the run's own wall time about 25 s
    when the models are reused, as after the runs above): the endpoint as an asynchronous one,
    predictions through POST /predict-async and GET /predict-async/{id}, results written by the
    async stand-in, promotions keeping the AsyncInferenceConfig, the scale-to-zero policies
    deployed."""
    output = rehearsal_async.output()
    assert re.search(
        r"\d+ rows via lambda:Invoke\(.+\): POST /predict-async -> s3 async/input/ \+ "
        r"InvokeEndpointAsync \(202\), GET /predict-async/\{id\} -> the results: accuracy .+ = "
        r"training metrics; \S+/predict-async answers the same; async: ([1-9]\d*) results "
        r"written under async/output/ \(SSE-KMS\), \1 success notifications published",
        output,
    ), output[-6000:]
    assert "(AsyncInferenceConfig copied: output, failures, KMS key, topics)" in output
    assert re.search(r"target +endpoint/mlserving-local-async-\S+ +\S+ 0-2", output)
    assert "StepScaling: ChangeInCapacity +1 at >= 0" in output
    assert "ApproximateBacklogSizePerInstance -> 5" in output
    assert "sagemaker-runtime.InvokeEndpointAsync" in output
    assert "InvokeEndpointAsync runs nothing" not in output.split("moto gaps that remain")[-1]
    assert "Asynchronous inference is stood in for, not emulated" in output
    assert "REHEARSAL PASSED" in output


@pytest.mark.slow
def test_python_m_rehearsal_kind_lambda_serves_the_model_inside_its_function(rehearsal_lambda):
    """``--kind lambda``: no endpoint; the ONNX export served by onnxruntime inside the
    deployed function (its layer mounted, Lambda's builds run as this machine's same-version
    ones), predictions = training metrics through the alias and the REST API, the function's
    own SageMaker-format capture, the capacity ladder's provisioned-concurrency advice,
    promotions (registry and upload) through CodeDeploy's stand-in, rejections, the monitor on
    the function's capture, and a later cdk deploy that keeps the promoted version."""
    output = rehearsal_lambda.output()
    assert re.search(
        r"function:mlserving-local-model:live -> mlserving-local-model:1 serves s3://\S+ "
        r"\(onnxruntime in the function, no endpoint\); its layer's builds for Lambda .+ run "
        r"as this machine's: .*numpy \S+ \(the same here\), onnxruntime \S+ \(the same here\)",
        output,
    ), output[-6000:]
    assert re.search(
        r"114 rows via lambda:Invoke\(\S+:live\): accuracy 0\.\d+, AUC 0\.\d+ = training "
        r"metrics .+ answers the same; data capture: [1-9]\d* request/response records",
        output,
    )
    # the capacity step (rehearsal.capacity_step.measure_function_capacity) on the alias
    assert re.search(
        r"\d+ Invoke requests \(Locust, boto3, POST /predict proxy events\) to \S+:live: "
        r"sustained [\d.]+/s with p99 \d+ ms <= \d+ ms, 0 errors, 0 throttled .+; provisioned "
        r"concurrency would be \d+ = ceil\([\d.]+/s x [\d.]+ s / 0\.5\) .+size nothing real",
        output,
    )
    assert re.search(r"-> approved -> promoted: alias live version 1 -> version 2", output)
    assert re.search(r"promoted models/initial-\S+: alias live version 2 -> version 3", output)
    assert re.search(r"Rejected models/corrupt-\S+ .+alias live still on version 3", output)
    assert re.search(r"drift on exactly those", output)
    assert re.search(r"alias live: version 3 -> version 3; still serves", output)
    assert re.search(r"CodeDeploy deployments of the promotions: 1 -> 2 with \S+ \(shares", output)
    assert "REHEARSAL PASSED" in output


@pytest.mark.slow
def test_python_m_rehearsal_framework_sklearn_runs_the_whole_sequence(rehearsal_sklearn):
    """``--framework sklearn``, in the private-network run (measured on the 2-core machine:
    about 50 s of wall time alone with training, 6 s of it): its trainer's two models, served
    by the local server's scikit-learn
    loader, predicted through the deployed inference function as training measured, promoted
    on approval and on upload with the script-mode container environment, the corrupt upload
    rejected, drift watched, redeployed. Only one framework runs here: the sequence is the
    same for each (PyTorch and XGBoost are rehearsed by hand, README); a run per framework
    would add about a minute each to the suite."""
    output = rehearsal_sklearn.output()
    assert "framework sklearn: serving 1.9-0, training 1.9-0 (SageMaker scikit-learn)" in output
    assert re.search(r"initial: (trained|reused), accuracy .+; candidate: (trained|reused)", output)
    assert re.search(r"\d+ rows via lambda:Invoke\(.+\) -> InvokeEndpoint: accuracy", output)
    assert "= training metrics; POST " in output
    environment = (
        r"container environment of mlserving-local-p-\S+: SAGEMAKER_CONTAINER_LOG_LEVEL=20, "
        r"SAGEMAKER_PROGRAM=inference\.py, SAGEMAKER_REGION=us-east-1, "
        r"SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code"
    )
    assert re.search(
        r"-> approved -> promoted: .+ = the candidate's training metrics; " + environment, output
    )
    assert re.search(
        r"promoted models/initial-.+ = the initial model's training metrics; " + environment, output
    )
    assert re.search(r"Rejected models/corrupt-\S+ \(the object does not start with", output)
    assert re.search(
        r"started mlserving-local-retrain-\d{10} \(one job for \d+ alarms\) on \S+/"
        r"sagemaker-scikit-learn:1\.9-0-cpu-py3 \(train\.py --framework sklearn\)",
        output,
    )
    assert "REHEARSAL PASSED" in output
