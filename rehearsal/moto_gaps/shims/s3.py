"""S3: moto 5.2.5's CloudFormation skips bucket policies (their conditions:
:mod:`rehearsal.moto_gaps.buckets`)."""

from __future__ import annotations

from moto.s3.models import s3_backends

from rehearsal.moto_gaps._aws import partition
from rehearsal.moto_gaps._patching import CfnCall
from rehearsal.moto_gaps.shims.base import Shim, policy_json
from rehearsal.moto_gaps.shims.registry import register


@register("AWS::S3::BucketPolicy")
class BucketPolicy(Shim):
    """-> PutBucketPolicy."""

    @classmethod
    def create(cls, call: CfnCall) -> BucketPolicy:
        p = call.properties
        backend = s3_backends[call.account_id][partition(call.region_name)]
        backend.put_bucket_policy(p["Bucket"], policy_json(p["PolicyDocument"]).encode())
        return cls(call.resource_name, p, {})
