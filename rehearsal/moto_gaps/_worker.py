"""A warm Lambda runtime process: imports the handler once, then serves one event per line.

Started by :mod:`rehearsal.moto_gaps.lambda_runner` as ``python _worker.py CODE_DIR HANDLER``
with the function's environment. Protocol: one JSON request per line on stdin
(``{"event", "request_id", "deadline_ms", "context"}``), one JSON response per line on the
original stdout (``{"ok", "payload"}``). Everything the handler prints goes to stderr, which the
runner stores as the function's CloudWatch log. Standard library only: this file runs beside
the deployed code, never beside the rehearsal; except that with ``REHEARSAL_REQUEST_JOURNAL``
(and ``REHEARSAL_REPO``) set, it checks every AWS request the function makes against botocore's
service model, as AWS would, and journals each check for the rehearsal
(``rehearsal.moto_gaps.service_model``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes of the Lambda Python runtime's context object."""

    def __init__(self, request: dict[str, Any]) -> None:
        context = request["context"]
        self.aws_request_id: str = request["request_id"]
        self.function_name: str = context["function_name"]
        self.function_version: str = context["function_version"]
        self.invoked_function_arn: str = context["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(context["memory_limit_in_mb"])
        self.log_group_name: str = context["log_group_name"]
        self.log_stream_name: str = context["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms: int = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> str:
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": error_type or type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    )


def _check_requests() -> None:
    journal = os.environ.pop("REHEARSAL_REQUEST_JOURNAL", "")
    repo = os.environ.pop("REHEARSAL_REPO", "")
    if not (journal and repo):
        return
    sys.path.append(repo)  # after the deployed code: the function's modules come first
    from pathlib import Path

    from rehearsal.moto_gaps import service_model

    service_model.install(Path(journal))


def main() -> int:
    code_dir, handler_spec = sys.argv[1], sys.argv[2]
    sys.path[0] = code_dir  # the deployed code, not this folder, comes first (as in Lambda)
    os.chdir(code_dir)
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the handler's prints go to the log
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    _check_requests()
    handler = None
    init_error: str | None = None
    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
        handler = getattr(module, function_name)
    except Exception as error:
        traceback.print_exc()
        init_error = _error(error, f"Runtime.ImportModuleError: {type(error).__name__}")

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        print(f"START RequestId: {request_id} Version: $LATEST", file=sys.stderr, flush=True)
        started = time.perf_counter()
        if handler is None:
            response = {"ok": False, "payload": init_error}
        else:
            try:
                result = handler(request["event"], LambdaContext(request))
                response = {"ok": True, "payload": json.dumps(result)}
            except Exception as error:
                traceback.print_exc()
                response = {"ok": False, "payload": _error(error)}
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(f"END RequestId: {request_id}", file=sys.stderr)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms",
            file=sys.stderr,
            flush=True,
        )
        protocol.write(json.dumps(response) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
