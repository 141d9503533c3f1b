"""The REST API's front door, which moto 5.2.5 does not serve in server mode.

moto stores REST APIs but answers their invocation URLs only under its decorators, and ignores
``AWS_PROXY`` integrations. :class:`ExecuteApi` serves
``POST http://127.0.0.1:PORT/{api_id}/{stage}/{path}`` (the path of
``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/{path}``): it finds the
resource and method in moto's API Gateway, and for a Lambda proxy integration runs the function
through the docker-free runner with the proxy event API Gateway sends, then answers what the
function returned (``statusCode``, ``headers``, ``body``). Not emulated: throttling, usage
plans, request validators and models, gateway responses, authorizers, resource policies,
access logs; a function error answers 502 like API Gateway. The function's resource policy
(``AWS::Lambda::Permission``) is checked: without it, 500 as in AWS. Each request records
AWS/ApiGateway Count, 4XXError, 5XXError and Latency by ApiName and Stage.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.apigateway.models import apigateway_backends
from moto.awslambda.models import lambda_backends

from rehearsal.moto_gaps.lambda_runner import RUNNER

_LAMBDA_URI = "/2015-03-31/functions/"


def _function_arn(uri: str) -> str | None:
    """``arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations`` -> ARN."""
    if _LAMBDA_URI not in uri:
        return None
    return uri.split(_LAMBDA_URI, 1)[1].removesuffix("/invocations")


class ExecuteApi:
    """An execute-api stand-in for moto's REST APIs with Lambda proxy integrations."""

    def __init__(self, account_id: str, region: str, host: str = "127.0.0.1", port: int = 0):
        self.account_id = account_id
        self.region = region
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                owner._serve(self)

            def do_POST(self) -> None:
                owner._serve(self)

            def do_PUT(self) -> None:
                owner._serve(self)

            def do_DELETE(self) -> None:
                owner._serve(self)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke_url(self, api_id: str, stage: str) -> str:
        """What ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`` is locally."""
        return f"{self.url}/{api_id}/{stage}"

    def start(self) -> ExecuteApi:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        try:
            status, headers, body = self._dispatch(request)
        except Exception as error:  # an emulation bug must still answer
            status, headers = 500, {"Content-Type": "application/json"}
            body = json.dumps({"message": f"rehearsal execute-api error: {error}"}).encode()
        try:
            self._metrics(request.path, status, (time.perf_counter() - started) * 1000)
        except Exception as error:  # metrics never fail a request
            print(f"[execute-api] could not record metrics: {error}", file=sys.stderr)
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _metrics(self, path: str, status: int, latency_ms: float) -> None:
        """AWS/ApiGateway metrics by ApiName and Stage, as API Gateway publishes them."""
        from moto.cloudwatch.models import cloudwatch_backends

        parts = urlsplit(path).path.strip("/").split("/")
        api = apigateway_backends[self.account_id][self.region].apis.get(parts[0])
        if api is None or len(parts) < 2 or parts[1] not in api.stages:
            return
        dimensions = [{"Name": "ApiName", "Value": api.name}, {"Name": "Stage", "Value": parts[1]}]
        data = [
            ("Count", 1.0, "Count"),
            ("4XXError", float(400 <= status < 500), "Count"),
            ("5XXError", float(status >= 500), "Count"),
            ("Latency", latency_ms, "Milliseconds"),
        ]
        cloudwatch_backends[self.account_id][self.region].put_metric_data(
            "AWS/ApiGateway",
            [
                {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dimensions}
                for n, v, u in data
            ],
        )

    def _dispatch(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.path)
        parts = url.path.strip("/").split("/")
        if len(parts) < 2:
            return _message(404, "use /{api_id}/{stage}/{path}")
        api_id, stage, path = parts[0], parts[1], "/" + "/".join(parts[2:])
        backend = apigateway_backends[self.account_id][self.region]
        api = backend.apis.get(api_id)
        if api is None or stage not in api.stages:
            return _message(403, "Forbidden")
        resource, parameters = _resource_for(api.resources.values(), path)
        if resource is None:
            return _message(403, "Missing Authentication Token")
        method = resource.resource_methods.get(request.command) or resource.resource_methods.get(
            "ANY"
        )
        if method is None:
            return _message(403, "Missing Authentication Token")
        integration = method.method_integration
        arn = _function_arn(integration.uri or "") if integration else None
        if integration is None or integration.integration_type != "AWS_PROXY" or arn is None:
            return _message(500, "the rehearsal serves Lambda proxy integrations only")
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        event = self._event(request, api_id, stage, path, resource.get_path(), url.query, raw)
        event["pathParameters"] = parameters
        function = lambda_backends[self.account_id][self.region].get_function(arn)
        source_arn = (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{api_id}/{stage}/"
            f"{request.command}{path}"
        )
        if not may_invoke(function, source_arn):
            # What API Gateway logs when the function's resource policy lacks the permission.
            return _message(500, "Internal server error: invalid permissions on Lambda function")
        payload, errored, _ = RUNNER.invoke(function, event, source="apigateway")
        if errored:
            return _message(502, "Internal server error")
        try:
            answer = json.loads(payload)
            status = int(answer["statusCode"])
        except (ValueError, KeyError, TypeError):
            return _message(502, "Internal server error")  # a malformed proxy response
        body = answer.get("body") or ""
        data = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        return status, headers, data

    def _event(
        self,
        request: BaseHTTPRequestHandler,
        api_id: str,
        stage: str,
        path: str,
        resource_path: str,
        query: str,
        raw: bytes,
    ) -> dict[str, Any]:
        headers = dict(request.headers.items())
        multi_query = parse_qs(query) or None
        try:
            body: str | None = raw.decode("utf-8") if raw else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        request_id = str(uuid.uuid4())
        return {
            "resource": resource_path,
            "path": path,
            "httpMethod": request.command,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()}
            if multi_query
            else None,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": api_id,
                "stage": stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "httpMethod": request.command,
                "path": f"/{stage}{path}",
                "resourcePath": resource_path,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": request.client_address[0]},
            },
            "body": body,
            "isBase64Encoded": encoded,
        }


def _resource_for(resources: Any, path: str) -> tuple[Any, dict[str, str] | None]:
    """The resource that serves ``path`` and its path parameters, as API Gateway routes: an
    exact path first, then a template whose ``{name}`` segments each match one segment."""
    from urllib.parse import unquote

    candidates = list(resources)
    exact = next((r for r in candidates if r.get_path() == path), None)
    if exact is not None:
        return exact, None
    segments = path.strip("/").split("/")
    for resource in candidates:
        template = resource.get_path().strip("/").split("/")
        if len(template) != len(segments) or "{" not in resource.get_path():
            continue
        parameters: dict[str, str] = {}
        for expected, actual in zip(template, segments, strict=True):
            if expected.startswith("{") and expected.endswith("}") and actual:
                parameters[expected[1:-1]] = unquote(actual)
            elif expected != actual:
                break
        else:
            return resource, parameters
    return None, None


def may_invoke(function: Any, source_arn: str) -> bool:
    """Whether the function's resource policy lets API Gateway invoke it from ``source_arn``
    (the ``AWS::Lambda::Permission`` the stack declares)."""
    for statement in getattr(function.policy, "statements", []):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("lambda:InvokeFunction", "lambda:*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else principal
        services = [services] if isinstance(services, str) else services
        if "apigateway.amazonaws.com" not in services and "*" not in services:
            continue
        patterns = [
            value
            for operator, conditions in statement.get("Condition", {}).items()
            if operator in ("ArnLike", "StringLike", "ArnEquals", "StringEquals")
            for key, value in conditions.items()
            if key.lower() == "aws:sourcearn"
        ]
        if not patterns or any(fnmatch.fnmatchcase(source_arn, str(p)) for p in patterns):
            return True
    return False


def _message(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()
