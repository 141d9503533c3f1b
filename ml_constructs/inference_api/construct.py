"""The front door: an IAM-authenticated REST API and the Lambda function that validates requests
and calls the SageMaker endpoint. The function's code is ``runtime/`` next to this file.

Why a REST API rather than a Function URL: the REST API gives stage throttling (rate and burst),
access logs, X-Ray, request validation and JSON error bodies for requests that never reach the
function (unsigned, throttled, malformed), all declared here; a Function URL has none of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.bundling import function_code, handler
from ml_constructs.checkov import skip
from ml_constructs.findings import INLINE_POLICY, acknowledge_function
from ml_constructs.function_setup import FunctionSetup, FunctionSpec
from ml_constructs.inference_api.runtime import api_config as env
from ml_constructs.nag import acknowledge, bucket_arn_in, nag_logical_id
from ml_constructs.naming import validate_prefix
from ml_constructs.operator_access import s3_via_service
from ml_constructs.private_network.construct import PrivateNetwork

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
PACKAGE = "inference"
HANDLER = handler(PACKAGE)
STAGE_NAME = "v1"
METRICS_NAMESPACE = "MlServing/InferenceApi"
#: The newest Python runtime that cdk-nag 3.0.2's AwsSolutions-L1 accepts with aws-cdk-lib
#: 2.275.0 (L1 compares against ``Runtime.ALL``; tests/inference_api synthesize with it).
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Powertools publishes each layer release as a public SSM parameter in every region (value:
#: that region's layer ARN, right partition and publisher account), so the template stays
#: environment-agnostic: CloudFormation resolves it at deploy time in the target region.
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/{python}/{version}"
API_GATEWAY_TIMEOUT_S = 29
FUNCTION = FunctionSpec(
    role_purpose="inference-fn",
    role_description="Inference API function: invoke one endpoint, write its logs and traces",
    what="the inference function",
    log_group_id="FunctionLogs",
    role_id="FunctionRole",
)
#: One JSON object per request: who called (IAM identity), what, the outcome and the latencies.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "xrayTraceId": "$context.xrayTraceId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
}

LOG_RETENTION = _RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True)
class InferenceApiProps:
    """Everything the front door needs; ``endpoint_arn`` may be a deploy-time token."""

    prefix: str
    endpoint_name: str
    endpoint_arn: str
    feature_count: int
    feature_names: tuple[str, ...] = ()
    max_rows: int = 100
    max_payload_bytes: int = env.SAGEMAKER_MAX_PAYLOAD_BYTES
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    reserved_concurrency: int | None = None
    function_timeout_s: int = 28
    function_memory_mb: int = 256
    architecture: Literal["arm64", "x86_64"] = "arm64"
    log_retention_days: int = 30
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 3.0
    max_attempts: int = 3
    retry_after_s: int = 2
    powertools_version: str = "3.37.0"
    execution_log_level: Literal["ERROR", "INFO"] = "ERROR"
    manage_account_cloudwatch_role: bool = True
    encryption_key: kms.IKey | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    #: Private networking: the function in the private subnets; with ``endpoint_type``
    #: ``private`` the API answers only through the VPC's execute-api endpoint.
    network: PrivateNetwork | None = None
    endpoint_type: Literal["regional", "private"] = "regional"
    #: An asynchronous endpoint's bucket: the API then serves POST /predict-async and
    #: GET /predict-async/{id} (InvokeEndpointAsync) instead of POST /predict.
    async_bucket: s3.IBucket | None = None
    #: A function (an alias) that answers POST /predict itself (the model served inside
    #: Lambda): API Gateway integrates it directly and the API creates no function of its own
    #: (``endpoint_arn`` is then empty: there is no SageMaker endpoint to call).
    backend: lambda_.IFunction | None = None

    @property
    def is_async(self) -> bool:
        return self.async_bucket is not None

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)
        problems = []
        if self.is_async and self.encryption_key is None:
            problems.append("encryption_key: async requests are stored encrypted with it")
        if self.endpoint_type == "private" and (
            self.network is None or self.network.execute_api_endpoint is None
        ):
            problems.append("endpoint_type: a private API needs the network's execute-api endpoint")
        if not 1 <= self.feature_count <= 10_000:
            problems.append(f"feature_count {self.feature_count} is outside 1-10000")
        if self.feature_names and len(self.feature_names) != self.feature_count:
            problems.append(
                f"feature_names lists {len(self.feature_names)} names but feature_count is "
                f"{self.feature_count}"
            )
        if not 1 <= self.max_payload_bytes <= env.SAGEMAKER_MAX_PAYLOAD_BYTES:
            problems.append(
                f"max_payload_bytes {self.max_payload_bytes} is outside "
                f"1-{env.SAGEMAKER_MAX_PAYLOAD_BYTES}"
            )
        if self.backend is not None and (self.is_async or self.endpoint_arn):
            problems.append(
                "backend: a function that answers itself is integrated instead of an endpoint "
                "(no endpoint_arn, no async_bucket)"
            )
        budget = env.invoke_budget_s(self.connect_timeout_s, self.read_timeout_s, self.max_attempts)
        if self.backend is None and not budget < self.function_timeout_s <= API_GATEWAY_TIMEOUT_S:
            problems.append(
                f"function_timeout_s {self.function_timeout_s} must exceed the SageMaker "
                f"client's worst case {budget:g} s and be at most {API_GATEWAY_TIMEOUT_S} s"
            )
        if self.log_retention_days not in _RETENTION:
            problems.append(f"log_retention_days {self.log_retention_days} is not a valid period")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def invoke_budget_s(self) -> float:
        """Worst-case seconds of the function's SageMaker call, retries included."""
        return env.invoke_budget_s(self.connect_timeout_s, self.read_timeout_s, self.max_attempts)

    def environment(self) -> dict[str, str]:
        """The function's environment: its runtime's own typed config, written as the
        runtime reads it (``runtime/api_config.py``)."""
        bucket, key = self.async_bucket, self.encryption_key  # both set for async (checked)
        return env.ApiConfig(
            endpoint_name=self.endpoint_name,
            feature_count=self.feature_count,
            feature_names=tuple(self.feature_names),
            max_rows=self.max_rows,
            max_payload_bytes=self.max_payload_bytes,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            max_attempts=self.max_attempts,
            retry_after_s=self.retry_after_s,
            mode="async" if self.is_async else "realtime",
            async_bucket=bucket.bucket_name if bucket is not None else "",
            async_kms_key_arn=key.key_arn if bucket is not None and key is not None else "",
            service_name=f"{self.prefix}-inference",
            metrics_namespace=METRICS_NAMESPACE,
        ).to_env()


class InferenceApi(Construct):
    """REST API (AWS_IAM) -> POST /predict -> validating Lambda -> sagemaker:InvokeEndpoint;
    with ``props.backend``, REST API -> the given function (alias), which answers itself
    (``role`` and ``function_log_group`` are then None: the backend owns them).

    Attributes for callers: ``function``, ``api``, ``stage``, ``role``, ``function_name``,
    ``function_arn``, ``api_id``, ``predict_url``, ``access_log_group``, ``function_log_group``
    and metric helpers for alarms (``metric_*``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: InferenceApiProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.service_name = f"{props.prefix}-inference"
        self.function_log_group: logs.ILogGroup | None = None
        self.role: iam.IRole | None = None
        self.function: lambda_.IFunction
        if props.backend is None:
            setup = FunctionSetup(self, props, FUNCTION, _RETENTION[props.log_retention_days])
            self.function_log_group, self.role = setup.log_group, setup.role
            self._grant(setup.role)
            self.function = self._function(setup)
        else:
            self.function = props.backend
        self.access_log_group = logs.LogGroup(
            self,
            "AccessLogs",
            retention=_RETENTION[props.log_retention_days],
            encryption_key=props.encryption_key,
            removal_policy=props.removal_policy,
        )
        self.api = self._rest_api()
        self.stage = self.api.deployment_stage
        self._add_gateway_responses()
        self.methods = self._add_methods()
        self._acknowledge_api()
        self.function_name = self.function.function_name
        self.function_arn = self.function.function_arn
        self.api_id = self.api.rest_api_id
        self.predict_url = self.api.url_for_path("/predict-async" if props.is_async else "/predict")

    # -- the function ------------------------------------------------------------------------------

    def _grant(self, role: iam.Role) -> None:
        """Invoke this endpoint only (asynchronously: its request and result objects too)."""
        props = self.props
        role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeThisEndpointOnly",
                actions=[f"sagemaker:InvokeEndpoint{'Async' if props.is_async else ''}"],
                resources=[props.endpoint_arn],
            )
        )
        if props.is_async:
            self._grant_async_storage(role)

    def _layers(self) -> list[lambda_.ILayerVersion]:
        """Powertools for AWS Lambda, the layer of its version for the function's runtime and
        architecture (none without a version)."""
        props = self.props
        if not props.powertools_version:
            return []
        arch = "arm64" if props.architecture == "arm64" else "x86_64"
        layer_arn = ssm.StringParameter.value_for_string_parameter(
            self,
            POWERTOOLS_PARAMETER.format(
                arch=arch, python=PYTHON_RUNTIME.name, version=props.powertools_version
            ),
        )
        return [lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)]

    def _function(self, setup: FunctionSetup) -> lambda_.Function:
        props = self.props
        function = setup.function(
            lambda_.Function,
            function_name=self.service_name,
            description="Validates POST /predict bodies and calls the SageMaker endpoint",
            runtime=PYTHON_RUNTIME,
            architecture=(
                lambda_.Architecture.ARM_64
                if props.architecture == "arm64"
                else lambda_.Architecture.X86_64
            ),
            handler=HANDLER,
            code=function_code(RUNTIME_DIR, PACKAGE, core=True),
            memory_size=props.function_memory_mb,
            timeout=Duration.seconds(props.function_timeout_s),
            reserved_concurrent_executions=props.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            layers=self._layers(),
            environment=props.environment(),
        )
        acknowledge_function(
            function,
            dead_letters=(
                "API Gateway invokes the function synchronously and the caller gets its answer "
                "or error; a function dead-letter queue applies to asynchronous invocations only."
            ),
            concurrency=(
                None
                if props.reserved_concurrency is not None
                else "api.reserved_concurrency is null: Lambda keeps 10 of the account's "
                "concurrency unreserved and a new account may have 10 in all, where any "
                "reservation fails the deploy; the API stage's throttling caps the load."
            ),
        )
        # Active tracing needs xray:PutTraceSegments/PutTelemetryRecords, which X-Ray only
        # supports on Resource "*": the one wildcard, acknowledged on this role alone.
        acknowledge(
            setup.role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
            "permissions; Lambda active tracing requires them on '*'.",
            ["Resource::*"],
        )
        return function

    # -- the REST API ------------------------------------------------------------------------------

    def _rest_api(self) -> apigw.RestApi:
        props = self.props
        return apigw.RestApi(
            self,
            "Api",
            rest_api_name=self.service_name,
            description=(
                "POST /predict (SigV4, AWS_IAM) in front of the SageMaker endpoint"
                if props.backend is None
                else "POST /predict (SigV4, AWS_IAM) answered by the model function's alias"
            ),
            endpoint_configuration=self._endpoint_configuration(),
            policy=self._private_api_policy(),
            cloud_watch_role=props.manage_account_cloudwatch_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM
            ),
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=props.throttle_rate_limit,
                throttling_burst_limit=props.throttle_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=(
                    apigw.MethodLoggingLevel.INFO
                    if props.execution_log_level == "INFO"
                    else apigw.MethodLoggingLevel.ERROR
                ),
                data_trace_enabled=False,  # never write request bodies (features) to logs
            ),
        )

    def _add_methods(self) -> list[apigw.Method]:
        """POST /predict (asynchronous: POST /predict-async and GET /predict-async/{id}),
        IAM-authorized, the body's envelope validated, proxied to the function."""
        props = self.props
        request_model = self.api.add_model(
            "PredictRequest",
            content_type="application/json",
            model_name="PredictRequest",
            description="Envelope only; the function checks rows, features and values",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="PredictRequest",
                type=apigw.JsonSchemaType.OBJECT,
                required=["instances"],
                properties={
                    "instances": apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY, min_items=1)
                },
            ),
        )
        # Parameters too (cdk-nag APIG2 wants both); /predict declares no required ones.
        validator = self.api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(self.function, proxy=True, allow_test_invoke=False)
        # An asynchronous endpoint does not answer InvokeEndpoint: /predict is absent there.
        predict = self.api.root.add_resource("predict-async" if props.is_async else "predict")
        self.predict_method = predict.add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": request_model},
        )
        self._fix_permission_logical_id(self.predict_method, "InferenceApiPredictPermission")
        self.result_method: apigw.Method | None = None
        if not props.is_async:
            return [self.predict_method]
        self.result_method = predict.add_resource("{id}").add_method(
            "GET",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={"method.request.path.id": True},
        )
        self._fix_permission_logical_id(self.result_method, "InferenceApiResultPermission")
        return [self.predict_method, self.result_method]

    def _acknowledge_api(self) -> None:
        no_waf = (
            "Every request must carry a SigV4 signature of an IAM principal allowed "
            "execute-api:Invoke; stage throttling caps load. Attach a WAF web ACL to the stage "
            "if untrusted principals can call it."
        )
        acknowledge(self.stage, "AwsSolutions-APIG3", no_waf)
        acknowledge(self.stage, "NIST.800.53.R5-APIGWAssociatedWithWAF", no_waf)
        no_cache = (
            "POST /predict answers depend on the request body: a stage cache would return "
            "another caller's predictions."
        )
        acknowledge(self.stage, "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted", no_cache)
        skip(self.stage, "CKV_AWS_120", no_cache)
        acknowledge(
            self.stage,
            "NIST.800.53.R5-APIGWSSLEnabled",
            "A client certificate authenticates API Gateway to an HTTP backend; this stage's "
            "only integration is a Lambda proxy, called through the Lambda API with IAM.",
        )
        for method in self.methods:
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "Callers are AWS principals authenticated with SigV4 (AWS_IAM authorization), "
                "not Cognito users.",
            )
        if self.props.manage_account_cloudwatch_role:
            acknowledge(
                self.api,
                "AwsSolutions-IAM4",
                "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy API Gateway "
                "documents for its account-level execution-logging role.",
                [
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs"
                ],
            )

    def _grant_async_storage(self, role: iam.Role) -> None:
        """Exactly the async prefixes: write requests and records, read records, results and
        failures; list only those prefixes (S3 answers a missing key with 404 only to a caller
        that may list); the key for SSE-KMS objects."""
        props = self.props
        bucket, key = props.async_bucket, props.encryption_key
        assert bucket is not None and key is not None
        bucket_arn, bucket_ref = bucket_arn_in(self, bucket)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteAsyncRequests",
                actions=["s3:PutObject"],
                resources=[
                    f"{bucket_arn}/{env.ASYNC_INPUT_PREFIX}*",
                    f"{bucket_arn}/{env.ASYNC_REQUESTS_PREFIX}*",
                ],
            )
        )
        readable = (env.ASYNC_REQUESTS_PREFIX, env.ASYNC_OUTPUT_PREFIX, env.ASYNC_FAILURES_PREFIX)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadAsyncOutcomes",
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn}/{p}*" for p in readable],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListAsyncOutcomes",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in readable]}},
            )
        )
        prefixes = {env.ASYNC_INPUT_PREFIX, *readable}
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "Each asynchronous request has its own objects, named per request (the API's id, "
            "SageMaker's result names): the statements are scoped to the async prefixes.",
            [f"Resource::{bucket_ref}/{p}*" for p in sorted(prefixes)],
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AsyncObjectsEncryption",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": s3_via_service()}},
            )
        )

    def _fix_permission_logical_id(self, method: apigw.Method, logical_id: str) -> None:
        """LambdaIntegration names the function's permission after the API's unique id, which
        holds the id of every scope above the stack (a pipeline Stage's too): a fixed logical id
        keeps a stage's template identical to the plain workflow's."""
        permissions = [
            child
            for child in method.node.children
            if isinstance(child, CfnResource)
            and child.cfn_resource_type == "AWS::Lambda::Permission"
            and child.node.id.startswith("ApiPermission.")
        ]
        if len(permissions) != 1:
            raise RuntimeError(f"expected one API permission, found {len(permissions)}")
        permissions[0].override_logical_id(logical_id)

    def allow_predict(self, role: iam.IRole) -> iam.Policy:
        """Let ``role`` (the data stack's deployer role) call POST /predict of this stage, as a
        deployment's prediction check does: a policy of this stack attached to the role, so the
        role's stack never depends on this one."""
        policy = iam.Policy(
            self,
            "PredictCallers",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="CallPostPredict",
                    actions=["execute-api:Invoke"],
                    resources=[method.method_arn for method in self.methods],
                )
            ],
        )
        acknowledge(policy, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        if self.result_method is not None:
            acknowledge(
                policy,
                "AwsSolutions-IAM5",
                "GET /predict-async/{id}: the id path parameter is part of the method ARN; the "
                "statement is this one method of this stage.",
                [f"Resource::{self._nag_method_arn('GET', '/predict-async/*')}"],
            )
        return policy

    def _nag_method_arn(self, method: str, path: str) -> str:
        """A method ARN of this stage as cdk-nag prints it in a finding (an environment-
        agnostic stack's pseudo parameters, or the account and region it is pinned to)."""
        stack = Stack.of(self)

        def part(value: str, pseudo: str) -> str:
            return f"<AWS::{pseudo}>" if Token.is_unresolved(value) else value

        return (
            f"arn:{part(stack.partition, 'Partition')}:execute-api:"
            f"{part(stack.region, 'Region')}:{part(stack.account, 'AccountId')}:"
            f"<{nag_logical_id(self.api)}>/<{nag_logical_id(self.stage)}>/{method}{path}"
        )

    def _endpoint_configuration(self) -> apigw.EndpointConfiguration:
        props = self.props
        if props.endpoint_type == "regional":
            return apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL])
        assert props.network is not None and props.network.execute_api_endpoint is not None
        return apigw.EndpointConfiguration(
            types=[apigw.EndpointType.PRIVATE],
            vpc_endpoints=[props.network.execute_api_endpoint],
        )

    def _private_api_policy(self) -> iam.PolicyDocument | None:
        """A private API answers only requests through the VPC's execute-api endpoint, and
        only this account's principals (IAM authorization still decides who)."""
        props = self.props
        if props.endpoint_type == "regional":
            return None
        assert props.network is not None and props.network.execute_api_endpoint is not None
        endpoint_id = props.network.execute_api_endpoint.vpc_endpoint_id
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ThisAccountThroughTheVpcEndpoint",
                    principals=[iam.AccountRootPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                    conditions={"StringEquals": {"aws:SourceVpce": endpoint_id}},
                ),
                iam.PolicyStatement(
                    sid="NothingElse",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                    conditions={"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
                ),
            ]
        )

    def _add_gateway_responses(self) -> None:
        """JSON errors, in the function's error shape, for requests API Gateway itself refuses."""
        invalid_body = (
            '{"error":{"code":"invalid_body","field":"body",'
            '"message":"$context.error.validationErrorString"},"request_id":"$context.requestId"}'
        )
        self.api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={"application/json": invalid_body},
        )
        # messageString is already a quoted JSON string.
        generic = (
            '{"error":{"code":"$context.error.responseType",'
            '"message":$context.error.messageString},"request_id":"$context.requestId"}'
        )
        for name, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(
                name, type=response_type, templates={"application/json": generic}
            )

    # Metrics for alarms (issue 5 wires them).
    def metric_function_errors(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Invocations that raised (the handler answers errors, so this should stay 0)."""
        return self.function.metric_errors(period=period or Duration.minutes(1))

    def metric_function_throttles(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Invocations refused because reserved concurrency was exhausted."""
        return self.function.metric_throttles(period=period or Duration.minutes(1))

    def metric_function_duration(
        self, period: Duration | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric:
        """Function duration (ms); compare with the timeout."""
        return self.function.metric_duration(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_api_5xx(self, period: Duration | None = None) -> cloudwatch.Metric:
        """5XX answers of the stage (function 5xx mappings and API Gateway's own)."""
        return self.stage.metric_server_error(period=period or Duration.minutes(1))

    def metric_api_4xx(self, period: Duration | None = None) -> cloudwatch.Metric:
        """4XX answers of the stage (validation, auth, throttling)."""
        return self.stage.metric_client_error(period=period or Duration.minutes(1))

    def metric_api_latency(
        self, period: Duration | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric:
        """End-to-end latency seen by API Gateway (ms)."""
        return self.stage.metric_latency(period=period or Duration.minutes(1), statistic=statistic)

    def metric_outcome(self, outcome: str, period: Duration | None = None) -> cloudwatch.Metric:
        """The handler's custom count of one outcome (``Success``, ``ModelError``...)."""
        if outcome not in env.OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(env.OUTCOMES)}")
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=outcome,
            dimensions_map={"service": self.service_name},
            statistic="Sum",
            period=period or Duration.minutes(1),
        )
