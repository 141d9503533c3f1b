"""What the gap closers recorded during one install: the rehearsal keeps it on its run
(``LocalAws.journal``) and reads it for its checks and its report."""

from __future__ import annotations

from dataclasses import dataclass, field

from rehearsal.moto_gaps.buckets import BucketSettings
from rehearsal.moto_gaps.endpoint_updates import EndpointUpdates
from rehearsal.moto_gaps.lambda_deployments import LambdaDeployments
from rehearsal.moto_gaps.lambda_network import InterfaceJournal
from rehearsal.moto_gaps.shims import NotEmulatedRecord


@dataclass
class Journal:
    """One install's records, each filled by the patch that owns it."""

    #: Bucket name -> each setting moto dropped -> "applied" or why not (buckets.py).
    bucket_settings: BucketSettings = field(default_factory=dict)
    #: (stack id, logical id) -> (type, reason) of resources only recorded (shims/).
    not_emulated: NotEmulatedRecord = field(default_factory=dict)
    #: Each endpoint's UpdateEndpoint requests, with their DeploymentConfig
    #: (endpoint_updates.py).
    endpoint_updates: EndpointUpdates = field(default_factory=EndpointUpdates)
    #: Lambda's Hyperplane interfaces: created, released, stranded (lambda_network.py).
    lambda_interfaces: InterfaceJournal = field(default_factory=InterfaceJournal)
    #: CodeDeploy's Lambda deployments: steps, rollbacks, the events sent
    #: (lambda_deployments.py).
    lambda_deployments: LambdaDeployments = field(default_factory=LambdaDeployments)
