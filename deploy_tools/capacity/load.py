"""The load process of the capacity test: Locust as a library, headless.

``python -m deploy_tools.capacity.load PLAN.json RESULT.json``: offers each rate of the plan
for ``step_s`` seconds (constant throughput shared by ``users`` virtual users), records
Locust's statistics per step, and stops at the first rate that fails or when the request budget
is spent. Importing Locust monkey-patches this whole process with gevent, which is why this
module runs only as a process of its own (``deploy_tools.capacity`` starts it).
"""

from __future__ import annotations

import locust  # first: gevent's monkey-patching should precede the other imports

# isort: split
import itertools
import json
import logging
import math
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import gevent
from locust import FastHttpUser, User, task
from locust.env import Environment
from locust.exception import StopUser

from deploy_tools.capacity.plan import (
    Plan,
    StepResult,
    invocation_outcome,
    judge,
    percentile,
    proxy_event,
    reported_duration_ms,
)

JSON = "application/json"


class Budget:
    """The run's request budget and the rows, shared by every virtual user."""

    def __init__(self, plan: Plan) -> None:
        self.left = plan.max_requests
        self._bodies = itertools.cycle(plan.bodies)

    def take(self) -> str:
        if self.left <= 0:
            raise StopUser()
        self.left -= 1
        return next(self._bodies)


class Tally:
    """What Locust's statistics do not keep, per step: throttled requests and the durations
    the function reported (Lambda mode)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.throttled = 0
        self.durations_ms: list[float] = []


class ThrottledError(Exception):
    """A request Lambda refused for concurrency (429, TooManyRequestsException)."""


def user_classes(
    plan: Plan, budget: Budget, per_user_rate: list[float], tally: Tally | None = None
) -> type[User]:
    """A Locust user for the plan's mode; ``per_user_rate`` is [rate per user, users], read
    at each wait (the runner changes them between steps)."""
    counted = tally or Tally()

    spawned = itertools.count()

    def stagger() -> None:
        """Spread the users' first requests evenly over one period: any window then holds
        rate x its length requests, give or take one."""
        period = 1 / per_user_rate[0]
        users = round(per_user_rate[1])
        gevent.sleep((next(spawned) % users) * period / users)

    def pace(user: User) -> float:
        """Constant throughput on an absolute schedule: each request is due one period after
        the previous one was due; a user that fell behind starts again from now (no burst)."""
        now = time.perf_counter()
        due = max(now, getattr(user, "due", now) + 1 / per_user_rate[0])
        user.due = due  # type: ignore[attr-defined]
        return due - now

    if plan.mode == "http":
        return _http_user(plan, budget, pace, stagger)
    if plan.mode == "lambda":
        return _lambda_user(plan, budget, counted, pace, stagger)
    return _runtime_user(plan, budget, pace, stagger)


def _http_user(plan: Plan, budget: Budget, pace: Any, stagger: Any) -> type[User]:
    class HttpInvoker(FastHttpUser):
        host = plan.url
        wait_time = pace

        def on_start(self) -> None:
            stagger()

        @task
        def invoke(self) -> None:
            body = budget.take()
            self.client.post(
                "/invocations",
                data=body,
                headers={"Content-Type": JSON, "Accept": JSON},
                name="POST /invocations",
            )

    return HttpInvoker


def _client(service: Literal["lambda", "sagemaker-runtime"], plan: Plan) -> Any:
    """boto3's client for the load: every error counts (no retries hiding a throttle), a
    connection pool as wide as the users."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=plan.region or None,
        endpoint_url=plan.endpoint_url or None,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, plan.users),
            read_timeout=70,
        ),
    )


def _report(
    user: User, request_type: str, name: str, started: float, length: int, error: Any
) -> None:
    """One request as Locust counts it (its pattern for clients other than HTTP)."""
    user.environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=length,
        exception=error,
        context={},
    )


def _lambda_user(plan: Plan, budget: Budget, counted: Tally, pace: Any, stagger: Any) -> type[User]:
    functions = _client("lambda", plan)
    qualifier = {"Qualifier": plan.qualifier} if plan.qualifier else {}

    def call(event: dict[str, Any]) -> tuple[int, Exception | None]:
        """One Invoke: (response length, the error it counts as, if any)."""
        from botocore.exceptions import ClientError

        try:
            answer = functions.invoke(
                FunctionName=plan.function_name,
                InvocationType="RequestResponse",
                LogType="Tail",
                Payload=json.dumps(event).encode(),
                **qualifier,
            )
            payload = answer["Payload"].read()
            kind, why = invocation_outcome(answer.get("FunctionError"), payload)
            duration = reported_duration_ms(answer.get("LogResult"))
            if duration is not None:
                counted.durations_ms.append(duration)
            failure = {"throttled": ThrottledError, "error": RuntimeError}.get(kind)
            return len(payload), failure(why) if failure else None
        except ClientError as caught:
            code = caught.response.get("Error", {}).get("Code", "")
            status = caught.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            throttle = code == "TooManyRequestsException" or status == 429
            return 0, ThrottledError(str(caught)) if throttle else caught
        except Exception as caught:  # every failure is a data point, not a crash
            return 0, caught

    class LambdaInvoker(User):
        """boto3 Invoke (RequestResponse, LogType Tail for the REPORT line's Duration) of
        the function with the proxy event API Gateway would send."""

        wait_time = pace

        def on_start(self) -> None:
            stagger()

        @task
        def invoke(self) -> None:
            event = proxy_event(budget.take(), str(uuid.uuid4()))
            started = time.perf_counter()
            length, error = call(event)
            if isinstance(error, ThrottledError):
                counted.throttled += 1
            _report(self, "Invoke", plan.function_name, started, length, error)

    return LambdaInvoker


def _runtime_user(plan: Plan, budget: Budget, pace: Any, stagger: Any) -> type[User]:
    runtime = _client("sagemaker-runtime", plan)

    class RuntimeInvoker(User):
        """boto3 InvokeEndpoint, timed and reported through ``events.request``."""

        wait_time = pace

        def on_start(self) -> None:
            stagger()

        @task
        def invoke(self) -> None:
            body = budget.take()
            started = time.perf_counter()
            error: Exception | None = None
            length = 0
            try:
                answer = runtime.invoke_endpoint(
                    EndpointName=plan.endpoint_name,
                    ContentType=JSON,
                    Accept=JSON,
                    Body=body.encode(),
                )
                length = len(answer["Body"].read())
            except Exception as caught:  # every failure is a data point, not a crash
                error = caught
            _report(self, "InvokeEndpoint", plan.endpoint_name, started, length, error)

    return RuntimeInvoker


def users_for(plan: Plan, rate: float) -> int:
    """Enough users that each one's period is twice the latency objective (so each keeps its
    pace while latency meets the objective), at most ``plan.users``."""
    return max(1, min(plan.users, math.ceil(rate * plan.latency_p99_ms / 1000 * 2)))


def run(plan: Plan) -> dict[str, Any]:
    budget = Budget(plan)
    tally = Tally()
    per_user_rate = [plan.rates[0] / plan.users, float(plan.users)]
    user = user_classes(plan, budget, per_user_rate, tally)
    environment = Environment(user_classes=[user], host=plan.url or None)
    runner = environment.create_local_runner()
    steps: list[StepResult] = []
    for rate in plan.rates:
        users = users_for(plan, rate)
        per_user_rate[:] = [rate / users, float(users)]
        runner.start(users, spawn_rate=10_000)
        # One pacing period of warm-up (connections, every user's first request), then the
        # window: completions counted over it are an unbiased measure of the achieved rate.
        gevent.sleep(users / rate)
        environment.stats.reset_all()
        tally.reset()
        started = time.perf_counter()
        deadline = started + plan.step_s
        while time.perf_counter() < deadline and budget.left > 0:
            gevent.sleep(min(0.05, max(0.0, deadline - time.perf_counter())))
        # The achieved rate: completions within the window, over the window.
        elapsed = time.perf_counter() - started
        completed = environment.stats.total.num_requests
        truncated = budget.left <= 0 and elapsed < plan.step_s
        if truncated:  # let the last requests of the budget finish
            gevent.sleep(min(2.0, plan.latency_p99_ms / 1000 * 2))
        runner.stop()
        total = environment.stats.total
        errors = list(environment.stats.errors.values())
        steps.append(
            StepResult(
                rate=rate,
                achieved=completed / elapsed if elapsed else 0.0,
                requests=total.num_requests,
                failures=total.num_failures,
                p50_ms=float(total.get_response_time_percentile(0.5) or 0),
                p99_ms=float(total.get_response_time_percentile(0.99) or 0),
                max_ms=float(total.max_response_time or 0),
                elapsed_s=round(elapsed, 3),
                truncated=truncated,
                first_error=str(errors[0].error) if errors else "",
                throttled=tally.throttled,
                duration_p99_ms=percentile(tally.durations_ms, 0.99),
            )
        )
        if judge(plan, steps).stopped or budget.left <= 0:
            break
    runner.quit()
    return {"locust": locust.__version__, "steps": [vars(s) for s in steps]}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m deploy_tools.capacity.load PLAN.json RESULT.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR)
    plan = Plan.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    result = run(plan)
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
