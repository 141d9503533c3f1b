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
  Python only): a shim in :mod:`.shims.ec2` removes the default group's rules instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.cloudformation.custom_model import CustomModel

from rehearsal.moto_gaps._patching import CfnCreate, Installer, patch, patch_cfn_create

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


def _stack_is_gone(call: CfnCreate) -> bool:
    """moto registers a stack before creating its resources, and re-reads a deleted stack's
    outputs: nothing to run for a stack that is gone or going."""
    from moto.cloudformation.models import cloudformation_backends

    stacks = cloudformation_backends[call.account_id][call.region_name].stacks
    stack = stacks.get(call.kwargs["StackId"])
    return stack is None or str(stack.status).startswith("DELETE")


def _answer(receiver: _Receiver, call: CfnCreate, request_id: str) -> dict[str, Any]:
    """Invoke the function as CloudFormation does and wait for its SUCCESS answer."""
    from moto.awslambda.utils import get_backend

    properties = call.properties
    function = get_backend(call.account_id, call.region_name).get_function(
        properties["ServiceToken"]
    )
    logical_id, resource_type = call.kwargs["LogicalId"], call.kwargs["ResourceType"]
    event = {
        "RequestType": "Create",
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{receiver.url}/{request_id}",
        "StackId": call.kwargs["StackId"],
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    }
    threading.Thread(target=function.invoke, args=(json.dumps(event), {}, {}), daemon=True).start()
    answer = receiver.wait(request_id, TIMEOUT_S)
    if answer is None or answer.get("Status") != "SUCCESS":
        reason = answer.get("Reason", "") if answer else f"no answer within {TIMEOUT_S} s"
        raise CustomResourceFailedError(
            f"custom resource {logical_id} ({resource_type}) failed: {reason}"
        )
    return answer


def _create(receiver: _Receiver) -> Callable[[CfnCreate], Any]:
    """CustomModel's create: the stack waits for the function's answer."""

    def create(call: CfnCreate) -> Any:
        from moto.moto_api._internal import mock_random

        request_id = str(mock_random.uuid4())
        custom = CustomModel(  # type: ignore[abstract]
            call.region_name, request_id, call.kwargs["LogicalId"], call.resource_name
        )
        if _stack_is_gone(call):
            custom.set_data({})
            return custom
        answer = _answer(receiver, call, request_id)
        custom.set_data(answer.get("Data") or {})
        if answer.get("PhysicalResourceId"):
            custom.resource_name = str(answer["PhysicalResourceId"])
        return custom

    return create


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


def _apply() -> _Receiver:
    """Custom resources answer before the resources that read them; resources are created in
    dependency order before the exports are read. Returns the answers' receiver."""
    from moto.cloudformation.models import CloudFormationBackend, Stack

    receiver = _Receiver()
    patch_cfn_create(CustomModel, _create(receiver))
    patch(
        CloudFormationBackend,
        "_validate_export_uniqueness",
        _validate_export_uniqueness(CloudFormationBackend._validate_export_uniqueness),
    )
    patch(Stack, "create_resources", _create_resources(Stack.create_resources))
    return receiver


INSTALL = Installer(_apply, _Receiver.stop)
