"""The rehearsal's entry point answers bad input with a specific message, and its report
classifies every template resource."""

from __future__ import annotations

import pytest

from rehearsal import cli, report
from rehearsal.deployment import DeployedStack
from rehearsal.moto_gaps.journal import Journal


def test_unknown_environment_is_a_configuration_error(capsys, tmp_path):
    assert cli.main(["--env", "nope", "--workdir", str(tmp_path)]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err


def test_environment_without_account_is_refused(capsys, tmp_path):
    assert cli.main(["--env", "dev", "--workdir", str(tmp_path)]) == 1
    assert "names no account and region" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--port", "70000"], ["--timeout", "0"]])
def test_bad_flags_exit_with_usage(flags, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.parse_args(flags)
    assert stopped.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_report_says_what_was_created_shimmed_recorded_or_missing():
    stack = DeployedStack(
        name="s",
        template={
            "Resources": {
                "Bucket": {"Type": "AWS::S3::Bucket"},
                "Alarm": {"Type": "AWS::CloudWatch::Alarm"},
                "Pipe": {"Type": "AWS::Pipes::Pipe"},
                "Gone": {"Type": "AWS::SQS::Queue"},
            }
        },
        status="CREATE_COMPLETE",
        physical_ids={"Bucket": "b", "Alarm": "a", "Pipe": "p"},
        resource_status={"Bucket": "CREATE_COMPLETE", "Alarm": "CREATE_COMPLETE"},
    )
    rows = report.resource_rows([stack], Journal())
    states = {row.logical_id: (row.state, row.emulated) for row in rows}
    assert states["Bucket"] == ("CREATE_COMPLETE", True)
    assert states["Alarm"] == ("CREATE_COMPLETE (rehearsal shim)", True)
    assert states["Pipe"][0].startswith("not emulated: moto 5.2.5 has no AWS::Pipes::Pipe")
    assert states["Gone"] == ("MISSING: not in moto's stack resources", False)


def test_kind_async_overrides_the_endpoint_and_its_scaling(tmp_path):
    from rehearsal import variants

    args = cli.parse_args(["--kind", "async", "--workdir", str(tmp_path)])
    settings, folder = variants.environment(args, tmp_path)
    assert folder is not None
    assert settings.endpoint.kind == "async"
    assert settings.endpoint.instance_type == "ml.m5.large"  # merged into local.yaml's
    assert settings.scaling is None and settings.async_inference.min_capacity == 0
    assert not settings.model_monitor.enabled
    assert settings.endpoint.data_capture_percent == 0
    assert settings.promotion.traffic_shifting == "all_at_once"
    assert settings.promotion.wait_before_shift_s == 0  # local.yaml's, merged


def test_kind_accepts_async_only(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--kind", "serverless"])
    assert "invalid choice" in capsys.readouterr().err


def test_the_execute_api_stand_in_routes_path_parameters():
    from rehearsal.moto_gaps.api_gateway import _resource_for

    class Resource:
        def __init__(self, path):
            self.path = path

        def get_path(self):
            return self.path

    resources = [Resource("/"), Resource("/predict-async"), Resource("/predict-async/{id}")]
    found, parameters = _resource_for(resources, "/predict-async/abc%2Fdef")
    assert found.path == "/predict-async/{id}" and parameters == {"id": "abc/def"}
    found, parameters = _resource_for(resources, "/predict-async")
    assert found.path == "/predict-async" and parameters is None
    assert _resource_for(resources, "/predict-async/a/b") == (None, None)


@pytest.mark.parametrize("framework", ["pytorch", "xgboost", "sklearn"])
def test_framework_overrides_the_model_framework_only(tmp_path, framework):
    from rehearsal import variants
    from serving_config import load_settings

    args = cli.parse_args(["--framework", framework, "--workdir", str(tmp_path)])
    settings, folder = variants.environment(args, tmp_path)
    assert folder is not None
    assert settings.model.framework == framework
    local = load_settings("local")
    assert settings.model.feature_count == local.model.feature_count  # merged into local.yaml's
    assert settings.endpoint == local.endpoint and settings.model_monitor == local.model_monitor


def test_framework_accepts_the_known_frameworks_only(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--framework", "mxnet"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch", "xgboost", "sklearn"])
def test_each_framework_trains_two_different_models_of_its_own(tmp_path, framework):
    """The initial and the candidate model are the framework's trainer's (``--framework``),
    the candidate with another seed and the trainer's alternative hyperparameters, each
    cached under ``models/<framework>/<label>`` (a run of another framework never reuses
    them)."""
    from model_code.train import config_type
    from rehearsal.artifacts import model_specs

    initial, candidate = model_specs(framework)
    assert initial.command_flags == ("--framework", framework, "--seed", "42")
    alternative = config_type(framework).ALTERNATIVE_FLAGS
    assert alternative and candidate.flags == ("--seed", "7", *alternative)
    assert candidate.directory(tmp_path) == tmp_path / "models" / framework / "candidate"
    parsed = config_type(framework).FRAMEWORK_FLAGS
    assert {a.removeprefix("--") for a in alternative[::2]} <= {f[0] for f in parsed}
