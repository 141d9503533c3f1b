"""Alarm evaluation, which moto 5.2.5 never does (its alarms stay "OK" forever).

:func:`evaluate` computes each alarm's value from the metrics moto holds and sets its state,
publishing to the alarm's SNS actions on a change to ALARM. It checks what matters locally:
that the alarm's namespace, metric name and dimensions match what the functions, the endpoint
and the promotion actually emit (a mismatch leaves the alarm without data). Simplified: the
whole window (EvaluationPeriods x Period) is one datapoint, not one per period, and
DatapointsToAlarm is not applied. Metric math supports numbers, metric ids, + - * /,
comparisons, FILL(x, value) and IF(condition, a, b); other functions leave the alarm as is.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.utils import utcnow
from moto.sns.models import sns_backends

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))"
)


class UnsupportedAlarmError(ValueError):
    """The alarm uses something this evaluator does not implement; the message says what."""


@dataclass(frozen=True)
class Evaluation:
    """One alarm after evaluation."""

    name: str
    state: str
    value: float | None
    reason: str
    notified: tuple[str, ...] = ()


def _naive(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def _values(
    backend: Any,
    namespace: str,
    name: str,
    dimensions: list[Any],
    since: datetime.datetime,
) -> list[float]:
    wanted = {(d.name, d.value) for d in dimensions}
    found = []
    for datum in backend.metric_data:
        if datum.namespace != namespace or datum.name != name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        if _naive(datum.timestamp) < since or not hasattr(datum, "value"):
            continue
        found.append(float(datum.value))
    return found


def statistic(values: list[float], stat: str) -> float | None:
    """CloudWatch's statistic of ``values`` (None when there are none)."""
    if not values:
        return None
    if stat == "Sum":
        return sum(values)
    if stat == "Average":
        return sum(values) / len(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Maximum":
        return max(values)
    if stat == "SampleCount":
        return float(len(values))
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    if match:
        ordered = sorted(values)
        rank = max(1, math.ceil(float(match[1]) / 100 * len(ordered)))
        return ordered[rank - 1]
    raise UnsupportedAlarmError(f"statistic {stat!r}")


class _Expression:
    """A recursive-descent evaluator of CloudWatch metric math (the subset documented above)."""

    def __init__(self, text: str, variables: dict[str, float | None]) -> None:
        self.tokens: list[str] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match:
                raise UnsupportedAlarmError(f"cannot read {text[position:]!r} in {text!r}")
            self.tokens.append(next(g for g in match.groups() if g is not None))
            position = match.end()
        self.position = 0
        self.variables = variables

    def evaluate(self) -> float | None:
        value = self._comparison()
        if self.position != len(self.tokens):
            raise UnsupportedAlarmError(f"unexpected {self.tokens[self.position]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token != expected):
            raise UnsupportedAlarmError(f"expected {expected or 'more'} in metric math")
        self.position += 1
        return token

    def _comparison(self) -> float | None:
        left = self._additive()
        if self._peek() in (">", "<", ">=", "<=", "==", "!="):
            operator = self._take()
            right = self._additive()
            if left is None or right is None:
                return None
            results = {
                ">": left > right,
                "<": left < right,
                ">=": left >= right,
                "<=": left <= right,
                "==": left == right,
                "!=": left != right,
            }
            return float(results[operator])
        return left

    def _additive(self) -> float | None:
        value = self._term()
        while self._peek() in ("+", "-"):
            operator = self._take()
            right = self._term()
            value = (
                None
                if value is None or right is None
                else (value + right if operator == "+" else value - right)
            )
        return value

    def _term(self) -> float | None:
        value = self._factor()
        while self._peek() in ("*", "/"):
            operator = self._take()
            right = self._factor()
            if value is None or right is None or (operator == "/" and right == 0):
                value = None
            else:
                value = value * right if operator == "*" else value / right
        return value

    def _factor(self) -> float | None:
        symbol = self._take()
        if symbol == "-":
            inner = self._factor()
            return None if inner is None else -inner
        if symbol == "(":
            value = self._comparison()
            self._take(")")
            return value
        if re.fullmatch(r"\d.*", symbol):
            return float(symbol)
        if self._peek() == "(":
            self._take("(")
            arguments = [self._comparison()]
            while self._peek() == ",":
                self._take(",")
                arguments.append(self._comparison())
            self._take(")")
            return self._call(symbol.upper(), arguments)
        if symbol not in self.variables:
            raise UnsupportedAlarmError(f"unknown metric id {symbol!r}")
        return self.variables[symbol]

    @staticmethod
    def _call(name: str, arguments: list[float | None]) -> float | None:
        if name == "FILL" and len(arguments) == 2:
            return arguments[0] if arguments[0] is not None else arguments[1]
        if name == "IF" and len(arguments) == 3:
            if arguments[0] is None:
                return None
            return arguments[1] if arguments[0] else arguments[2]
        raise UnsupportedAlarmError(f"metric math function {name}")


def alarm_value(backend: Any, alarm: Any, now: datetime.datetime) -> float | None:
    """The alarm's value over its window, from moto's metric data."""
    if alarm.metric_data_queries:
        variables: dict[str, float | None] = {}
        returned = None
        for query in alarm.metric_data_queries:
            if query.metric_stat is not None:
                stat = query.metric_stat
                window = int(stat.period or alarm.period or 60) * int(alarm.evaluation_periods)
                variables[query.id] = statistic(
                    _values(
                        backend,
                        stat.metric.namespace,
                        stat.metric.metric_name,
                        stat.metric.dimensions,
                        now - datetime.timedelta(seconds=window),
                    ),
                    stat.stat,
                )
        for query in alarm.metric_data_queries:
            if query.expression:
                variables[query.id] = _Expression(query.expression, variables).evaluate()
            if str(query.return_data).lower() in ("true", "none") or query.return_data is True:
                returned = query.id
        if returned is None:
            raise UnsupportedAlarmError("no query returns data")
        return variables.get(returned)
    window = int(alarm.period) * int(alarm.evaluation_periods)
    values = _values(
        backend,
        alarm.namespace,
        alarm.metric_name,
        alarm.dimensions,
        now - datetime.timedelta(seconds=window),
    )
    return statistic(values, alarm.extended_statistic or alarm.statistic)


def publish_queue_metrics(account_id: str, region: str) -> None:
    """AWS/SQS ApproximateNumberOfMessagesVisible per queue, as SQS publishes each minute."""
    from moto.sqs.models import sqs_backends

    backend = cloudwatch_backends[account_id][region]
    for queue in list(sqs_backends[account_id][region].queues.values()):
        backend.put_metric_data(
            "AWS/SQS",
            [
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Value": float(len(queue.messages)),
                    "Unit": "Count",
                    "Dimensions": [{"Name": "QueueName", "Value": queue.name}],
                }
            ],
        )


def evaluate(account_id: str, region: str, names_containing: str = "") -> list[Evaluation]:
    """Set every alarm's state (or of those whose name contains ``names_containing``) from
    this run's metrics; notify its SNS actions on ALARM."""
    publish_queue_metrics(account_id, region)
    backend = cloudwatch_backends[account_id][region]
    now = _naive(utcnow())
    results = []
    for alarm in list(backend.alarms.values()):
        if names_containing not in alarm.name:
            continue
        try:
            value = alarm_value(backend, alarm, now)
        except UnsupportedAlarmError as error:
            results.append(
                Evaluation(alarm.name, alarm.state_value, None, f"not evaluated: {error}")
            )
            continue
        compare = _COMPARE.get(alarm.comparison_operator)
        if compare is None:
            results.append(
                Evaluation(alarm.name, alarm.state_value, None, "not evaluated: anomaly band")
            )
            continue
        missing = alarm.treat_missing_data or "missing"
        if value is None:
            state = {"breaching": "ALARM", "notBreaching": "OK"}.get(missing, "INSUFFICIENT_DATA")
            reason = f"no datapoints (TreatMissingData {missing})"
        else:
            state = "ALARM" if compare(value, float(alarm.threshold)) else "OK"
            reason = f"{value:g} vs threshold {float(alarm.threshold):g}"
        notified: tuple[str, ...] = ()
        if state != alarm.state_value:
            previous = alarm.state_value
            alarm.update_state(f"rehearsal evaluation: {reason}", json.dumps({}), state)
            _state_change_event(account_id, region, alarm, previous, reason)
            if state == "ALARM" and alarm.actions_enabled:
                notified = tuple(_notify(account_id, region, alarm, previous, reason))
        results.append(Evaluation(alarm.name, state, value, reason, notified))
    return results


def _state_change_event(
    account_id: str, region: str, alarm: Any, previous: str, reason: str
) -> None:
    """CloudWatch sends "CloudWatch Alarm State Change" to EventBridge on every transition;
    moto does not."""
    from moto.events.models import events_backends

    detail = {
        "alarmName": alarm.name,
        "state": {"value": alarm.state_value, "reason": reason},
        "previousState": {"value": previous},
    }
    events_backends[account_id][region].put_events(
        [
            {
                "Source": "aws.cloudwatch",
                "DetailType": "CloudWatch Alarm State Change",
                "Detail": json.dumps(detail),
                "Resources": [alarm.alarm_arn],
            }
        ]
    )


def _notify(account_id: str, region: str, alarm: Any, previous: str, reason: str) -> list[str]:
    sns = sns_backends[account_id][region]
    sent = []
    for arn in alarm.alarm_actions or []:
        if ":sns:" not in arn or arn not in sns.topics:
            continue
        message = {
            "AlarmName": alarm.name,
            "NewStateValue": "ALARM",
            "OldStateValue": previous,
            "NewStateReason": reason,
            "AlarmArn": alarm.alarm_arn,
        }
        sns.topics[arn].publish(json.dumps(message), subject=f'ALARM: "{alarm.name}"')
        sent.append(arn)
    return sent
