"""One rule per module, as cdk-nag's own rules; ``RULES`` is the pack's list."""

from __future__ import annotations

from ml_constructs.preconditions.rule import Rule
from ml_constructs.preconditions.rules import (
    depends_on_what_it_needs,
    gateway_endpoint_admits_s3_access,
    key_admits_encrypting_services,
    lambda_vpc_permissions,
    provisioned_concurrency_fits,
    sagemaker_vpc_permissions,
    vpc_calls_have_endpoints,
)

RULES: tuple[Rule, ...] = (
    lambda_vpc_permissions.RULE,
    sagemaker_vpc_permissions.RULE,
    depends_on_what_it_needs.RULE,
    gateway_endpoint_admits_s3_access.RULE,
    key_admits_encrypting_services.RULE,
    vpc_calls_have_endpoints.RULE,
    provisioned_concurrency_fits.RULE,
)
