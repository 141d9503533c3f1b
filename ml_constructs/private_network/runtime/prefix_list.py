"""CloudFormation custom resource: the id of the region's AWS-managed S3 prefix list.

Security groups can admit the S3 gateway endpoint's traffic only by that id
(``DestinationPrefixListId``), which no CloudFormation attribute returns and which differs by
region: it is looked up when the stack is deployed (``ec2:DescribeManagedPrefixLists``) and
returned as the ``PrefixListId`` attribute. Standard library and boto3 only; the response is
PUT to CloudFormation's pre-signed URL.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3


def prefix_list_id(ec2: Any, name: str) -> str:
    found = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [name]}]
    )["PrefixLists"]
    if len(found) != 1:
        raise LookupError(f"{len(found)} managed prefix lists are named {name}")
    return str(found[0]["PrefixListId"])


def respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": data.get("PrefixListId")
            or event.get("PhysicalResourceId")
            or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        answer.read()


def lambda_handler(event: dict[str, Any], context: Any = None) -> None:
    try:
        if event["RequestType"] == "Delete":
            respond(event, "SUCCESS", "nothing to delete", {})
            return
        name = str(event["ResourceProperties"]["PrefixListName"])
        found = prefix_list_id(boto3.client("ec2"), name)
        respond(event, "SUCCESS", f"{name} is {found}", {"PrefixListId": found})
    except Exception as error:  # every failure must reach CloudFormation, or it waits an hour
        respond(event, "FAILED", f"{type(error).__name__}: {error}", {})
