"""Request validation lives in ``serving_core.predict_request`` (the Lambda-hosted model checks
requests with the same code); these names stay importable from here."""

from serving_core.predict_request import FLOAT32_MAX, ParsedRequest, RequestError, parse_request

__all__ = ["FLOAT32_MAX", "ParsedRequest", "RequestError", "parse_request"]
