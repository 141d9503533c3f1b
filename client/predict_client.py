"""Score rows from a CSV or JSON file through the inference API, signed with SigV4.

    python -m client.predict_client --url https://ID.execute-api.REGION.amazonaws.com/v1/predict \\
        rows.csv --output predictions.csv

The URL is the serving stack's ``InferenceApiUrl`` output (or ``INFERENCE_API_URL``). Requests
are signed by botocore's SigV4 signer with the credentials boto3 finds (``--profile``,
environment, SSO, instance role); the caller needs ``execute-api:Invoke`` on the API.
Rows are sent in batches (``--batch-size``, at most the API's ``max_rows``); a 503 is retried
after its ``Retry-After``. An asynchronous endpoint's URL (``.../predict-async``, or ``--async``)
is polled: each batch is accepted (202) and fetched with ``GET /predict-async/{id}`` every
``--poll`` seconds for at most ``--wait`` seconds in all. Exit status: 0 all rows scored, 1 the
API or network failed, 2 bad usage or input (missing URL, credentials, unreadable file).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

URL_ENV = "INFERENCE_API_URL"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class UsageError(Exception):
    """Bad arguments, input or local setup (exit status 2)."""


class ApiError(Exception):
    """The API answered an error or could not be reached (exit status 1)."""


def region_from_url(url: str) -> str | None:
    """The region in an execute-api host name, if the URL has one."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    match = _REGION_IN_HOST.search(host)
    return match.group(1) if match else None


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"{where}: {text!r} is not a finite number")
    return value


def read_rows(path: str, stdin: TextIO | None = None) -> list[Any]:
    """Rows from ``.csv`` (optional header line), ``.json`` or ``.jsonl``; ``-`` reads JSON."""
    if path == "-":
        text = (stdin or sys.stdin).read()
        suffix = ".json"
    else:
        file = Path(path)
        if not file.is_file():
            raise UsageError(f"input file {path} does not exist")
        text = file.read_text(encoding="utf-8-sig")
        suffix = file.suffix.lower()
    if suffix == ".csv":
        rows: list[Any] = []
        for line_no, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not cells or all(not c.strip() for c in cells):
                continue
            if line_no == 1 and any(_is_label(c) for c in cells):
                continue  # a header line
            rows.append(
                [_number(c, f"{path} line {line_no}, column {j + 1}") for j, c in enumerate(cells)]
            )
        return rows
    if suffix == ".jsonl":
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as error:
            raise UsageError(f"{path}: not JSON lines: {error}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{path}: not valid JSON: {error}") from None
    if isinstance(document, dict) and "instances" in document:
        document = document["instances"]
    if not isinstance(document, list):
        raise UsageError(f'{path}: expected a list of rows or {{"instances": [...]}}')
    return document


def _is_label(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return True
    return False


def batches(rows: Sequence[Any], size: int) -> Iterator[tuple[int, Sequence[Any]]]:
    """(offset of the first row, rows) per request."""
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


class SignedClient:
    """POSTs JSON to the API, signed with SigV4 for ``execute-api``."""

    def __init__(self, url: str, region: str, credentials: Any, timeout_s: float) -> None:
        from botocore.httpsession import URLLib3Session

        self.url = url
        self.region = region
        self.credentials = credentials
        self.http = URLLib3Session(timeout=math.ceil(timeout_s))

    def post(self, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        return self.send("POST", self.url, payload)

    def get(self, url: str) -> tuple[int, dict[str, str], bytes]:
        return self.send("GET", url, None)

    def send(
        self, method: str, url: str, payload: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import HTTPClientError

        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=payload, headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(
            request
        )
        try:
            response = self.http.send(request.prepare())
        except HTTPClientError as error:
            raise ApiError(f"could not reach {url}: {error}") from None
        return response.status_code, dict(response.headers), response.content


def _error_text(status: int, body: bytes, offset: int) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        message = document.get("message") if isinstance(document, dict) else None
        return f"HTTP {status}: {message or document}"
    field = str(error.get("field", ""))
    # instances[i] in this batch is row offset+i of the input.
    field = re.sub(r"^instances\[(\d+)\]", lambda m: f"row {offset + int(m.group(1))}", field)
    where = f" at {field}" if field else ""
    hint = ""
    if status == 403:
        hint = " (does the caller have execute-api:Invoke on this API, and is the URL right?)"
    return (
        f"HTTP {status} {error.get('code', '')}{where}: {error.get('message', '')}{hint} "
        f"[request id {document.get('request_id', '?')}]"
    )


def _post(client: SignedClient, payload: bytes, retries: int) -> tuple[int, bytes]:
    """POST ``payload``; a 503 is retried up to ``retries`` times after its Retry-After
    (at most 30 s)."""
    for attempt in range(retries + 1):
        status, headers, body = client.post(payload)
        if status == 503 and attempt < retries:
            wait = headers.get("Retry-After") or headers.get("retry-after") or "1"
            time.sleep(min(float(wait) if wait.isdigit() else 1.0, 30.0))
            continue
        break
    return status, body


def score(
    client: SignedClient, rows: Sequence[Any], batch_size: int, retries: int
) -> list[dict[str, Any]]:
    """Predictions for every row, in order; raises ApiError on the first failed batch."""
    results: list[dict[str, Any]] = []
    for offset, chunk in batches(rows, batch_size):
        payload = json.dumps({"instances": list(chunk)}).encode()
        status, body = _post(client, payload, retries)
        if status != 200:
            raise ApiError(
                f"rows {offset}-{offset + len(chunk) - 1}: {_error_text(status, body, offset)}"
            )
        document = json.loads(body)
        variant = document.get("model", {}).get("variant", "")
        for i, prediction in enumerate(document["predictions"]):
            results.append({"row": offset + i, **prediction, "variant": variant})
    return results


def score_async(
    client: SignedClient,
    rows: Sequence[Any],
    batch_size: int,
    retries: int,
    poll_s: float = 5.0,
    wait_s: float = 900.0,
) -> list[dict[str, Any]]:
    """An asynchronous endpoint's predictions: POST /predict-async for every batch (202 and an
    id each), then GET /predict-async/{id} every ``poll_s`` until each is completed, for at
    most ``wait_s`` (an endpoint at zero instances starts one first: minutes)."""
    accepted: list[tuple[int, int, str]] = []  # (offset, rows, id)
    for offset, chunk in batches(rows, batch_size):
        payload = json.dumps({"instances": list(chunk)}).encode()
        status, body = _post(client, payload, retries)
        if status != 202:
            raise ApiError(
                f"rows {offset}-{offset + len(chunk) - 1}: {_error_text(status, body, offset)}"
            )
        accepted.append((offset, len(chunk), str(json.loads(body)["id"])))
    deadline = time.monotonic() + wait_s
    results: list[dict[str, Any]] = []
    for offset, count, request_id in accepted:
        url = f"{client.url.rstrip('/')}/{request_id}"
        while True:
            status, _, body = client.get(url)
            if status == 200:
                break
            if status != 202:
                raise ApiError(f"GET {url}: {_error_text(status, body, offset)}")
            if time.monotonic() >= deadline:
                raise ApiError(
                    f"rows {offset}-{offset + count - 1}: still pending after {wait_s:g} s"
                )
            time.sleep(poll_s)
        document = json.loads(body)
        if document.get("status") != "completed":
            error = document.get("error", {})
            raise ApiError(
                f"rows {offset}-{offset + count - 1}: the model failed: {error.get('message', '')}"
            )
        for i, prediction in enumerate(document["predictions"]):
            results.append({"row": offset + i, **prediction, "variant": ""})
    return results


def write_results(results: list[dict[str, Any]], output: str | None, stdout: TextIO) -> None:
    """CSV for ``*.csv``, a JSON list for ``*.json``, else JSON lines on stdout."""
    if output and output.lower().endswith(".csv"):
        with Path(output).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["row", "probability", "label", "variant"])
            writer.writeheader()
            writer.writerows(results)
    elif output:
        Path(output).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    else:
        for item in results:
            stdout.write(json.dumps(item) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m client.predict_client",
        description="Score rows through the inference API with your AWS credentials (SigV4).",
    )
    parser.add_argument("input", help="rows: .csv (optional header), .json, .jsonl or - (stdin)")
    parser.add_argument(
        "--url", default=os.environ.get(URL_ENV), help=f"POST /predict URL ({URL_ENV})"
    )
    parser.add_argument("--region", help="signing region (default: from the URL or your profile)")
    parser.add_argument("--profile", help="AWS profile to sign with")
    parser.add_argument(
        "--batch-size", type=int, default=100, help="rows per request (<= API max_rows)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=2, help="retries of a throttled (503) batch")
    parser.add_argument("--output", "-o", help="write .csv or .json here instead of stdout")
    parser.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="an asynchronous endpoint: POST /predict-async, then poll GET /predict-async/{id} "
        "(implied by a URL ending in /predict-async)",
    )
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between async polls")
    parser.add_argument(
        "--wait", type=float, default=900.0, help="seconds to wait for async results in all"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Entry point; returns the exit status."""
    out = stdout or sys.stdout
    args = parse_args(argv)
    try:
        if not args.url:
            raise UsageError(
                f"missing API URL: pass --url or set {URL_ENV} "
                "(the serving stack's InferenceApiUrl output)"
            )
        if args.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            session = boto3.Session(profile_name=args.profile)
        except ProfileNotFound as error:
            raise UsageError(str(error)) from None
        credentials = session.get_credentials()
        if credentials is None:
            raise UsageError(
                "no AWS credentials found: use --profile, AWS_PROFILE, `aws sso login` or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        region = args.region or region_from_url(args.url) or session.region_name
        if not region:
            raise UsageError("cannot tell the API's region: pass --region")
        rows = read_rows(args.input)
        if not rows:
            raise UsageError(f"{args.input} holds no rows")
        client = SignedClient(args.url, region, credentials, args.timeout)
        if args.asynchronous or args.url.rstrip("/").endswith("/predict-async"):
            if not args.url.rstrip("/").endswith("/predict-async"):
                raise UsageError("--async needs the POST /predict-async URL")
            if args.poll <= 0 or args.wait <= 0:
                raise UsageError("--poll and --wait must be above 0")
            results = score_async(client, rows, args.batch_size, args.retries, args.poll, args.wait)
        else:
            results = score(client, rows, args.batch_size, args.retries)
        write_results(results, args.output, out)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"scored {len(results)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
