"""The post-deployment gate: score held-out rows through a deployed inference API and fail when
accuracy or ROC AUC is below its floor, or when any request fails.

    python -m deploy_tools.check_deployment --rows build/release/held-out.csv \\
        --url https://ID.execute-api.REGION.amazonaws.com/v1/predict \\
        --min-accuracy 0.9 --min-auc 0.95

Requests go through the SigV4 client (``client.predict_client``) with the credentials boto3
finds; the delivery pipeline runs this as the environment's deployer role, which may call
POST /predict of its own API. ``--rows`` is a CSV with a header, the feature columns in the
model's order and a 0/1 label column (``model_code.prepare_data``'s ``test.csv``). Accuracy is
measured on the labels the API answers (the model's own threshold), AUC on its probabilities.
Exit status: 0 passed, 1 below a floor or a request failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client import predict_client

LABEL_COLUMN = "label"


@dataclass(frozen=True)
class Outcome:
    """What the deployed path scored, and why the gate failed (empty: it passed)."""

    rows: int
    accuracy: float
    auc: float
    problems: tuple[str, ...]


def held_out_rows(
    path: Path, label_column: str = LABEL_COLUMN
) -> tuple[list[list[float]], list[int]]:
    """Feature rows (every column but the label, in file order) and 0/1 labels."""
    if not path.is_file():
        raise predict_client.UsageError(f"{path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        if label_column not in columns:
            raise predict_client.UsageError(f"{path}: no {label_column!r} column")
        features = [c for c in columns if c != label_column]
        rows: list[list[float]] = []
        labels: list[int] = []
        for line, record in enumerate(reader, start=2):
            try:
                rows.append([float(record[c]) for c in features])
                label = float(record[label_column])
            except (TypeError, ValueError):
                raise predict_client.UsageError(f"{path} line {line}: not a number") from None
            if label not in (0.0, 1.0):
                raise predict_client.UsageError(f"{path} line {line}: label {label} is not 0/1")
            labels.append(int(label))
    if not rows or len(set(labels)) < 2:
        raise predict_client.UsageError(f"{path}: needs rows of both labels to measure AUC")
    return rows, labels


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve: the probability that a positive row scores above a negative
    one, ties counting half (the Mann-Whitney statistic, with average ranks)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both labels")
    positive_rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y == 1)
    return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def evaluate(
    labels: Sequence[int],
    predictions: Sequence[dict[str, Any]],
    *,
    min_accuracy: float,
    min_auc: float,
) -> Outcome:
    """Compare what the API answered with the labels; every floor missed is a problem."""
    if len(predictions) != len(labels):
        return Outcome(
            len(predictions),
            math.nan,
            math.nan,
            (f"the API answered {len(predictions)} predictions for {len(labels)} rows",),
        )
    predicted = [int(p["label"]) for p in predictions]
    probabilities = [float(p["probability"]) for p in predictions]
    accuracy = sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
    auc = roc_auc(labels, probabilities)
    problems = []
    if accuracy < min_accuracy:
        problems.append(f"accuracy {accuracy:.4f} is below the floor {min_accuracy}")
    if auc < min_auc:
        problems.append(f"ROC AUC {auc:.4f} is below the floor {min_auc}")
    return Outcome(len(labels), accuracy, auc, tuple(problems))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy_tools.check_deployment",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(predict_client.URL_ENV),
        help=f"POST /predict URL ({predict_client.URL_ENV})",
    )
    parser.add_argument("--rows", required=True, type=Path, help="held-out CSV with a label")
    parser.add_argument("--min-accuracy", required=True, type=float)
    parser.add_argument("--min-auc", required=True, type=float)
    parser.add_argument("--batch-size", type=int, default=100, help="rows per request")
    parser.add_argument("--region", help="signing region (default: from the URL)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=2, help="retries of a throttled batch")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        if not args.url:
            raise predict_client.UsageError(
                f"missing API URL: pass --url or set {predict_client.URL_ENV}"
            )
        if args.batch_size < 1:
            raise predict_client.UsageError("--batch-size must be at least 1")
        rows, labels = held_out_rows(args.rows)
        import boto3

        session = boto3.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise predict_client.UsageError("no AWS credentials found")
        region = args.region or predict_client.region_from_url(args.url) or session.region_name
        if not region:
            raise predict_client.UsageError("cannot tell the API's region: pass --region")
        client = predict_client.SignedClient(args.url, region, credentials, args.timeout)
        predictions = predict_client.score(client, rows, args.batch_size, args.retries)
    except predict_client.UsageError as error:
        print(f"check failed: {error}", file=sys.stderr)
        return 2
    except predict_client.ApiError as error:
        print(f"check failed: a request failed: {error}", file=sys.stderr)
        return 1
    outcome = evaluate(labels, predictions, min_accuracy=args.min_accuracy, min_auc=args.min_auc)
    summary = (
        f"{outcome.rows} held-out rows through {args.url}: accuracy {outcome.accuracy:.4f} "
        f"(floor {args.min_accuracy}), ROC AUC {outcome.auc:.4f} (floor {args.min_auc})"
    )
    if outcome.problems:
        print(f"check failed: {summary}: {'; '.join(outcome.problems)}", file=sys.stderr)
        return 1
    print(f"check passed: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
