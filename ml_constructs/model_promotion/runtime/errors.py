"""What a promotion raises besides a rejected artifact, and how AWS errors are recognised."""

from __future__ import annotations

from botocore.exceptions import ClientError


class EndpointBusyError(Exception):
    """The target is being created, updated or deployed: try this message again later."""


class PromotionFailedError(Exception):
    """Something outside the artifact prevents the promotion (reported, not retried)."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_not_found(error: ClientError) -> bool:
    message = error_message(error).lower()
    return error_code(error) in {"404", "NoSuchKey", "NotFound", "ParameterNotFound"} or (
        error_code(error) == "ValidationException" and "could not find" in message
    )


def is_already_exists(error: ClientError) -> bool:
    message = error_message(error).lower()
    return error_code(error) == "ValidationException" and "already exist" in message
