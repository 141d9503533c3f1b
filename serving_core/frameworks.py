"""The model frameworks a stack serves and trains (``model.framework``), and what each one's
SageMaker containers need: the one place the configuration, the constructs, the training
launcher and the promotion function read them from.

- **Images** come from the SageMaker SDK's image tables (``serving_core.image_tables``):
  ``tensorflow`` (TensorFlow Serving, ``tensorflow-inference``; ``tensorflow-training``),
  ``pytorch`` (``pytorch-inference``, TorchServe with SageMaker's inference toolkit;
  ``pytorch-training``), ``xgboost`` (``sagemaker-xgboost``, one image for CPU and GPU) and
  ``sklearn`` (``sagemaker-scikit-learn``, CPU only).
- **Serving**: TensorFlow Serving finds ``code/inference.py`` in the model directory by itself
  and needs no variables. The PyTorch, XGBoost and scikit-learn containers run the handler
  script that ``SAGEMAKER_PROGRAM`` names in ``SAGEMAKER_SUBMIT_DIRECTORY``: the SDK's own
  script-mode variables (``sagemaker.serve.model_builder._script_mode_env_vars``), with the
  code inside the artifact (``/opt/ml/model/code``, what the SDK sets for a repacked model or
  under network isolation, where the container cannot fetch code from S3).
- **Training**: the launcher and the retraining function run ``model_code/train.py`` in the
  framework's training image for every framework: SageMaker copies ``model_code/`` to
  ``/opt/ml/code`` and runs the entry script there, where only ``train.py`` makes its folder
  importable as ``model_code`` (the other trainers import ``model_code.*``). It picks the
  trainer by the hyperparameter ``framework`` (SageMaker passes ``--framework <name>``),
  which TensorFlow's jobs do not carry: ``train.py`` trains the Keras MLP without it.

Standard library only: the promotion function (Lambda) may import it to give every model it
creates the stack's container environment (:func:`container_environment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Framework = Literal["tensorflow", "pytorch", "xgboost", "sklearn"]
FRAMEWORK_NAMES: tuple[Framework, ...] = get_args(Framework)
DEFAULT_FRAMEWORK: Framework = "tensorflow"

#: Where SageMaker extracts the model artifact in a serving container.
MODEL_DIR = "/opt/ml/model"
#: The handler script inside the artifact (``code/inference.py``), for every framework.
INFERENCE_SCRIPT = "inference.py"
#: The script-mode serving variables (the SDK's names, upper-cased in the container).
PROGRAM_VARIABLE = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_VARIABLE = "SAGEMAKER_SUBMIT_DIRECTORY"
LOG_LEVEL_VARIABLE = "SAGEMAKER_CONTAINER_LOG_LEVEL"
REGION_VARIABLE = "SAGEMAKER_REGION"
#: logging.INFO, the SDK's default ``container_log_level``.
CONTAINER_LOG_LEVEL = "20"
#: What every framework's training job runs in ``/opt/ml/code`` (``model_code/train.py``).
TRAINING_ENTRY_SCRIPT = "train.py"


@dataclass(frozen=True)
class FrameworkFacts:
    """One framework: its image table, pinned default versions and what its containers run.

    The default versions are the newest the pinned ``sagemaker-core`` lists with a CPU image:
    serving, the newest ``inference`` version; training, the newest ``training`` version not
    newer than it (a model written by an older framework loads in a newer one, not always the
    reverse). ``tests/infra/test_frameworks.py`` holds them to that rule.
    """

    name: Framework
    #: ``sagemaker/core/image_uri_config/<sdk_table>.json``.
    sdk_table: str
    serving_version: str
    training_version: str
    #: The serving container runs the artifact's ``code/inference.py`` by the script-mode
    #: variables (TensorFlow Serving finds it without them).
    script_mode: bool
    #: What serves, for messages and outputs.
    serving_container: str
    #: SageMaker Inference Recommender's ``ContainerConfig.Framework``.
    recommender_framework: str
    #: The Python package the local server's loader imports (the rehearsal imports it early).
    python_module: str
    #: What a training job installs on top of the training image (``model_code/``): the
    #: shared steps' packages and, but for TensorFlow, what the ONNX export needs.
    training_requirements: str

    @property
    def entry_script(self) -> str:
        """The training script in ``model_code/`` SageMaker runs: the same for every framework
        (see the module's docstring); :attr:`training_hyperparameters` picks the trainer."""
        return TRAINING_ENTRY_SCRIPT

    @property
    def training_hyperparameters(self) -> dict[str, str]:
        """What a training job adds to its hyperparameters so that ``train.py`` runs this
        framework's trainer: none for the default framework (its jobs stay as they were)."""
        return {} if self.name == DEFAULT_FRAMEWORK else {"framework": self.name}

    @property
    def title(self) -> str:
        return {"tensorflow": "TensorFlow", "pytorch": "PyTorch", "xgboost": "XGBoost"}.get(
            self.name, "scikit-learn"
        )


FRAMEWORKS: dict[Framework, FrameworkFacts] = {
    facts.name: facts
    for facts in (
        FrameworkFacts(
            name="tensorflow",
            sdk_table="tensorflow",
            serving_version="2.20",
            training_version="2.19",
            script_mode=False,
            serving_container="TensorFlow Serving",
            recommender_framework="TENSORFLOW",
            python_module="tensorflow",
            training_requirements="requirements.txt",
        ),
        FrameworkFacts(
            name="pytorch",
            sdk_table="pytorch",
            serving_version="2.6",
            training_version="2.6",
            script_mode=True,
            serving_container="PyTorch (TorchServe, SageMaker inference toolkit)",
            recommender_framework="PYTORCH",
            python_module="torch",
            training_requirements="requirements-pytorch.txt",
        ),
        FrameworkFacts(
            name="xgboost",
            sdk_table="xgboost",
            serving_version="3.2-0",
            training_version="3.2-0",
            script_mode=True,
            serving_container="SageMaker XGBoost",
            recommender_framework="XGBOOST",
            python_module="xgboost",
            training_requirements="requirements-xgboost.txt",
        ),
        FrameworkFacts(
            name="sklearn",
            sdk_table="sklearn",
            serving_version="1.9-0",
            training_version="1.9-0",
            script_mode=True,
            serving_container="SageMaker scikit-learn",
            recommender_framework="SAGEMAKER-SCIKIT-LEARN",
            python_module="sklearn",
            training_requirements="requirements-sklearn.txt",
        ),
    )
}


def framework_facts(name: str) -> FrameworkFacts:
    """The facts of ``name``; a ValueError names the known frameworks."""
    if name not in FRAMEWORKS:
        raise ValueError(f"unknown framework {name!r}; known: {', '.join(FRAMEWORK_NAMES)}")
    return FRAMEWORKS[name]  # type: ignore[index]


def container_environment(framework: str, region: Any) -> dict[str, Any]:
    """The serving container's ``Environment`` (the SageMaker API's, CloudFormation's
    ``PrimaryContainer.Environment``): empty for TensorFlow Serving; for script-mode
    containers the handler ``code/inference.py`` inside the artifact, the container's log
    level and ``region`` (a deploy-time token in a template, ``AWS_REGION`` in a function)."""
    if not framework_facts(framework).script_mode:
        return {}
    return {
        PROGRAM_VARIABLE: INFERENCE_SCRIPT,
        SUBMIT_DIRECTORY_VARIABLE: f"{MODEL_DIR}/code",
        LOG_LEVEL_VARIABLE: CONTAINER_LOG_LEVEL,
        REGION_VARIABLE: region,
    }
