"""The local AWS the rehearsal deploys into: moto on 127.0.0.1 with the rehearsal's gap closers,
a docker-free Lambda runner, the SageMaker runtime stand-in in front of the model code's local
server, the execute-api stand-in, and clients signed as the operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from rehearsal.predictions import RehearsalError

if TYPE_CHECKING:
    from rehearsal.moto_gaps.journal import Journal

REPO = Path(__file__).resolve().parent.parent
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
#: Every request the deployed functions make is checked against botocore's service model and
#: journaled here (rehearsal.moto_gaps.service_model); the report reads it back.
REQUEST_JOURNAL = "requests.jsonl"


def make_clients(
    endpoint_url: str, region: str, credentials: dict[str, str | None] | None = None
) -> SimpleNamespace:
    """The clients the rehearsal uses, on one session (``credentials``: the operator's)."""
    import boto3

    chosen: dict[str, str | None] = {**CREDENTIALS, **(credentials or {})}
    session = boto3.session.Session(
        aws_access_key_id=chosen["aws_access_key_id"],
        aws_secret_access_key=chosen["aws_secret_access_key"],
        aws_session_token=chosen["aws_session_token"],
        region_name=region,
    )

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    return SimpleNamespace(
        session=session,
        s3=client("s3"),
        ssm=client("ssm"),
        cloudformation=client("cloudformation"),
        sagemaker=client("sagemaker"),
        lambda_=client("lambda"),
        logs=client("logs"),
        cloudwatch=client("cloudwatch"),
        autoscaling=client("application-autoscaling"),
        sqs=client("sqs"),
        ec2=client("ec2"),
        sns=client("sns"),
        ecr=client("ecr"),
        scheduler=client("scheduler"),
    )


@dataclass
class LocalAws:
    """What :func:`start` started; ``operator`` holds the credentials the CLI and clients use."""

    moto_url: str
    account: str
    region: str
    clients: SimpleNamespace
    operator: dict[str, str]
    runtime: Any
    model_server: Any
    execute_api: Any
    request_journal: Path
    #: What the moto gap closers recorded (rehearsal.moto_gaps.journal.Journal).
    journal: Journal


def start(
    account: str,
    region: str,
    workdir: Path,
    *,
    port: int,
    enforce_iam: bool,
    cleanup: list[Callable[[], None]],
) -> LocalAws:
    """Start everything (each stopper is appended to ``cleanup``)."""
    from moto.server import ThreadedMotoServer

    from model_code.local_server import LocalModelServer
    from rehearsal import moto_gaps
    from rehearsal.moto_gaps import lambda_runner
    from rehearsal.moto_gaps.api_gateway import ExecuteApi
    from rehearsal.serving import DataCapturingRuntime

    gaps_journal = moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    cleanup.append(server.stop)
    host, bound = server.get_host_and_port()
    moto_url = f"http://{host}:{bound}"
    model_server = LocalModelServer(port=0).start()
    cleanup.append(model_server.shutdown)
    # What the functions call as the SageMaker runtime: data capture in front of the model
    # server (it follows the endpoint once the serving stack exists).
    runtime = DataCapturingRuntime(model_server.url).start()
    cleanup.append(runtime.stop)
    operator = {
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }
    client_credentials: dict[str, str | None] | None = None
    function_credentials = None
    if enforce_iam:
        from rehearsal.moto_gaps import iam

        keys = iam.enforce(account)
        operator = keys.environment()
        client_credentials = dict(iam.as_client_kwargs(keys))

        def function_credentials(fn: Any) -> dict[str, str]:
            return iam.role_credentials(account, region, fn.role, fn.function_name).environment()

    journal = workdir / REQUEST_JOURNAL
    journal.unlink(missing_ok=True)
    lambda_runner.install(
        lambda_runner.RunnerSettings(
            endpoint_url=moto_url,
            workdir=workdir / "lambda",
            account_id=account,
            region=region,
            extra_env={
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url,
                "REHEARSAL_REQUEST_JOURNAL": str(journal),
                "REHEARSAL_REPO": str(REPO),
            },
            credentials=function_credentials,
        )
    )
    cleanup.append(lambda_runner.RUNNER.stop)
    execute_api = ExecuteApi(account, region).start()
    cleanup.append(execute_api.stop)
    return LocalAws(
        moto_url=moto_url,
        account=account,
        region=region,
        clients=make_clients(moto_url, region, client_credentials),
        operator=operator,
        runtime=runtime,
        model_server=model_server,
        execute_api=execute_api,
        request_journal=journal,
        journal=gaps_journal,
    )


def iam_probe(aws: LocalAws, stack: Any, parameter: str) -> str:
    """Show that IAM is enforced: the role of the function behind the API may not write the
    SSM parameter that names the serving model (only publish and promotion may)."""
    from botocore.exceptions import ClientError

    from rehearsal.moto_gaps import iam

    function = stack.outputs["InferenceFunctionName"]
    role_arn = aws.clients.lambda_.get_function_configuration(FunctionName=function)["Role"]
    credentials = iam.role_credentials(aws.account, aws.region, role_arn, "rehearsal-probe")
    ssm = make_clients(aws.moto_url, aws.region, dict(iam.as_client_kwargs(credentials))).ssm
    try:
        ssm.put_parameter(Name=parameter, Value="s3://x/y", Type="String", Overwrite=True)
    except ClientError as error:
        text = f"{error.response['Error'].get('Code', '')} {error}"
        if "AccessDenied" in text or "not authorized" in text:
            return f"IAM enforced (probe: {function}'s role may not ssm:PutParameter)"
        raise
    raise RehearsalError(f"IAM is not enforced: {function}'s role could write the model pointer")
