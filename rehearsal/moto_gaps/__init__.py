"""Everything the rehearsal adds to moto, in one place, pinned to moto 5.2.5.

moto emulates the AWS APIs in memory, but version 5.2.5 has gaps that would make the local
rehearsal untrue or stuck. This package closes the ones it can and *lists* the ones it cannot
(:data:`GAPS`), so the rehearsal reports them instead of pretending. :func:`install` applies
every patch once per process and returns a :class:`~.journal.Journal` of what the patches
recorded (the rehearsal keeps it on its run: ``LocalAws.journal``); :func:`uninstall` puts
moto back as released. The map:

CloudFormation resources
- :mod:`.shims`: one module a service (``application_autoscaling``, ``api_gateway``,
  ``awslambda``, ``cloudwatch``, ``codedeploy``, ``ec2``, ``s3``, ``sagemaker``,
  ``scheduler``, ``sns``, ``sqs``) creates the types moto skips through moto's own APIs,
  each registered in ONE registry (``shims/registry.py``: ``SHIMS``, ``emulated_types()``,
  ``not_emulated_reason()``); ``not_emulated.py`` records every type with no model at all.
- :mod:`.buckets`: the bucket settings moto drops (applied at creation, journaled per
  bucket) and bucket-policy conditions; :mod:`.kms`: tagged keys;
  :mod:`.sagemaker_names`: explicit and 63-character SageMaker names; :mod:`.function_layers`:
  a function's layers (moto drops them).
- :mod:`.stack_updates`: stack updates (SSM parameter types resolved again, replaced
  resources' dependents, ``UsePreviousValue`` of defaults); :mod:`.custom_resources`:
  custom resources answer before their dependents; :mod:`.network` and
  :mod:`.lambda_network`: private networking, Lambda's interfaces, the order of deletion.
- :mod:`.public_parameters`: the Powertools layer's public SSM parameters.

APIs
- :mod:`.endpoint_updates`: UpdateEndpoint (also CloudFormation's in-place endpoint update),
  the one emulator the rehearsal and the tests share; :mod:`.lambda_deployments`: CodeDeploy's
  Lambda deployments (AppSpec, alias shifting, alarm rollback, the state-change event), shared
  the same way.
- :mod:`.registry`: Model Registry events and cross-account reads; :mod:`.monitoring`:
  monitoring schedules; :mod:`.alarms`: alarm evaluation; :mod:`.iam`: authorization.
- :mod:`.lambda_runner`: a docker-free Lambda runtime that runs the deployed code zip's real
  handler in a warm worker process per function, for ``Invoke``, SQS event-source mappings
  (polled in the background, like the Lambda service does) and EventBridge targets.
- :mod:`.api_gateway` and :mod:`.async_inference`: the execute-api and asynchronous-inference
  stand-ins; :mod:`.service_model`: every request checked against botocore's service model.

Each module installs through :class:`._patching.Installer` (once per process, reversible).
The patches reach into moto's internals, so they refuse any other moto version.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

MOTO_VERSION = "5.2.5"

_installed = metadata.version("moto")
if _installed != MOTO_VERSION:
    raise ImportError(
        f"rehearsal.moto_gaps patches moto {MOTO_VERSION} internals, but moto {_installed} is "
        f"installed; pin moto[server]=={MOTO_VERSION} (requirements-dev.txt) or port the patches"
    )

from rehearsal.moto_gaps._patching import Installer, uninstall_all  # noqa: E402 (after the pin)

if TYPE_CHECKING:
    from rehearsal.moto_gaps.journal import Journal


@dataclass(frozen=True)
class Gap:
    """One difference between moto 5.2.5 and AWS that matters to this product."""

    name: str
    closed: bool
    detail: str


GAPS: tuple[Gap, ...] = (
    Gap(
        "Lambda needs docker",
        True,
        "closed: the deployed zip's handler runs in a warm local worker process per function "
        "(Invoke and SQS event-source mappings), its layers unpacked as Lambda mounts them. It "
        "runs on the rehearsal's Python and packages (not the declared runtime version or "
        "architecture); memory size and reserved concurrency are not enforced.",
    ),
    Gap(
        "No Lambda metrics without docker",
        True,
        "closed: each invocation records AWS/Lambda Invocations, Errors and Duration, and the "
        "metrics of the function's Embedded Metric Format log lines, in moto's CloudWatch.",
    ),
    Gap(
        "Alarms are never evaluated",
        True,
        "closed: the rehearsal evaluates every alarm from the run's metrics (metric math: "
        "+ - * /, comparisons, FILL, IF) and notifies its SNS actions on ALARM.",
    ),
    Gap(
        "Alarm evaluation is simplified",
        False,
        "open: the whole window (EvaluationPeriods x Period) is one datapoint, "
        "DatapointsToAlarm is not applied, other metric-math functions are not evaluated, and "
        "evaluation runs only when the rehearsal asks (the drift step, the report), so the "
        "promotion's alarm-based rollback is not exercised. A transition publishes 'CloudWatch "
        "Alarm State Change' to EventBridge as CloudWatch does.",
    ),
    Gap(
        "SQS event-source mapping delivers inside SendMessage",
        True,
        "closed: deliveries run on a background poller, honouring visibility timeouts, "
        "redrive to the DLQ and ReportBatchItemFailures.",
    ),
    Gap(
        "Application Auto Scaling, CloudWatch alarms, bucket/queue/topic policies, SNS "
        "subscriptions, API Gateway stages and settings, Lambda EventInvokeConfig skipped by "
        "CloudFormation",
        True,
        "closed (shims/): created through moto's own APIs, so describe-* calls show them. "
        "Nothing scales the endpoint locally; e-mail subscriptions never deliver; the runner "
        "applies no EventInvokeConfig retry policy or destination.",
    ),
    Gap(
        "KMS keys with Tags fail in CloudFormation",
        True,
        "closed (kms.py): CloudFormation's {Key, Value} tags are converted to KMS's {TagKey, "
        "TagValue}, and a KeyPolicy object is stored as the JSON text KMS's API keeps.",
    ),
    Gap(
        "AWS public SSM parameters (the Powertools layer ARN) do not exist",
        True,
        "closed: the Powertools layer parameters a template resolves are seeded with a layer "
        "version of empty content; the runner's interpreter provides the pinned Powertools.",
    ),
    Gap(
        "SageMaker explicit names ignored",
        True,
        "closed: EndpointName/EndpointConfigName/ModelName from the template are honoured, and "
        "generated ones stay within SageMaker's 63 characters (moto's are longer).",
    ),
    Gap(
        "SageMaker UpdateEndpoint missing",
        True,
        "closed (endpoint_updates.py, the emulator the tests use too): the endpoint is "
        "'Updating' for a second (the old config serves; a second update, or one to the "
        "config in use, is refused), then serves the new config, is 'InService' and publishes "
        "the 'SageMaker Endpoint State Change' event to EventBridge. RetainAllVariantProperties "
        "keeps the instance count and weight unless ExcludeRetainedVariantProperties names "
        "them; data capture follows the new config. Blue/green DeploymentConfig (canary split, "
        "waits, alarm auto-rollback) is recorded and shown, not simulated; "
        "RetainDeploymentConfig is ignored.",
    ),
    Gap(
        "CodeDeploy deploys nothing to Lambda; no CloudFormation for CodeDeploy",
        True,
        "closed (lambda_deployments.py, the stand-in the tests use too; shims/codedeploy.py): "
        "AWS::CodeDeploy::Application, DeploymentGroup and DeploymentConfig are created "
        "through moto's CodeDeploy API from the template; CreateDeployment checks the Lambda "
        "AppSpec (version 0.0, one "
        "AWS::Lambda::Function with Name, Alias, CurrentVersion = the alias's version, "
        "TargetVersion published), refuses a second active deployment of the group, shifts the "
        "alias through the predefined or the template's custom canary, linear or all-at-once "
        "config "
        "(RoutingConfig.AdditionalVersionWeights), rolls back when a rollback alarm is in ALARM "
        "at a step, and publishes 'CodeDeploy Deployment State-change Notification' (SUCCESS or "
        "FAILURE) to EventBridge; GetDeploymentConfig answers both kinds of config. "
        "AWS::Lambda::Alias (no moto model) is created and updated through moto's Lambda API "
        "(shims/awslambda.py), AWS::Lambda::Version is published there too (Ref its ARN, "
        "Fn::GetAtt Version its number), and "
        "functions carry a RevisionId that UpdateFunctionConfiguration and PublishVersion "
        "check, with PublishVersion's CodeSha256.",
    ),
    Gap(
        "Lambda deployments are stood in for, not emulated",
        False,
        "open: the canary and linear waits are a second a step locally (minutes on AWS); "
        "lifecycle hooks (BeforeAllowTraffic/AfterAllowTraffic), "
        "YAML AppSpecs, StopDeployment and the STOP state are not emulated; an alarm in ALARM "
        "always rolls back (the group's AutoRollbackConfiguration is not consulted); the "
        "alias's RoutingConfig weights are stored, not applied to invocations; the alias is "
        "shifted with the operator's credentials, not the deployment group's service role; "
        "moto applies a function configuration at once (LastUpdateStatus is always "
        "Successful, so the promotion's bounded wait and its Failed path are tested with "
        "fakes only); a `cdk deploy` that changes the alias's version moves it directly (moto "
        "ignores the CodeDeployLambdaAliasUpdate UpdatePolicy), so only a promotion's shift "
        "goes through CodeDeploy locally; the rollback alarms are evaluated only when the "
        "rehearsal asks (see 'Alarm evaluation is simplified').",
    ),
    Gap(
        "CloudFormation replaces an updated SageMaker endpoint",
        True,
        "closed: an AWS::SageMaker::Endpoint update that keeps its name calls UpdateEndpoint "
        "with the template's DeploymentConfig and retained variant properties, as "
        "CloudFormation does (moto 5.2.5 deletes and recreates it, losing the fleet).",
    ),
    Gap(
        "UpdateStack ignores a changed SSM parameter value",
        True,
        "closed (stack_updates.py): an update of an unchanged template proceeds when one of its "
        "AWS::SSM::Parameter::Value parameters now resolves to another value, as CloudFormation "
        "resolves them again on every update (moto answers 'No updates are to be performed'); "
        "what references that parameter, or a resource replaced by the update (a new SageMaker "
        "Model or EndpointConfig name), is updated too; and UsePreviousValue of a defaulted "
        "parameter is its default (moto: KeyError).",
    ),
    Gap(
        "cdk deploy: change sets leave outputs empty; 127.0.0.1 template URLs",
        True,
        "closed on the CLI's side: the rehearsal deploys with `cdk deploy --method=direct` "
        "(moto's ExecuteChangeSet creates resources but no outputs or exports, so the serving "
        "stack's imports would fail) and points the CLI at http://localhost:PORT (moto reads a "
        "TemplateURL on 127.0.0.1 as bucket '127'). Change-set deployments are not rehearsed.",
    ),
    Gap(
        "cdk deploy runs as the operator, not through the bootstrap roles",
        False,
        "open: moto's authorizer cannot evaluate the CDK bootstrap roles (a trust policy naming "
        "the account root, Fn::If/AWS::NoValue statements, inline policies created by "
        "CloudFormation), so the CLI cannot assume the deploy and file-publishing roles; it "
        "says so and deploys with the operator's credentials, as it does on AWS when a role "
        "cannot be assumed. The bootstrap roles' permissions are not rehearsed.",
    ),
    Gap(
        "moto accepts requests AWS refuses",
        True,
        "closed: every request of the rehearsal and of the deployed functions is checked "
        "against botocore's service model first (required members, types, lengths, string "
        "patterns, enums); one that AWS would refuse fails the rehearsal. Service-side rules "
        "that are not in the model (key policies, cross-field rules) stay unchecked.",
    ),
    Gap(
        "No Model Registry events; no cross-account package reads; no group resource policy",
        True,
        "closed: creating a model package or changing its approval status publishes 'SageMaker "
        "Model Package State Change' to EventBridge; a package is readable by its ARN from "
        "another account; AWS::SageMaker::ModelPackageGroup is created from the template. The "
        "group's resource policy is not stored or evaluated (moto has no such API).",
    ),
    Gap(
        "No monitoring schedules; no CloudFormation for Model Monitor job definitions",
        True,
        "closed: CreateMonitoringSchedule, Describe, List, Update and Delete are kept per "
        "account and region in the API's shape, and AWS::SageMaker::DataQualityJobDefinition, "
        "ModelQualityJobDefinition and MonitoringSchedule are created through moto's and this "
        "API from the template.",
    ),
    Gap(
        "EventBridge rules deliver to SQS, log groups and buses only",
        True,
        "closed: Lambda targets are invoked asynchronously through the runner and SNS targets "
        "publish the target's input (or the event). Retry policies and target dead-letter "
        "queues are not applied.",
    ),
    Gap(
        "Training jobs do not run",
        False,
        "open: CreateTrainingJob is recorded and reported Completed at once, with no output "
        "and no 'SageMaker Training Job State Change' event; a job name in use is accepted "
        "again (AWS refuses it), and ListTrainingJobs applies MaxResults before its filters "
        "and ignores SortBy. The retraining function's start is shown; its outcome report is "
        "tested in the suite.",
    ),
    Gap(
        "Custom resources answer after their dependents are created",
        True,
        "closed: the stack waits for the function's answer (moto invokes it in the background, "
        "so the security group rule that reads the S3 prefix list id got nothing) and a FAILED "
        "answer fails the stack; a new stack's resources are created in dependency order "
        "before its exports are read (moto created an exported resource first); CDK's "
        "Custom::VpcRestrictDefaultSG (a Node.js function) is done by a shim that removes the "
        "default group's rules.",
    ),
    Gap(
        "Security groups keep EC2's default egress rule",
        True,
        "closed: moto ignores a group's SecurityGroupEgress in a template and keeps 'all "
        "traffic to 0.0.0.0/0' beside AWS::EC2::SecurityGroupEgress rules; the shims replace "
        "it with the group's rules, as CloudFormation does (the report lists each group's "
        "rules).",
    ),
    Gap(
        "InvokeEndpointAsync runs nothing",
        True,
        "closed (rehearsal only, async_inference.py): the SageMaker runtime stand-in answers "
        "InvokeEndpointAsync with 202, InferenceId and output/failure locations under the "
        "endpoint config's S3OutputPath/S3FailurePath, then reads the input object, calls the "
        "local model server, writes the result (or the error) with SSE-KMS under the config's "
        "KmsKeyId and publishes SageMaker's success or error notification to its topics "
        "(moto 5.2.5 answers canned locations in a bucket of its own and writes nothing).",
    ),
    Gap(
        "Provisioned concurrency and the alias's CodeDeploy update policy",
        False,
        "open: moto 5.2.5 has no provisioned concurrency (the alias's "
        "ProvisionedConcurrencyConfig and its scheduled scaling are recorded, nothing is kept "
        "warm, ProvisionedConcurrencySpilloverInvocations never occurs), and CloudFormation's "
        "CodeDeployLambdaAliasUpdate policy is not run: a `cdk deploy` that publishes a new "
        "version moves the alias at once instead of through the deployment group's steps. "
        "AWS::Lambda::Version is published by a shim (shims/awslambda.py: Ref its ARN, GetAtt "
        "Version its number).",
    ),
    Gap(
        "A function package built for Lambda's platform",
        False,
        "open: the runner mounts a function's layers as Lambda does (/opt/python after the "
        "task root), but the Lambda-hosted model's layer carries onnxruntime, numpy and their "
        "dependencies built for Lambda (manylinux, its architecture, python3.13): the runner "
        "removes those builds and runs this machine's installation instead, and the serve step "
        "says which versions that is (foreign_builds.py; onnxruntime and numpy are pinned equal "
        "on both sides). That the Lambda build itself loads on Lambda, on arm64, is not proven "
        "here.",
    ),
    Gap(
        "Asynchronous inference is stood in for, not emulated",
        False,
        "open: no queue limits (MaxConcurrentInvocationsPerInstance, request TTL, invocation "
        "timeout); no ApproximateBacklogSize(PerInstance) or HasBacklogWithoutCapacity "
        "metrics, so the backlog policy and the wake-from-zero alarm never act and the fleet "
        "never reaches zero; the stand-in reads and writes S3 and publishes to SNS with the "
        "operator's credentials, not the execution role's, and the topics' TLS-only policy is "
        "not applied; SageMaker's output object names and notification format follow the "
        "documentation, unverified against a real endpoint.",
    ),
    Gap(
        "Lambda's network interfaces and the order of a stack's deletion",
        True,
        "closed (lambda_network.py): moto creates no interface for a function in a VPC, "
        "deletes a stack's resources in no order and deletes subnets and groups still in use. "
        "A function with VpcConfig now gets Lambda's Hyperplane interfaces (one per subnet and "
        "group combination, shared), released when its last function is deleted only if that "
        "function's role may still ec2:DeleteNetworkInterface; EC2 refuses to delete a subnet "
        "or group an interface uses; CloudFormation's deletion runs dependents first, and VPC "
        "endpoints and route tables (which moto never deleted with their stack, keeping the VPC) "
        "are deleted with it (network.py). Lambda's wait for the interfaces (minutes on AWS) is "
        "immediate here.",
    ),
    Gap(
        "VPC placement is recorded, not enforced",
        False,
        "open: with --network the VPC, subnets, endpoints, flow log and security groups exist "
        "in moto and the functions carry their VpcConfig (and Lambda's interfaces), but nothing "
        "routes through them: the functions still reach moto directly, security group rules "
        "and endpoint policies are not applied (the DeployPreconditions pack checks the "
        "policies and permissions on every synth instead), and interface endpoints' private "
        "DNS does not exist.",
    ),
    Gap(
        "The in-account monitor's image and schedule are stood in for",
        False,
        "open: no docker builds or runs the analyzer's image: the rehearsal puts a manifest "
        "with the asset's tag into moto's ECR (images.py) and the Lambda runner runs the "
        "image's own code (its Dockerfile's CMD, from its build context) on the rehearsal's "
        "Python and packages, the versions the image's requirements.txt pins, not its Python "
        "3.12 base; memory and timeout are not enforced. EventBridge Scheduler never fires in "
        "moto: the rehearsal reads the deployed schedule (shims/scheduler.py creates it from the "
        "template) and invokes its target with its own input and the time Scheduler would put "
        "in, and with explicit windows for the calm and the shifted traffic. "
        "Reading a whole hour of a busy fleet's capture through the VPC is measured only for "
        "parsing and analysis (benchmarks/monitor_benchmark.py), not for S3 throughput.",
    ),
    Gap(
        "Signed requests moto refuses (CloudWatch, Scheduler)",
        True,
        "closed (iam.py): botocore sends a PutMetricData body of 10 KB or more gzip-compressed "
        "and moto 5.2.5 checks its signature over the decompressed body; it checks a "
        "rest-json GET or DELETE without a body (Scheduler's) over the request's headers; both "
        "fail as SignatureDoesNotMatch. And moto names CloudWatch's actions after its signing "
        "name (monitoring:PutMetricData), which no policy grants. Compressed requests skip the "
        "signature check, bodiless GETs and DELETEs are checked over the empty payload, and "
        "CloudWatch's actions are named cloudwatch:*.",
    ),
    Gap(
        "No AWS::Scheduler::Schedule in moto's CloudFormation",
        True,
        "closed (shims/scheduler.py): the schedule is created through moto's Scheduler API as "
        "deployed (expression, time zone, target, role, input, retry policy) and deleted with "
        "its stack; moto never fires it.",
    ),
    Gap(
        "Model Monitor's analyzer does not run (engine: sagemaker)",
        False,
        "open: with --engine sagemaker, the analyzer is a container (no docker here), and "
        "nothing starts a schedule's "
        "executions. The rehearsal stands in for one data-quality execution: it reads the "
        "deployed job definition, runs the model's record preprocessor on the captured "
        "requests and checks them against the served model's baseline with the documented "
        "constraint semantics (completeness, data type, baseline drift as Deequ's robust "
        "L-infinity distance of the KLL sketches); it publishes feature_baseline_drift_<name> "
        "as the analyzer would. Model-quality executions (the merge with ground truth) are not "
        "stood in for; the real analyzer's metric dimensions and drift values may differ.",
    ),
    Gap(
        "Bucket versioning, public-access block, lifecycle, ownership, EventBridge "
        "notifications dropped by CloudFormation",
        True,
        "closed: applied through moto's S3 APIs when the bucket is created (access logging as "
        "S3 stores it: moto never delivers access logs; lifecycle rules never expire objects).",
    ),
    Gap(
        "REST API invocation URLs not served in server mode (AWS_PROXY ignored)",
        True,
        "closed: an execute-api stand-in serves /{api_id}/{stage}/{path} and runs Lambda proxy "
        "integrations through the runner.",
    ),
    Gap(
        "API Gateway request handling",
        False,
        "open: stage throttling, usage plans, request validators/models, gateway responses, "
        "authorizers, resource policies and access logs are stored but not applied; the "
        "function's own validation answers instead.",
    ),
    Gap(
        "Bucket-policy conditions not evaluated",
        False,
        "open: moto applies a statement's effect without its Condition, so the enforce-SSL deny "
        "would block every request; statements with a Condition are skipped instead. TLS is "
        "not exercised locally (moto serves plain HTTP on 127.0.0.1).",
    ),
    Gap(
        "moto does not authorize requests",
        True,
        "closed: authorization is on; the rehearsal acts as an operator user and every "
        "function signs its calls with its own execution role (AssumeRole), so a missing action "
        "fails the rehearsal.",
    ),
    Gap(
        "IAM evaluation is partial",
        False,
        "open: moto names the resource of S3 requests only, so elsewhere a scoped statement is "
        "checked by action alone; conditions, iam:PassRole, KMS key policies and resource "
        "policies (bucket, queue, topic, model package group, event bus) are not evaluated; the "
        "local model server does not check sagemaker:InvokeEndpoint.",
    ),
    Gap(
        "SageMaker endpoints run no container",
        False,
        "open: the rehearsal serves the artifact that the endpoint's model names with the "
        "model code's local server (the artifact's code/inference.py and its model, loaded by "
        "the framework's loader), not the framework's serving image (TensorFlow Serving, or "
        "the script-mode container that SAGEMAKER_PROGRAM points at the handler: the "
        "rehearsal checks that variable in every promoted model, not that the image honours "
        "it). Its runtime front writes data capture (one file per request; SageMaker "
        "buffers) and AWS/SageMaker invocation metrics; instance metrics (CPU, memory) and "
        "autoscaling actions do not exist locally.",
    ),
    Gap(
        "Capacity and scaling policies are not exercised on SageMaker",
        False,
        "open: the capacity step measures the local model server on this machine (one "
        "process, shared cores), not an ML instance, so its rate only rehearses the method; "
        "scheduled actions, the CPU and high-resolution concurrency policies and serverless "
        "provisioned concurrency are pinned in the templates only (no scaling happens "
        "locally). `python -m deploy_tools.capacity --endpoint-name` and "
        "`python -m deploy_tools.recommend_instance` measure the real thing (README, "
        "'Scaling on evidence').",
    ),
    Gap(
        "Resource types with no moto model",
        False,
        "open: recorded with their properties and reported as not emulated (see the "
        "resource table).",
    ),
)


def open_gaps() -> list[Gap]:
    """The gaps that remain, for the README and the rehearsal's report."""
    return [gap for gap in GAPS if not gap.closed]


def _install_all() -> Journal:
    from rehearsal.moto_gaps import (
        buckets,
        custom_resources,
        endpoint_updates,
        function_layers,
        kms,
        lambda_deployments,
        lambda_network,
        lambda_runner,
        monitoring,
        network,
        registry,
        sagemaker_names,
        shims,
        stack_updates,
    )
    from rehearsal.moto_gaps.journal import Journal

    # Each part is what its install records into (already installed: the one it had).
    journal = Journal(
        not_emulated=shims.INSTALL.install({}),
        bucket_settings=buckets.INSTALL.install({}),
        endpoint_updates=endpoint_updates.INSTALL.install(endpoint_updates.EndpointUpdates()),
        lambda_interfaces=lambda_network.INSTALL.install(lambda_network.InterfaceJournal()),
        lambda_deployments=lambda_deployments.INSTALL.install(
            lambda_deployments.LambdaDeployments()
        ),
    )
    sagemaker_names.INSTALL.install()
    function_layers.INSTALL.install()
    kms.INSTALL.install()
    stack_updates.INSTALL.install()
    network.INSTALL.install()
    registry.INSTALL.install()
    monitoring.INSTALL.install()
    custom_resources.INSTALL.install()
    lambda_runner.INSTALL.install()
    return journal


_INSTALL = Installer(_install_all)


def install() -> Journal:
    """Apply every patch (once per process, until :func:`uninstall`); returns the journal
    they record into. Configure the Lambda runner with ``lambda_runner.install(settings)``."""
    return _INSTALL.install()


def uninstall() -> None:
    """Stop the runner and the receivers, undo every patch: moto behaves as released again."""
    uninstall_all()


__all__ = ["GAPS", "MOTO_VERSION", "Gap", "install", "open_gaps", "uninstall"]
