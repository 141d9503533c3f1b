"""Start a SageMaker training job for the model's framework with the SageMaker Python SDK v3.

The SDK (``sagemaker==3.27.0``, ~1 GB with mlflow, and it downgrades protobuf next to
TensorFlow) is *not* a dependency of training or serving: install ``requirements-sagemaker.txt``
in its own environment (``scripts/test_sagemaker_launcher.sh`` builds ``.venv-sagemaker``).
It is imported lazily, so importing this module needs nothing beyond the standard library.

The job uses the stack's training role, bucket and KMS key, and keeps to the two prefixes that
role may use: it reads ``datasets/`` and writes ``models/``.

- framework (``--framework``, the environment's ``model.framework``; default tensorflow): the
  training image resolved with ``sagemaker.core.image_uris`` for the framework's pinned
  training version (``serving_core.frameworks``: tensorflow-training 2.19, pytorch-training
  2.6, sagemaker-xgboost 3.2-0, sagemaker-scikit-learn 1.9-0; CPU or GPU by the instance type,
  scikit-learn CPU only). The entry script is ``train.py`` for every framework (SageMaker
  runs it in ``/opt/ml/code``, where only ``train.py`` makes its folder importable as
  ``model_code``); for another framework than TensorFlow the job carries the hyperparameter
  ``framework=<name>``, which SageMaker passes as ``--framework <name>`` and ``train.py``
  hands to that framework's trainer. The SDK knows TensorFlow training images 2.19 and
  2.21 but no 2.20, and serving runs on ``tensorflow-inference:2.20``. We train on **2.19**: a
  SavedModel written by an older TensorFlow loads in a newer TensorFlow Serving, while 2.21
  could write ops or attributes that 2.20 does not know (each framework's default training
  version is the newest not newer than its serving version, for the same reason);
- channels ``train`` (and optional ``validation``, ``test``) from
  ``s3://<bucket>/datasets/<channel>/`` (:func:`upload_data` puts ``<channel>.csv`` there);
- code: ``model_code/`` as ``source_dir`` with the entry script and the framework's
  requirements: ``requirements.txt`` (scikit-learn, pandas, matplotlib) for TensorFlow,
  ``requirements-<framework>.txt`` (that file and the ONNX export's packages) for the others.
  The SDK stages it, with its own driver scripts, under ``s3://<bucket>/models/training-jobs/<job-name>/input/{code,sm_drivers}/``
  with SSE-KMS (``LaunchConfig.code_s3_uri`` moves it);
- output ``s3://<bucket>/models/training-jobs/<job-name>/output/model.tar.gz``, encrypted with
  the KMS key, training volume encrypted with the same key; metric definitions from
  ``model_code.metrics``. A ``model.tar.gz`` under ``models/`` starts the stack's validated
  blue/green promotion, whose quality gate decides whether it serves.

``python -m model_code.launch_training --role-arn ARN --bucket B --kms-key-id KEY
[--framework tensorflow|pytorch|xgboost|sklearn] [--data-dir build/data] [--wait]
[--hyperparameter epochs=100 ...] [--env dev]``

After the job, ``python -m deploy_tools.register_model --env ENV --training-job NAME`` (printed
with the job's name) registers its output in the environment's model registry.
"""

from __future__ import annotations

import argparse
import functools
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from model_code.metrics import METRIC_DEFINITIONS
from serving_core.frameworks import DEFAULT_FRAMEWORK, FRAMEWORK_NAMES, framework_facts
from serving_core.image_tables import ImageScope, ImageSpec

SOURCE_DIR = Path(__file__).resolve().parent
ENTRY_SCRIPT = framework_facts(DEFAULT_FRAMEWORK).entry_script
REQUIREMENTS_FILE = "requirements.txt"
TRAINING_FRAMEWORK_VERSION = framework_facts(DEFAULT_FRAMEWORK).training_version
SERVING_FRAMEWORK_VERSION = framework_facts(DEFAULT_FRAMEWORK).serving_version
#: Only TensorFlow's training script reads it (quieter logs).
FRAMEWORK_ENVIRONMENT: dict[str, dict[str, str]] = {"tensorflow": {"TF_CPP_MIN_LOG_LEVEL": "2"}}
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
CHANNELS = ("train", "validation", "test")
DATASETS_PREFIX = "datasets"
"""Channels read ``s3://<bucket>/datasets/<channel>/`` (the training role reads ``datasets/*``)."""
TRAINING_JOBS_PREFIX = "models/training-jobs"
"""Everything a job writes or the SDK stages for it (the training role writes ``models/*``)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise ValueError(f"{uri!r} is not an s3://bucket/... URI")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class LaunchConfig:
    """Where and how to train. Each S3 URI defaults to the stack's layout in ``bucket``:

    - ``train_s3_uri`` (and ``validation_s3_uri``, ``test_s3_uri`` when set, e.g. by
      :func:`upload_data`): ``s3://<bucket>/datasets/<channel>/``;
    - ``output_s3_uri``: ``s3://<bucket>/models/training-jobs`` (SageMaker writes
      ``<output_s3_uri>/<job-name>/output/model.tar.gz``);
    - ``code_s3_uri``: ``s3://<bucket>/models/training-jobs``, where the SDK stages the source
      code and its driver scripts (``<code_s3_uri>/<job-name>/input/{code,sm_drivers}/``).
    """

    role_arn: str
    bucket: str
    kms_key_id: str
    region: str = "us-east-1"
    train_s3_uri: str | None = None
    validation_s3_uri: str | None = None
    test_s3_uri: str | None = None
    output_s3_uri: str | None = None
    code_s3_uri: str | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600
    base_job_name: str = DEFAULT_BASE_JOB_NAME
    framework: str = DEFAULT_FRAMEWORK
    #: The training image's version; None: the framework's pinned training version.
    framework_version: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        facts = framework_facts(self.framework)  # an unknown framework names the known ones
        given = self.hyperparameters.get("framework")
        if given is not None and given != facts.name:
            raise ValueError(
                f"hyperparameters: framework={given} contradicts framework {facts.name!r} "
                "(the trainer the job runs; leave the hyperparameter out)"
            )

    @property
    def job_hyperparameters(self) -> dict[str, str]:
        """The job's hyperparameters: the given ones and the framework's (``framework=<name>``
        for ``train.py`` to pick the trainer; none for TensorFlow)."""
        given = {k: str(v) for k, v in self.hyperparameters.items()}
        return {**given, **framework_facts(self.framework).training_hyperparameters}

    @property
    def training_version(self) -> str:
        """The training image's version: the one given, else the framework's pinned one."""
        return self.framework_version or framework_facts(self.framework).training_version

    @property
    def requirements_file(self) -> str:
        """What the job installs (``model_code/``): ``requirements.txt`` for TensorFlow,
        ``requirements-<framework>.txt`` (it includes it) for the others."""
        return framework_facts(self.framework).training_requirements

    @property
    def entry_script(self) -> str:
        """The training script in ``model_code/`` (``train.py``, for every framework)."""
        return framework_facts(self.framework).entry_script

    def s3(self, *parts: str) -> str:
        """``s3://<bucket>/<parts...>/``."""
        key = "/".join(p.strip("/") for p in parts if p.strip("/"))
        return f"s3://{self.bucket}/{key}/"

    def channel_uri(self, channel: str) -> str:
        """The channel's URI: its override, else ``s3://<bucket>/datasets/<channel>/``."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
        override: str | None = getattr(self, f"{channel}_s3_uri")
        return override or self.s3(DATASETS_PREFIX, channel)

    @property
    def train_uri(self) -> str:
        return self.channel_uri("train")

    @property
    def input_uris(self) -> dict[str, str]:
        """The job's data channels: ``train`` always, ``validation``/``test`` when set."""
        return {
            channel: self.channel_uri(channel)
            for channel in CHANNELS
            if channel == "train" or getattr(self, f"{channel}_s3_uri")
        }

    @property
    def output_uri(self) -> str:
        return (self.output_s3_uri or self.s3(TRAINING_JOBS_PREFIX)).rstrip("/")

    @property
    def code_uri(self) -> str:
        return (self.code_s3_uri or self.s3(TRAINING_JOBS_PREFIX)).rstrip("/")


def _image_uri(
    framework: str, version: str, scope: ImageScope, region: str, instance_type: str
) -> str:
    """The SDK's image for ``framework`` (its table name), CPU or GPU by ``instance_type``,
    with the newest Python version the table lists for it (as the stack's images)."""
    from sagemaker.core import image_uris

    table = framework_facts(framework).sdk_table
    return str(
        image_uris.retrieve(
            table,
            region=region,
            version=version,
            py_version=ImageSpec(table, version, scope).py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    )


def training_image_uri(
    region: str,
    framework_version: str | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    framework: str = DEFAULT_FRAMEWORK,
) -> str:
    """The training image of ``framework`` (default: its pinned training version)."""
    version = framework_version or framework_facts(framework).training_version
    return _image_uri(framework, version, "training", region, instance_type)


def serving_image_uri(
    region: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    framework: str = DEFAULT_FRAMEWORK,
    framework_version: str | None = None,
) -> str:
    """The serving image the model is served with (TensorFlow Serving for tensorflow)."""
    version = framework_version or framework_facts(framework).serving_version
    return _image_uri(framework, version, "inference", region, instance_type)


def _staging_location(config: LaunchConfig) -> tuple[str, str | None, str]:
    """``code_uri`` as the SDK's (default bucket, default bucket prefix, input key prefix).

    ``ModelTrainer`` (3.27.0) stages local inputs (the ``code`` and ``sm_drivers`` channels) at
    ``s3://<session default bucket>/[<default_bucket_prefix>/]<input_s3_key_prefix>/<job-name>
    /input/<channel>/``, so ``s3://b/models/training-jobs`` becomes ``("b", "models",
    "training-jobs")``: the code sits at ``models/training-jobs/<job-name>/input/code/``, next
    to the job's ``models/training-jobs/<job-name>/output/model.tar.gz``.
    """
    bucket, key = split_s3_uri(config.code_uri)
    parent, _, last = key.rpartition("/")
    if not last:
        raise ValueError(f"code_s3_uri {config.code_uri!r} needs a key prefix (models/...)")
    return bucket, parent or None, last


def make_session(config: LaunchConfig, boto_session: Any = None) -> Any:
    """A SageMaker session whose default bucket and prefix are where the SDK stages the job's
    code (:attr:`LaunchConfig.code_uri`), with the SDK's telemetry turned off."""
    import boto3
    from sagemaker.core.helper.session_helper import Session

    bucket, prefix, _ = _staging_location(config)
    return Session(
        boto_session=boto_session or boto3.Session(region_name=config.region),
        default_bucket=bucket,
        default_bucket_prefix=prefix,
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
    )


def upload_data(
    config: LaunchConfig, data_dir: str | Path, boto_session: Any = None
) -> LaunchConfig:
    """Upload ``train.csv`` (and ``validation.csv``, ``test.csv``) from ``data_dir`` to their
    channel URIs (``s3://<bucket>/datasets/<channel>/<channel>.csv`` unless overridden) with
    SSE-KMS; return the config pointing at them."""
    import boto3

    session = boto_session or boto3.Session(region_name=config.region)
    s3 = session.client("s3")
    uris: dict[str, Any] = {}
    for channel in CHANNELS:
        path = Path(data_dir) / f"{channel}.csv"
        if not path.is_file():
            continue
        uri = config.channel_uri(channel).rstrip("/") + "/"
        bucket, prefix = split_s3_uri(uri)
        s3.upload_file(
            str(path),
            bucket,
            f"{prefix}/{path.name}" if prefix else path.name,
            ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config.kms_key_id},
        )
        uris[f"{channel}_s3_uri"] = uri
    if "train_s3_uri" not in uris:
        raise FileNotFoundError(f"{data_dir} has no train.csv")
    return replace(config, **uris)


@functools.cache
def _model_trainer_class() -> Any:
    """``ModelTrainer`` that stages the job's code where the session says, always.

    In 3.27.0 ``ModelTrainer._resolve_staging_bucket`` asks ``iam:SimulatePrincipalPolicy``
    whether the role may ``s3:PutObject`` on ``arn:aws:s3:::<default bucket>/*``. The stack's role
    writes only ``models/*``, so IAM answers ``implicitDeny`` and the SDK stages under the
    *output* path instead, with the session's prefix appended again
    (``models/training-jobs/models/training-jobs/<job-name>/input/...``), while a caller who may
    not simulate gets the session's location. The launcher has chosen the location already, so
    it skips the probe: the layout is the same for every caller.
    """
    # The SDK's own model_trainer.py imports its deprecated ``sagemaker.train.configs`` shim
    # (3.27.0); that warning is the SDK's, not ours. Only that one is silenced, and only when
    # raised from that module: an import of the shim anywhere else still warns.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"sagemaker\.train\.configs has been moved",
            category=DeprecationWarning,
            module=r"sagemaker\.train\.model_trainer$",
        )
        from sagemaker.train.model_trainer import ModelTrainer

    class LauncherModelTrainer(ModelTrainer):  # type: ignore[misc]
        def _resolve_staging_bucket(self) -> tuple[str, str | None]:
            return str(self.sagemaker_session.default_bucket()), None

    return LauncherModelTrainer


def build_model_trainer(config: LaunchConfig, session: Any = None) -> Any:
    """The ``ModelTrainer`` for the framework's entry script (nothing is sent to AWS yet).

    ``session`` must come from :func:`make_session` for ``config``: its default bucket and
    prefix are where the SDK stages the code."""
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        MetricDefinition,
        Networking,
        OutputDataConfig,
        SourceCode,
        StoppingCondition,
    )

    if not (SOURCE_DIR / config.entry_script).is_file():
        raise FileNotFoundError(
            f"{SOURCE_DIR / config.entry_script} is missing: the {config.framework} training "
            "script the job runs"
        )
    session = session or make_session(config)
    _, _, input_key_prefix = _staging_location(config)
    inputs = [
        InputData(channel_name=channel, data_source=uri)
        for channel, uri in config.input_uris.items()
    ]
    # Traffic between training instances is encrypted, as in the retraining function's jobs;
    # subnets and groups put the job in the private network (PrivateSubnetIds and
    # SageMakerSecurityGroupIds of the data stack's outputs).
    networking = Networking(
        subnets=list(config.subnets) or None,
        security_group_ids=list(config.security_group_ids) or None,
        enable_inter_container_traffic_encryption=True,
    )
    trainer = _model_trainer_class()(
        sagemaker_session=session,
        role=config.role_arn,
        base_job_name=config.base_job_name,
        input_s3_key_prefix=input_key_prefix,
        training_image=training_image_uri(
            config.region, config.training_version, config.instance_type, config.framework
        ),
        source_code=SourceCode(
            source_dir=str(SOURCE_DIR),
            entry_script=config.entry_script,
            requirements=config.requirements_file,
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
        hyperparameters=config.job_hyperparameters,
        environment=dict(FRAMEWORK_ENVIRONMENT.get(config.framework, {})) or None,
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


def build_parser() -> argparse.ArgumentParser:
    """The CLI: one flag per :class:`LaunchConfig` field, plus ``--data-dir`` and ``--wait``."""
    parser = argparse.ArgumentParser(
        prog="python -m model_code.launch_training",
        description="Start a SageMaker training job for the model's framework "
        "(model_code/train.py, with the hyperparameter framework=NAME for another framework "
        "than tensorflow).",
    )
    parser.add_argument("--role-arn", required=True, help="the stack's training role")
    parser.add_argument("--bucket", required=True, help="the stack's artifact bucket")
    parser.add_argument("--kms-key-id", required=True, help="the stack's KMS key (id or ARN)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--data-dir", help="upload train.csv (validation.csv, test.csv) to the channels first"
    )
    for channel in CHANNELS:
        parser.add_argument(
            f"--{channel}-s3-uri",
            metavar="URI",
            help=f"the {channel} channel (default s3://BUCKET/{DATASETS_PREFIX}/{channel}/"
            + (")" if channel == "train" else f" if --data-dir has {channel}.csv, else none)"),
        )
    parser.add_argument(
        "--output-s3-uri",
        metavar="URI",
        help=f"where the job writes <job-name>/output/model.tar.gz (default "
        f"s3://BUCKET/{TRAINING_JOBS_PREFIX}); under models/ it is promoted if it passes "
        "validation",
    )
    parser.add_argument(
        "--code-s3-uri",
        metavar="URI",
        help=f"where the SDK stages <job-name>/input/{{code,sm_drivers}}/ (default "
        f"s3://BUCKET/{TRAINING_JOBS_PREFIX})",
    )
    parser.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE)
    parser.add_argument("--volume-size-gb", type=int, default=30)
    parser.add_argument("--max-runtime-seconds", type=int, default=3600)
    parser.add_argument("--base-job-name", default=DEFAULT_BASE_JOB_NAME)
    parser.add_argument(
        "--framework",
        choices=FRAMEWORK_NAMES,
        default=DEFAULT_FRAMEWORK,
        help="the environment's model.framework: its training image and trainer",
    )
    parser.add_argument(
        "--framework-version",
        default=None,
        help="the training image's version (default: the framework's pinned one, "
        f"{TRAINING_FRAMEWORK_VERSION} for {DEFAULT_FRAMEWORK})",
    )
    parser.add_argument(
        "--hyperparameter",
        dest="hyperparameters",
        action="append",
        type=_hyperparameter,
        default=[],
        metavar="K=V",
    )
    parser.add_argument(
        "--subnet",
        dest="subnets",
        action="append",
        default=[],
        metavar="SUBNET_ID",
        help="VPC subnet (repeat)",
    )
    parser.add_argument(
        "--security-group-id",
        dest="security_group_ids",
        action="append",
        default=[],
        metavar="SG_ID",
        help="VPC security group (repeat)",
    )
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--env", help="the environment to print the registration command for")
    return parser


def config_from_args(args: argparse.Namespace) -> LaunchConfig:
    """The :class:`LaunchConfig` the parsed flags describe."""
    values = {f.name: getattr(args, f.name) for f in fields(LaunchConfig)}
    values["hyperparameters"] = dict(values["hyperparameters"])
    values["subnets"] = tuple(values["subnets"])
    values["security_group_ids"] = tuple(values["security_group_ids"])
    return LaunchConfig(**values)


#: The SDK's pre-flight check of the role (iam:SimulatePrincipalPolicy) insists on ec2 network
#: interface actions that a job outside a VPC never uses; the stack's training role is
#: least-privilege without them, and SageMaker itself checks the role when the job starts.
VALIDATE_ROLE_VARIABLE = "SAGEMAKER_VALIDATE_ROLE"


def main(argv: Sequence[str] | None = None) -> int:
    import os

    os.environ.setdefault(VALIDATE_ROLE_VARIABLE, "false")
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if args.data_dir:
        config = upload_data(config, args.data_dir)
    name = launch(config, wait=args.wait)
    print(json.dumps({"training_job_name": name, "output": config.output_uri}))
    print(registration_hint(name, args.env))
    return 0


def registration_hint(job_name: str, env: str | None) -> str:
    """What to run once the job completed: register its output in the environment's model
    registry (the project's environment, not this one: the SDK and the stack do not mix)."""
    return (
        "register the model once the job completed: python -m deploy_tools.register_model "
        f"--env {env or 'ENV'} --training-job {job_name}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
