"""``--keep-running``: leave the local deployment up and say how to reach it with the AWS CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path


def keep_running(
    moto_url: str,
    runtime_url: str,
    region: str,
    endpoint: str,
    function: str | None,
    sample_event: Path,
    api_url: str,
) -> None:
    print(
        f"""
Still running. In another shell:
  export AWS_ENDPOINT_URL={moto_url} AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={runtime_url}
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={region}
  aws cloudformation describe-stacks --query 'Stacks[].[StackName,StackStatus]'
  aws sagemaker describe-endpoint --endpoint-name {endpoint}
  aws lambda invoke --function-name {function} --payload fileb://{sample_event} answer.json
  curl -s -X POST {api_url}/predict -H 'Content-Type: application/json' \\
      -d @{sample_event.with_name("sample-body.json")}
  aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint} \\
      --content-type text/csv --body fileb://{sample_event.with_suffix(".csv")} answer.json
Press Ctrl-C to stop.""",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping")


def write_samples(workdir: Path, rows: list[list[float]]) -> Path:
    """An API Gateway event and a CSV body with two held-out rows, for the AWS CLI."""
    body = json.dumps({"instances": rows[:2]})
    event = {
        "httpMethod": "POST",
        "path": "/predict",
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }
    path = workdir / "sample-event.json"
    path.write_text(json.dumps(event))
    path.with_name("sample-body.json").write_text(body)
    path.with_suffix(".csv").write_text(
        "\n".join(",".join(repr(v) for v in row) for row in rows[:2]) + "\n"
    )
    return path
