"""Custom-resource gaps of moto 5.2.5.

- moto invokes a custom resource's function in a background thread and goes on creating the
  stack's other resources, so a resource that reads the custom resource's attribute (the S3
  prefix list id in a security group rule) gets nothing; and the function's answer, sent to
  moto's ``cfnresponse`` URL while the stack is still being created, is refused (404: the
  stack is registered only once all its resources exist). Here the function answers to a
  receiver of the rehearsal's own, and the stack waits for that answer, as CloudFormation
  does; a FAILED answer (or none) fails the stack.
- moto reads a new stack's exports before it creates the resources in dependency order, so
  a resource an export refers to is created first, before what it depends on (the custom
  resource's function ran before its role's policy existed). Here the resources are created
  in dependency order first, as CloudFormation does.
- CDK's ``Custom::VpcRestrictDefaultSG`` runs a Node.js function (the Lambda runner runs
  Python only): a shim in :mod:`.resources` removes the default group's rules instead.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.cloudformation.custom_model import CustomModel

from rehearsal.moto_gaps._patching import patch

TIMEOUT_S = 120


class CustomResourceFailedError(RuntimeError):
    """The custom resource's function failed or did not answer: the stack fails, as on AWS."""


class _Receiver:
    """CloudFormation's response endpoint, for the custom resources of the rehearsal."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                answer = json.loads(self.rfile.read(length) or b"{}")
                with owner.arrived:
                    owner.answers[self.path.strip("/")] = answer
                    owner.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def wait(self, request_id: str, timeout_s: float) -> dict[str, Any] | None:
        with self.arrived:
            self.arrived.wait_for(lambda: request_id in self.answers, timeout_s)
            return self.answers.pop(request_id, None)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_receiver: _Receiver | None = None


def _create(original: Any) -> Any:
    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.awslambda.utils import get_backend
        from moto.moto_api._internal import mock_random

        receiver = _receiver
        if receiver is None:
            return original.__func__(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            )
        properties = cloudformation_json["Properties"]
        request_id = str(mock_random.uuid4())
        custom = CustomModel(  # type: ignore[abstract]
            region_name, request_id, kwargs["LogicalId"], resource_name
        )
        from moto.cloudformation.models import cloudformation_backends

        # moto registers a stack before creating its resources, and re-reads a deleted
        # stack's outputs: nothing to run for a stack that is gone or going.
        stack = cloudformation_backends[account_id][region_name].stacks.get(kwargs["StackId"])
        if stack is None or str(stack.status).startswith("DELETE"):
            custom.set_data({})
            return custom
        function = get_backend(account_id, region_name).get_function(properties["ServiceToken"])
        event = {
            "RequestType": "Create",
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": f"{receiver.url}/{request_id}",
            "StackId": kwargs["StackId"],
            "RequestId": request_id,
            "LogicalResourceId": kwargs["LogicalId"],
            "ResourceType": kwargs["ResourceType"],
            "ResourceProperties": properties,
        }
        threading.Thread(
            target=function.invoke, args=(json.dumps(event), {}, {}), daemon=True
        ).start()
        answer = receiver.wait(request_id, TIMEOUT_S)
        if answer is None or answer.get("Status") != "SUCCESS":
            reason = answer.get("Reason", "") if answer else f"no answer within {TIMEOUT_S} s"
            raise CustomResourceFailedError(
                f"custom resource {kwargs['LogicalId']} ({kwargs['ResourceType']}) failed: {reason}"
            )
        custom.set_data(answer.get("Data") or {})
        if answer.get("PhysicalResourceId"):
            custom.resource_name = str(answer["PhysicalResourceId"])
        return custom

    return classmethod(create_from_cloudformation_json)


def _validate_export_uniqueness(original: Any) -> Any:
    def validate(self: Any, stack: Any) -> None:
        if not getattr(stack, "_created_in_order", False):
            stack.create_resources()
            stack._created_in_order = True
        original(self, stack)

    return validate


def _create_resources(original: Any) -> Any:
    def create_resources(self: Any) -> None:
        if getattr(self, "_created_in_order", False):
            return  # done before the exports were read
        original(self)

    return create_resources


_installed = False


def install() -> None:
    """Custom resources answer before the resources that read them (once per process)."""
    global _installed, _receiver
    if _installed:
        return
    _installed = True
    _receiver = _Receiver()
    patch(
        CustomModel,
        "create_from_cloudformation_json",
        _create(CustomModel.create_from_cloudformation_json),
    )
    from moto.cloudformation.models import CloudFormationBackend, Stack

    patch(
        CloudFormationBackend,
        "_validate_export_uniqueness",
        _validate_export_uniqueness(CloudFormationBackend._validate_export_uniqueness),
    )
    patch(Stack, "create_resources", _create_resources(Stack.create_resources))


def uninstall() -> None:
    global _installed, _receiver
    _installed = False
    if _receiver is not None:
        _receiver.stop()
        _receiver = None
