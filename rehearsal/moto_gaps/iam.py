"""IAM enforcement: every call a deployed function makes is signed with its execution role.

moto can authorize requests (``INITIAL_NO_AUTH_ACTION_COUNT``) but is off by default, and even
on it only knows the resource of S3 requests: any other request is checked against resource
``*``, which no scoped statement matches, so least-privilege roles would be denied everything.
This module turns authorization on, gives the rehearsal an operator identity (an IAM user with
full access, like the person who deploys), hands each function the credentials of its own role
(AssumeRole through moto's STS), and makes moto's check *action-level* where moto cannot name
the resource: a statement whose Resource is scoped still grants its actions. Conditions are not
evaluated (treated as met). So: a role that lacks an action its function calls fails the
rehearsal; a statement scoped to the wrong resource is caught only for S3.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto import settings as moto_settings
from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from rehearsal.moto_gaps._patching import patch

OPERATOR = "rehearsal-operator"
_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """Access key, secret and (for a role) session token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


def _check_element_matches(original: Any) -> Any:
    def check(self: Any, statement_element: str, value: str) -> bool:
        if statement_element == "Resource" and value == "*":
            return True  # moto could not name the resource: check the action only
        return bool(original(self, statement_element, value))

    return check


def _signature_checked(original: Any) -> Any:
    """botocore compresses a PutMetricData body of 10 KB or more (gzip, ``Content-Encoding:
    gzip``; botocore's request compression) and signs the compressed bytes; moto 5.2.5 checks
    the signature over the body it has already decompressed and refuses the request as
    SignatureDoesNotMatch. Compressed requests skip the signature check; the access key still
    names the identity whose policies authorize the request."""

    def check_signature(self: Any) -> None:
        headers = {k.lower(): v for k, v in self._headers.items()}
        if headers.get("content-encoding") == "gzip":
            return
        original(self)

    return check_signature


def _empty_payload_signed_empty(original: Any) -> Any:
    """moto 5.2.5 recomputes the signature of a request without a body (Scheduler's GETs and
    DELETEs) over ``self._data`` when the body is empty, and for rest-json services that is the
    request's headers, not its payload: every such request fails as SignatureDoesNotMatch. A
    GET, HEAD or DELETE without a body is signed over the empty payload botocore signed (a
    query-protocol POST's form data stays as it was)."""

    def create(self: Any) -> Any:
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            data, self._data = self._data, b""
            try:
                return original(self)
            finally:
                self._data = data
        return original(self)

    return create


#: Signing names that are not their service's IAM prefix (moto names the action after the
#: signing name: CloudWatch signs as ``monitoring``, its actions are ``cloudwatch:*``).
_IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}


def _named_after_the_iam_prefix(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        prefix = _IAM_PREFIX_OF_SIGNING_NAME.get(self._service)
        if prefix is not None:
            self._action = f"{prefix}:{self._action.split(':', 1)[1]}"

    return init


def _conditions_met(self: Any, incoming_condition_values: Any = None) -> bool:
    return True  # moto has no request context for most condition keys: not evaluated


def enforce(account_id: str, partition: str = "aws") -> Credentials:
    """Turn on authorization for every request; returns the operator's credentials."""
    with _lock:
        iam = iam_backends[account_id][partition]
        if OPERATOR not in {u.name for u in iam.list_users("/", None, None)}:
            iam.create_user("us-east-1", OPERATOR)
            iam.put_user_policy(
                OPERATOR,
                "operate-the-rehearsal",
                json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    }
                ),
            )
        key = iam.create_access_key(OPERATOR)
        patch(
            IAMPolicyStatement,
            "_check_element_matches",
            _check_element_matches(IAMPolicyStatement._check_element_matches),
        )
        patch(IAMPolicyStatement, "_check_conditions", _conditions_met)
        patch(IAMRequestBase, "check_signature", _signature_checked(IAMRequestBase.check_signature))
        patch(
            IAMRequestBase,
            "_create_aws_request",
            _empty_payload_signed_empty(IAMRequestBase._create_aws_request),
        )
        patch(IAMRequestBase, "__init__", _named_after_the_iam_prefix(IAMRequestBase.__init__))
        patch(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        return Credentials(key.access_key_id, key.secret_access_key)


def role_credentials(account_id: str, region: str, role_arn: str, session: str) -> Credentials:
    """AssumeRole through moto's STS: what Lambda gives a function of ``role_arn``."""
    role = sts_backends[account_id]["aws"].assume_role(
        region_name=region,
        role_session_name=session[:64],
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return Credentials(role.access_key_id, role.secret_access_key, role.session_token)


def as_client_kwargs(credentials: Credentials) -> Mapping[str, str | None]:
    """boto3 Session keyword arguments."""
    return {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
    }
