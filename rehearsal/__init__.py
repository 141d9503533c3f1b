"""The local rehearsal: the whole product on one machine, with no AWS account and no docker.

``python -m rehearsal`` (see :mod:`rehearsal.cli`) trains the model, synthesizes the app for the
``local`` environment, deploys both stacks into moto on 127.0.0.1 and proves the product end to
end. :mod:`rehearsal.moto_gaps` is the one place where moto 5.2.5 is extended (pinned to that
version); :mod:`rehearsal.serving` stands in for the SageMaker endpoint's container.
"""
