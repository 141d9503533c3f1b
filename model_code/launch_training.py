"""Start a SageMaker training job for ``train.py`` with the SageMaker Python SDK v3.

The SDK (``sagemaker==3.27.0``, ~1 GB with mlflow, and it downgrades protobuf next to
TensorFlow) is *not* a dependency of training or serving: install ``requirements-sagemaker.txt``
in its own environment (``scripts/test_sagemaker_launcher.sh`` builds ``.venv-sagemaker``).
It is imported lazily, so importing this module needs nothing beyond the standard library.

The job uses the stack's training role, bucket and KMS key:

- image: ``tensorflow-training`` resolved with ``sagemaker.core.image_uris`` (CPU, py312).
  The SDK knows training images 2.19 and 2.21 but no 2.20, and serving runs on
  ``tensorflow-inference:2.20``. We train on **2.19**: a SavedModel written by an older
  TensorFlow loads in a newer TensorFlow Serving, while 2.21 could write ops or attributes
  that 2.20 does not know;
- code: ``model_code/`` as ``source_dir`` with entry script ``train.py`` and
  ``requirements.txt`` (scikit-learn, pandas, matplotlib), uploaded to the bucket with SSE-KMS;
- channels ``train`` (and optional ``validation``, ``test``) from S3 prefixes;
- output to ``s3://<bucket>/<prefix>/output`` encrypted with the KMS key, training volume
  encrypted with the same key; metric definitions from ``model_code.metrics``.

``python -m model_code.launch_training --role-arn ARN --bucket B --kms-key-id KEY
[--data-dir build/data] [--wait] [--hyperparameter epochs=100 ...]``
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from model_code.metrics import METRIC_DEFINITIONS

SOURCE_DIR = Path(__file__).resolve().parent
ENTRY_SCRIPT = "train.py"
REQUIREMENTS_FILE = "requirements.txt"
TRAINING_FRAMEWORK_VERSION = "2.19"
TRAINING_PY_VERSION = "py312"
SERVING_FRAMEWORK_VERSION = "2.20"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_BASE_JOB_NAME = "binary-classifier"
CODE_IGNORE_PATTERNS = [
    "__pycache__",
    "*.pyc",
    ".DS_Store",
    ".ipynb_checkpoints",
    "build",
    "local_server.py",
    "launch_training.py",
]


@dataclass(frozen=True)
class LaunchConfig:
    """Where and how to train. S3 URIs default to prefixes under ``s3://bucket/prefix/``."""

    role_arn: str
    bucket: str
    kms_key_id: str
    region: str = "us-east-1"
    prefix: str = "training"
    train_s3_uri: str | None = None
    validation_s3_uri: str | None = None
    test_s3_uri: str | None = None
    output_s3_uri: str | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600
    base_job_name: str = DEFAULT_BASE_JOB_NAME
    framework_version: str = TRAINING_FRAMEWORK_VERSION
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def s3(self, *parts: str) -> str:
        key = "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))
        return f"s3://{self.bucket}/{key}/"

    @property
    def train_uri(self) -> str:
        return self.train_s3_uri or self.s3("data", "train")

    @property
    def test_uri(self) -> str | None:
        return self.test_s3_uri

    @property
    def output_uri(self) -> str:
        return self.output_s3_uri or self.s3("output").rstrip("/")


def training_image_uri(
    region: str,
    framework_version: str = TRAINING_FRAMEWORK_VERSION,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
) -> str:
    """The ``tensorflow-training`` image for ``framework_version`` in ``region``."""
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            "tensorflow",
            region=region,
            version=framework_version,
            py_version=TRAINING_PY_VERSION,
            instance_type=instance_type,
            image_scope="training",
        )
    )


def serving_image_uri(region: str, instance_type: str = DEFAULT_INSTANCE_TYPE) -> str:
    """The ``tensorflow-inference`` (TensorFlow Serving) image the model is served with."""
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            "tensorflow",
            region=region,
            version=SERVING_FRAMEWORK_VERSION,
            instance_type=instance_type,
            image_scope="inference",
        )
    )


def make_session(config: LaunchConfig, boto_session: Any = None) -> Any:
    """A SageMaker session on the stack's bucket, with the SDK's telemetry turned off."""
    import boto3
    from sagemaker.core.helper.session_helper import Session

    return Session(
        boto_session=boto_session or boto3.Session(region_name=config.region),
        default_bucket=config.bucket,
        default_bucket_prefix=config.prefix,
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
    )


def upload_data(
    config: LaunchConfig, data_dir: str | Path, boto_session: Any = None
) -> LaunchConfig:
    """Upload ``train.csv`` (and ``test.csv``, ``validation.csv``) from ``data_dir`` to their
    channel prefixes with SSE-KMS; return the config pointing at them."""
    import boto3

    session = boto_session or boto3.Session(region_name=config.region)
    s3 = session.client("s3")
    uris: dict[str, Any] = {}
    for channel in ("train", "validation", "test"):
        path = Path(data_dir) / f"{channel}.csv"
        if not path.is_file():
            continue
        uri = config.s3("data", channel)
        key = uri.removeprefix(f"s3://{config.bucket}/") + path.name
        s3.upload_file(
            str(path),
            config.bucket,
            key,
            ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config.kms_key_id},
        )
        uris[f"{channel}_s3_uri"] = uri
    if "train_s3_uri" not in uris:
        raise FileNotFoundError(f"{data_dir} has no train.csv")
    return replace(config, **uris)


def build_model_trainer(config: LaunchConfig, session: Any = None) -> Any:
    """The ``ModelTrainer`` for ``train.py`` (nothing is sent to AWS yet)."""
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import (
        Compute,
        InputData,
        MetricDefinition,
        Networking,
        OutputDataConfig,
        SourceCode,
        StoppingCondition,
    )

    session = session or make_session(config)
    inputs = [InputData(channel_name="train", data_source=config.train_uri)]
    if config.validation_s3_uri:
        inputs.append(InputData(channel_name="validation", data_source=config.validation_s3_uri))
    if config.test_s3_uri:
        inputs.append(InputData(channel_name="test", data_source=config.test_s3_uri))
    networking = None
    if config.subnets or config.security_group_ids:
        networking = Networking(
            subnets=list(config.subnets), security_group_ids=list(config.security_group_ids)
        )
    trainer = ModelTrainer(
        sagemaker_session=session,
        role=config.role_arn,
        base_job_name=config.base_job_name,
        training_image=training_image_uri(
            config.region, config.framework_version, config.instance_type
        ),
        source_code=SourceCode(
            source_dir=str(SOURCE_DIR),
            entry_script=ENTRY_SCRIPT,
            requirements=REQUIREMENTS_FILE,
            ignore_patterns=CODE_IGNORE_PATTERNS,
        ),
        compute=Compute(
            instance_type=config.instance_type,
            instance_count=1,
            volume_size_in_gb=config.volume_size_gb,
            volume_kms_key_id=config.kms_key_id,
        ),
        networking=networking,
        stopping_condition=StoppingCondition(max_runtime_in_seconds=config.max_runtime_seconds),
        output_data_config=OutputDataConfig(
            s3_output_path=config.output_uri,
            kms_key_id=config.kms_key_id,
            compression_type="GZIP",
        ),
        input_data_config=inputs,
        hyperparameters={k: str(v) for k, v in config.hyperparameters.items()},
        environment={"TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return trainer.with_metric_definitions(
        [MetricDefinition(name=d["Name"], regex=d["Regex"]) for d in METRIC_DEFINITIONS]
    )


def launch(config: LaunchConfig, wait: bool = False, session: Any = None) -> str:
    """Create the training job; return its name (waits for it when ``wait``)."""
    trainer = build_model_trainer(config, session)
    trainer.train(wait=wait, logs=wait)
    return str(trainer._latest_training_job.training_job_name)


def _hyperparameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_code.launch_training",
        description="Start a SageMaker training job for model_code/train.py.",
    )
    parser.add_argument("--role-arn", required=True, help="the stack's training role")
    parser.add_argument("--bucket", required=True, help="the stack's artifact bucket")
    parser.add_argument("--kms-key-id", required=True, help="the stack's KMS key (id or ARN)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="training")
    parser.add_argument("--data-dir", help="upload train.csv/test.csv from here first")
    parser.add_argument("--train-s3-uri")
    parser.add_argument("--validation-s3-uri")
    parser.add_argument("--test-s3-uri")
    parser.add_argument("--output-s3-uri")
    parser.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE)
    parser.add_argument("--max-runtime-seconds", type=int, default=3600)
    parser.add_argument("--framework-version", default=TRAINING_FRAMEWORK_VERSION)
    parser.add_argument(
        "--hyperparameter", action="append", type=_hyperparameter, default=[], metavar="K=V"
    )
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args(argv)
    config = LaunchConfig(
        role_arn=args.role_arn,
        bucket=args.bucket,
        kms_key_id=args.kms_key_id,
        region=args.region,
        prefix=args.prefix,
        train_s3_uri=args.train_s3_uri,
        validation_s3_uri=args.validation_s3_uri,
        test_s3_uri=args.test_s3_uri,
        output_s3_uri=args.output_s3_uri,
        instance_type=args.instance_type,
        max_runtime_seconds=args.max_runtime_seconds,
        framework_version=args.framework_version,
        hyperparameters=dict(args.hyperparameter),
    )
    if args.data_dir:
        config = upload_data(config, args.data_dir)
    name = launch(config, wait=args.wait)
    print(json.dumps({"training_job_name": name, "output": config.output_uri}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
