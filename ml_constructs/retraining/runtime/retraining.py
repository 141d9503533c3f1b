"""Start a SageMaker training job when a model alarm fires; report each start and outcome.

Never more than one retraining runs: a job of this stack still in progress means no new one,
the newest one started less than ``COOLDOWN_HOURS`` ago means no new one, and a job is named
after its cool-down window (``<prefix>-retrain-<yymmddHHMM>``), so two alarms handled at the
same moment collide on the name (SageMaker refuses the second) instead of starting two. The
job is the launcher's (``model_code.launch_training``): the same training image, code
(``train.py`` from the bundled ``training_code/``, staged as the script-mode
``sourcedir.tar.gz``), channels under ``datasets/``, training role and key; its output goes to
``models/retrained-<time>/``, where the validated blue/green promotion takes it (or, where the
environment promotes from the registry only, the outcome says how to register it).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

CODE_DIR = Path(__file__).resolve().parent / "training_code"
#: The training script of every framework (``serving_core.frameworks``): another framework
#: than TensorFlow comes with the hyperparameter ``framework`` (in ``HYPERPARAMETERS``).
ENTRY_SCRIPT = "train.py"
#: What SageMaker's training toolkit installs from the staged code (that name only). Another
#: framework's ``requirements-<framework>.txt`` (``TRAINING_REQUIREMENTS``) is staged as it,
#: with its ``-r requirements.txt`` inlined.
REQUIREMENTS = "requirements.txt"
_REQUIREMENTS_FILE = re.compile(r"requirements(-[a-z0-9]+)?\.txt")
RUNNING = "InProgress"
FINISHED = ("Completed", "Failed", "Stopped")


class ConfigurationError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class RetrainingConfig:
    """What the construct wrote into the function's environment."""

    prefix: str
    bucket: str
    key_arn: str
    role_arn: str
    image_uri: str
    instance_type: str
    volume_size_gb: int
    max_runtime_s: int
    cooldown_hours: int
    topic_arn: str
    alarm_name_prefixes: tuple[str, ...]
    promotes_uploads: bool
    environment_name: str
    hyperparameters: dict[str, str] = field(default_factory=dict)
    metric_definitions: list[dict[str, str]] = field(default_factory=list)
    vpc_config: dict[str, list[str]] = field(default_factory=dict)
    #: The framework's requirements in the bundled code (``serving_core.frameworks``).
    requirements_file: str = REQUIREMENTS

    def to_env(self, dump: Callable[[Any], str] = json.dumps) -> dict[str, str]:
        """The environment :meth:`from_env` reads; ``dump`` writes JSON (the construct passes
        one that keeps deploy-time tokens)."""
        variables = {
            "NAME_PREFIX": self.prefix,
            "ENVIRONMENT_NAME": self.environment_name,
            "ARTIFACT_BUCKET": self.bucket,
            "KEY_ARN": self.key_arn,
            "TRAINING_ROLE_ARN": self.role_arn,
            "TRAINING_IMAGE_URI": self.image_uri,
            "INSTANCE_TYPE": self.instance_type,
            "VOLUME_SIZE_GB": str(self.volume_size_gb),
            "MAX_RUNTIME_S": str(self.max_runtime_s),
            "COOLDOWN_HOURS": str(self.cooldown_hours),
            "TOPIC_ARN": self.topic_arn,
            "ALARM_NAME_PREFIXES": ",".join(self.alarm_name_prefixes),
            "PROMOTES_UPLOADS": str(self.promotes_uploads).lower(),
            "HYPERPARAMETERS": json.dumps(dict(self.hyperparameters), sort_keys=True),
            "METRIC_DEFINITIONS": json.dumps(self.metric_definitions),
            "VPC_CONFIG": dump(self.vpc_config),
        }
        if self.requirements_file != REQUIREMENTS:  # TensorFlow's environment as it was
            variables["TRAINING_REQUIREMENTS"] = self.requirements_file
        return variables

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetrainingConfig:
        def text(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"{name}: required environment variable is not set")
            return value

        def number(name: str) -> int:
            try:
                return int(text(name))
            except ValueError:
                raise ConfigurationError(f"{name}: {env.get(name)!r} is not an integer") from None

        def document(name: str) -> Any:
            try:
                return json.loads(text(name))
            except json.JSONDecodeError as error:
                raise ConfigurationError(f"{name}: not valid JSON ({error})") from None

        requirements = env.get("TRAINING_REQUIREMENTS", "").strip() or REQUIREMENTS
        if not _REQUIREMENTS_FILE.fullmatch(requirements):
            raise ConfigurationError(
                f"TRAINING_REQUIREMENTS: {requirements!r} is not a requirements-<name>.txt"
            )
        return cls(
            prefix=text("NAME_PREFIX"),
            bucket=text("ARTIFACT_BUCKET"),
            key_arn=text("KEY_ARN"),
            role_arn=text("TRAINING_ROLE_ARN"),
            image_uri=text("TRAINING_IMAGE_URI"),
            instance_type=text("INSTANCE_TYPE"),
            volume_size_gb=number("VOLUME_SIZE_GB"),
            max_runtime_s=number("MAX_RUNTIME_S"),
            cooldown_hours=number("COOLDOWN_HOURS"),
            topic_arn=text("TOPIC_ARN"),
            alarm_name_prefixes=tuple(p for p in text("ALARM_NAME_PREFIXES").split(",") if p),
            promotes_uploads=text("PROMOTES_UPLOADS") == "true",
            environment_name=text("ENVIRONMENT_NAME"),
            hyperparameters={str(k): str(v) for k, v in document("HYPERPARAMETERS").items()},
            metric_definitions=list(document("METRIC_DEFINITIONS")),
            vpc_config=dict(document("VPC_CONFIG")) if env.get("VPC_CONFIG") else {},
            requirements_file=requirements,
        )

    @property
    def job_prefix(self) -> str:
        return f"{self.prefix}-retrain-"


@dataclass(frozen=True)
class Outcome:
    status: str  # started | skipped | ignored | reported
    detail: str
    job: str | None = None


def staged_requirements(code_dir: Path, requirements_file: str) -> bytes:
    """The ``requirements.txt`` the job installs: ``requirements_file`` with its
    ``-r requirements.txt`` replaced by that file's lines (the toolkit installs no other name)."""
    base = (code_dir / REQUIREMENTS).read_text(encoding="utf-8").rstrip("\n")
    lines = (code_dir / requirements_file).read_text(encoding="utf-8").splitlines()
    merged = [base if line.strip() == f"-r {REQUIREMENTS}" else line for line in lines]
    return ("\n".join(merged) + "\n").encode()


def source_archive(code_dir: Path = CODE_DIR, requirements_file: str = REQUIREMENTS) -> bytes:
    """``sourcedir.tar.gz`` of the training code: sorted, no timestamps (the same bytes for the
    same code); another framework's requirements staged as ``requirements.txt``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(p for p in code_dir.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            data = path.read_bytes()
            if path == code_dir / REQUIREMENTS and requirements_file != REQUIREMENTS:
                data = staged_requirements(code_dir, requirements_file)
            info = tarfile.TarInfo(path.relative_to(code_dir).as_posix())
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


class Retrainer:
    """Starts retraining jobs and reports on them, for one stack."""

    def __init__(
        self, config: RetrainingConfig, clients: Mapping[str, Any], code_dir: Path = CODE_DIR
    ) -> None:
        for name in (ENTRY_SCRIPT, REQUIREMENTS, config.requirements_file):
            if not (code_dir / name).is_file():
                raise ConfigurationError(f"{code_dir} holds no {name}: the bundle is broken")
        self.code_dir = code_dir
        self.config = config
        self.sagemaker = clients["sagemaker"]
        self.s3 = clients["s3"]
        self.sns = clients["sns"]

    # -- an alarm fired -------------------------------------------------------------------

    def on_alarm(self, alarm_name: str, reason: str, now: dt.datetime | None = None) -> Outcome:
        config = self.config
        if not alarm_name.startswith(config.alarm_name_prefixes):
            return Outcome("ignored", f"{alarm_name} is not one of this model's alarms")
        now = now or dt.datetime.now(dt.UTC)
        running = self._jobs(status=RUNNING)
        if running:
            return self._skip(alarm_name, f"{running[0]['TrainingJobName']} is still running")
        recent = self._jobs()
        if recent:
            newest = max(recent, key=lambda job: job["CreationTime"])
            started = newest["CreationTime"]
            ready = started + dt.timedelta(hours=config.cooldown_hours)
            if now < ready:
                return self._skip(
                    alarm_name,
                    f"{newest['TrainingJobName']} started at {started:%Y-%m-%d %H:%M} UTC; "
                    f"cool-down until {ready:%Y-%m-%d %H:%M} UTC",
                )
        name = self.job_name(now)
        try:
            self.sagemaker.create_training_job(**self.training_job(name, now, alarm_name))
        except ClientError as error:
            if "ResourceInUse" in str(error.response.get("Error", {}).get("Code", "")):
                return self._skip(alarm_name, f"{name} was started for this window already")
            raise
        self.notify(
            "started",
            f"Retraining {name} started",
            {"job": name, "alarm": alarm_name, "reason": reason},
        )
        return Outcome("started", f"{name} started by {alarm_name}", name)

    def job_name(self, now: dt.datetime) -> str:
        """``<prefix>-retrain-<yymmddHHMM>`` of the cool-down window ``now`` falls in."""
        window = self.config.cooldown_hours * 3600
        start = dt.datetime.fromtimestamp(int(now.timestamp()) // window * window, dt.UTC)
        return f"{self.config.job_prefix}{start:%y%m%d%H%M}"

    def training_job(self, name: str, now: dt.datetime, alarm_name: str) -> dict[str, Any]:
        """The CreateTrainingJob request (the code staged first, where the role reads it)."""
        config = self.config
        code_key = f"models/training-jobs/{name}/input/code/sourcedir.tar.gz"
        self.s3.put_object(
            Bucket=config.bucket,
            Key=code_key,
            Body=source_archive(self.code_dir, config.requirements_file),
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=config.key_arn,
        )
        channels = [self._channel("train")]
        if self._has_objects("datasets/test/"):
            channels.append(self._channel("test"))
        return {
            "TrainingJobName": name,
            "AlgorithmSpecification": {
                "TrainingImage": config.image_uri,
                "TrainingInputMode": "File",
                "MetricDefinitions": config.metric_definitions,
            },
            "RoleArn": config.role_arn,
            "HyperParameters": {
                **config.hyperparameters,
                "sagemaker_program": ENTRY_SCRIPT,
                "sagemaker_submit_directory": f"s3://{config.bucket}/{code_key}",
                "sagemaker_region": os.environ.get("AWS_REGION", ""),
            },
            "InputDataConfig": channels,
            "OutputDataConfig": {
                "S3OutputPath": f"s3://{config.bucket}/models/retrained-{now:%Y%m%d-%H%M%S}",
                "KmsKeyId": config.key_arn,
            },
            "ResourceConfig": {
                "InstanceType": config.instance_type,
                "InstanceCount": 1,
                "VolumeSizeInGB": config.volume_size_gb,
                "VolumeKmsKeyId": config.key_arn,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": config.max_runtime_s},
            "EnableInterContainerTrafficEncryption": True,
            "Environment": {"TF_CPP_MIN_LOG_LEVEL": "2"},
            "Tags": [{"Key": "retraining:alarm", "Value": _tag(alarm_name)}],
            **({"VpcConfig": config.vpc_config} if config.vpc_config else {}),
        }

    def _channel(self, name: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{self.config.bucket}/datasets/{name}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
        }

    def _has_objects(self, prefix: str) -> bool:
        listed = self.s3.list_objects_v2(Bucket=self.config.bucket, Prefix=prefix, MaxKeys=1)
        return bool(listed.get("KeyCount"))

    def _jobs(self, status: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "NameContains": self.config.job_prefix,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": limit,
        }
        if status:
            request["StatusEquals"] = status
        found = self.sagemaker.list_training_jobs(**request)["TrainingJobSummaries"]
        prefix = self.config.job_prefix
        return [j for j in found if str(j["TrainingJobName"]).startswith(prefix)]

    def _skip(self, alarm_name: str, why: str) -> Outcome:
        self.notify("skipped", "Retraining not started", {"alarm": alarm_name, "reason": why})
        return Outcome("skipped", why)

    # -- a job finished -------------------------------------------------------------------

    def on_job_state(self, detail: Mapping[str, Any]) -> Outcome:
        name = str(detail.get("TrainingJobName", ""))
        status = str(detail.get("TrainingJobStatus", ""))
        if not name.startswith(self.config.job_prefix) or status not in FINISHED:
            return Outcome("ignored", f"{name} {status} is not a finished retraining")
        details: dict[str, Any] = {"job": name, "status": status}
        if status == "Completed":
            artifact = str(detail.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""))
            details["artifact"] = artifact
            details["next"] = (
                "the validated blue/green promotion takes it (an upload under models/)"
                if self.config.promotes_uploads
                else "register it to promote it on approval: python -m "
                f"deploy_tools.register_model --env {self.config.environment_name} "
                f"--training-job {name}"
            )
        else:
            details["reason"] = str(detail.get("FailureReason", "") or status)
        self.notify(status.lower(), f"Retraining {name} {status}", details)
        return Outcome("reported", f"{name} {status}", name)

    def notify(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        message = {"event": f"retraining_{kind}", **details}
        print(json.dumps(message, default=str), flush=True)
        self.sns.publish(
            TopicArn=self.config.topic_arn,
            Subject=_ascii(subject, 99),
            Message=json.dumps(message, default=str, indent=1),
        )


def _ascii(text: str, limit: int) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:limit]


def _tag(text: str) -> str:
    allowed = set("_.:/=+-@ ")
    return "".join(c if c.isalnum() or c in allowed else "_" for c in text)[:256]
