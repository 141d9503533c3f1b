"""Step 7: the Model Registry path. The candidate is registered (deploy_tools.register_model),
approved, and promoted by the approval; then a defective package, registered by something that
did not validate it, is approved and the promotion rejects it, writing the reason back to the
registry. Approvals reach the promotion queue through the deployed EventBridge rule."""

from __future__ import annotations

import time
from typing import Any

from rehearsal.context import Rehearsal
from rehearsal.predictions import RehearsalError, wait_for
from rehearsal.promotions import await_promotion, promoted_container


def register_and_approve(r: Rehearsal) -> str:
    if r.promotion_fn is None or r.inference_fn is None:
        r.missing.append("the serving stack deploys no promotion function (MIN_AUC)")
        return "NOT SHOWN: " + r.missing[-1]
    if not r.settings.registry.from_registry:
        return f"NOT SHOWN: {r.settings.name} promotes on upload only (registry.trigger)"
    arn, status = _register_candidate(r)
    before = r.serving_config()
    _approve(r, arn, "approved by the rehearsal")
    after = await_promotion(r, before, r.models["candidate"], arn)
    container = promoted_container(r)
    r.registered = arn
    defective, reason = _approve_a_defective_package(r)
    still = r.serving_config()
    if still != r.promoted_config:
        raise RehearsalError(f"the defective package changed the {r.serving_label} to {still}")
    return (
        f"registered {arn} ({status}) -> approved -> promoted: {r.serving_label} {before} -> "
        f"{r.promoted_config}, {r.settings.artifact_parameter} = {r.promoted_uri}, accuracy "
        f"{after['accuracy']:.4f} AUC {after['roc_auc']:.4f} = the candidate's training "
        f"metrics{container}. Defective {defective} approved -> Rejected in the registry: "
        f'"{reason}"; '
        f"{r.serving_label} still on {still}"
    )


def _register_candidate(r: Rehearsal) -> tuple[str, str]:
    """deploy_tools.register_model, as an operator runs it (it reads the data stack's outputs)."""
    from deploy_tools.register_model import Provenance, git_revision, register_model

    registration = register_model(
        r.settings,
        str(r.models["candidate"].package),
        Provenance(
            dataset=f"s3://{r.bucket}/datasets/train/",
            git_revision=git_revision(),
            description="rehearsal candidate",
        ),
        session=r.clients.session,
        endpoint_url=r.aws.moto_url,
    )
    package = _describe(r, registration.arn)
    status = str(package["ModelApprovalStatus"])
    if status != "PendingManualApproval":
        raise RehearsalError(f"{registration.arn} was registered {status}")
    return registration.arn, status


def _approve_a_defective_package(r: Rehearsal) -> tuple[str, str]:
    """A package whose artifact is corrupt, created directly (no validation on the way in)."""
    key = f"models/registry/defective-{time.strftime('%Y%m%d-%H%M%S')}/model.tar.gz"
    r.clients.s3.upload_file(str(r.corrupt), r.bucket, key, ExtraArgs=r.encryption)
    image = r.data_stack.outputs["ServingImageUri"]
    arn = str(
        r.clients.sagemaker.create_model_package(
            ModelPackageGroupName=r.settings.model_package_group,
            ModelPackageDescription="registered by a pipeline that does not validate",
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": f"s3://{r.bucket}/{key}"}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
    )
    _approve(r, arn, "approved without looking")

    def rejected() -> str | None:
        package = _describe(r, arn)
        if package["ModelApprovalStatus"] != "Rejected":
            return None
        return str(package.get("ApprovalDescription", ""))

    reason = wait_for(rejected, r.args.timeout, f"the promotion to mark {arn} Rejected")
    if "not-a-tar" not in reason and "truncated" not in reason and "not-gzip" not in reason:
        raise RehearsalError(f"{arn} was rejected without the validation's reason: {reason!r}")
    return arn, reason


def _approve(r: Rehearsal, arn: str, description: str) -> None:
    r.clients.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription=description
    )


def _describe(r: Rehearsal, arn: str) -> dict[str, Any]:
    described: dict[str, Any] = r.clients.sagemaker.describe_model_package(ModelPackageName=arn)
    return described
