"""Upload ground-truth labels for model-quality monitoring, in Model Monitor's layout.

The inference API returns an ``inference_id`` with every answer (the request id, sent to
SageMaker as ``InferenceId`` and kept in the captured data). Once the true outcome is known,
``python -m deploy_tools.ground_truth --env dev labels.csv`` writes one record per labelled
request to ``s3://<bucket>/ground-truth/<yyyy>/<mm>/<dd>/<hh>/<id>.jsonl`` (the hour the labels
were collected, as "Ingest Ground Truth labels and merge them with predictions" asks), where
the model-quality schedule merges them with the captured predictions by ``inferenceId``.

``labels.csv`` has the columns ``inference_id,label`` (label 0 or 1). Model Monitor joins one
label to one captured request and reads its first prediction: label requests of one row.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from deploy_tools.publish_model import BUCKET_OUTPUT, KEY_OUTPUT, access_hint
from deploy_tools.stack_outputs import StackOutputsError, read_stack_outputs
from serving_config import ConfigError, load_settings

GROUND_TRUTH_PREFIX = "ground-truth/"
#: InvokeEndpoint's InferenceId: 1-64 printable characters, not starting with whitespace (the
#: API sends printable ASCII ids, so nothing else can be one).
INFERENCE_ID = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,63}$")
MAX_LABELS = 100_000


class GroundTruthError(ValueError):
    """Labels that cannot be uploaded; the message names the line."""


@dataclass(frozen=True)
class Label:
    inference_id: str
    label: int


def read_labels(lines: Iterable[str], source: str = "labels") -> list[Label]:
    """``inference_id,label`` rows (a header row is optional); every problem names its line."""
    labels: list[Label] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or (number == 1 and row[:2] == ["inference_id", "label"]):
            continue
        if len(row) != 2:
            problems.append(
                f"{source}:{number}: expected inference_id,label, got {len(row)} fields"
            )
            continue
        inference_id, label = row[0].strip(), row[1].strip()
        if not INFERENCE_ID.match(inference_id):
            problems.append(
                f"{source}:{number}: {inference_id!r} is not an inference id (1-64 printable "
                "characters, as the API returned it)"
            )
        elif inference_id in seen:
            problems.append(f"{source}:{number}: {inference_id} is labelled twice")
        if label not in ("0", "1"):
            problems.append(f"{source}:{number}: label {label!r} is not 0 or 1")
        if not problems or not problems[-1].startswith(f"{source}:{number}:"):
            labels.append(Label(inference_id, int(label)))
            seen.add(inference_id)
    if problems:
        raise GroundTruthError("; ".join(problems[:20]) + ("; ..." if len(problems) > 20 else ""))
    if not labels:
        raise GroundTruthError(f"{source}: no labels")
    if len(labels) > MAX_LABELS:
        raise GroundTruthError(
            f"{source}: {len(labels)} labels; upload at most {MAX_LABELS} at once"
        )
    return labels


def record(label: Label) -> dict[str, Any]:
    """One ground-truth record: the label as CSV data, keyed by the request's inference id."""
    return {
        "groundTruthData": {"data": str(label.label), "encoding": "CSV"},
        "eventMetadata": {"eventId": label.inference_id},
        "eventVersion": "0",
    }


def object_key(collected_at: dt.datetime, name: str) -> str:
    """``ground-truth/yyyy/mm/dd/hh/<name>.jsonl`` for the hour (UTC) labels were collected."""
    hour = collected_at.astimezone(dt.UTC).strftime("%Y/%m/%d/%H")
    return f"{GROUND_TRUTH_PREFIX}{hour}/{name}.jsonl"


def upload_labels(
    s3: Any,
    bucket: str,
    key_arn: str,
    labels: Sequence[Label],
    collected_at: dt.datetime | None = None,
) -> str:
    """Write the labels as one JSON-lines object (SSE-KMS); returns its URI."""
    key = object_key(collected_at or dt.datetime.now(dt.UTC), uuid.uuid4().hex)
    body = "".join(json.dumps(record(label)) + "\n" for label in labels)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode(),
        ContentType="application/jsonlines",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_arn,
    )
    return f"s3://{bucket}/{key}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment name (serving_config)")
    parser.add_argument("labels", type=Path, help="CSV of inference_id,label")
    parser.add_argument("--endpoint-url", help="AWS endpoint override (e.g. a local moto server)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env)
        if not args.labels.is_file():
            raise GroundTruthError(f"{args.labels} does not exist")
        with args.labels.open(newline="", encoding="utf-8") as handle:
            labels = read_labels(handle, args.labels.name)
        session = boto3.session.Session(region_name=settings.region)
        cloudformation = session.client("cloudformation", endpoint_url=args.endpoint_url)
        outputs = read_stack_outputs(
            cloudformation, f"{settings.prefix}-data", (BUCKET_OUTPUT, KEY_OUTPUT)
        )
        s3 = session.client("s3", endpoint_url=args.endpoint_url)
        uri = upload_labels(s3, outputs[BUCKET_OUTPUT], outputs[KEY_OUTPUT], labels)
    except (ConfigError, GroundTruthError, StackOutputsError) as error:
        print(f"ground truth not uploaded: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("ground truth not uploaded: no AWS credentials found", file=sys.stderr)
        return 2
    except ClientError as error:
        print(
            f"ground truth not uploaded: AWS said: {error}{access_hint(error, args.env)}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as error:
        print(f"ground truth not uploaded: AWS said: {error}", file=sys.stderr)
        return 1
    print(f"{len(labels)} labels uploaded to {uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
