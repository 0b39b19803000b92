"""`pulumi-cts local preview/up --policy-pack DIR [--policy-pack-config FILE]` on the example program
against the emulator: a compliant stack runs with the advice printed, a mandatory violation stops
the run before any change (exit 1, one line per violation)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pulumi_cts.cli import main
from pulumi_cts.emulator import Emulator
from pulumi_cts.local.pytest_plugin import DEFAULT_BUCKETS, DEFAULT_KMS_KEYS
from tests.support import REPO_ROOT

PACK = REPO_ROOT / "policy-pack"
ENCRYPTED = "cts-trace-files-encrypted"


@pytest.fixture
def base_args(cts_stack_config: dict[str, str], tmp_path: Path) -> list[str]:
    args = ["--cwd", str(REPO_ROOT), "--stack", "policy", "--state-dir", str(tmp_path / "state")]
    config = {**cts_stack_config, "bucketName": DEFAULT_BUCKETS[0], "adoptExisting": "false"}
    for key, value in config.items():
        args += ["--config", f"{key}={value}"]
    return [*args, "--secret", "cts:password=policy-test-password", "--policy-pack", str(PACK)]


@pytest.mark.timeout(300)
def test_a_compliant_stack_runs_and_prints_the_advice(
    base_args: list[str], cts_emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*base_args, "--config", f"kmsKeyId={DEFAULT_KMS_KEYS[0]}"]

    assert main(["local", "up", *args]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "    +  create   pulumi-python:dynamic/cts:Tracker audit-trail" in out
    policy_lines = [line for line in out if "pulumi-cts/cts-" in line]
    # The example declares no Notification: advice, not a stop.
    assert policy_lines
    assert all(line.startswith("    advisory: pulumi-cts/cts-critical-operations-notified") for line in policy_lines)
    assert main(["local", "output", *args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"]["trackerStatus"] == "enabled"


@pytest.mark.timeout(300)
def test_a_mandatory_violation_stops_up_before_any_change(
    base_args: list[str], cts_emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Without kmsKeyId the example's trace files stay unencrypted.
    assert main(["local", "up", *base_args, "--json"]) == 1

    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["operation"] == "preview"
    assert [step["op"] for step in summary["steps"] if step["type"].endswith("cts:Tracker")] == []
    assert [(v["policy"], v["enforcementLevel"]) for v in summary["policyViolations"]] == [
        ("cts-trace-files-encrypted", "mandatory")
    ]
    assert "mandatory policy violated: cts-trace-files-encrypted" in captured.err
    # Nothing was created: the stack has no outputs and the next preview still plans the create.
    assert main(["local", "output", *base_args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"] == {}


@pytest.mark.timeout(300)
def test_the_policy_config_file_switches_levels(
    base_args: list[str], cts_emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"cts-trace-files-encrypted": "advisory"}))

    assert main(["local", "preview", *base_args, "--policy-pack-config", str(config)]) == 0

    out = capsys.readouterr().out
    assert "    advisory: pulumi-cts/cts-trace-files-encrypted (audit-trail): Tracker 'audit-trail'" in out


def test_bad_policy_arguments_are_usage_errors(base_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    without_pack = [a for a in base_args if a not in ("--policy-pack", str(PACK))]

    assert main(["local", "preview", *without_pack, "--policy-pack-config", "policy-config.json"]) == 2
    assert "--policy-pack-config needs at least one --policy-pack DIR" in capsys.readouterr().err
    assert main(["local", "preview", *base_args, "--policy-pack", str(REPO_ROOT)]) == 2
    assert "is not a Python policy pack" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_the_packs_see_the_stack_files_config(
    cts_stack_config: dict[str, str], cts_emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The example in a project of its own, whose stack file names the project the provider manages.
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "examples" / "pulumi-project", project, ignore=shutil.ignore_patterns(".venv"))
    (project / "Pulumi.yaml").write_text("name: pulumi-cts-example\nruntime: python\n")
    (project / "Pulumi.policy.yaml").write_text("config:\n  cts:projectName: eu-de_analytics\n")
    args = ["--cwd", str(project), "--stack", "policy", "--state-dir", str(tmp_path / "state")]
    for key, value in {**cts_stack_config, "bucketName": DEFAULT_BUCKETS[0]}.items():
        args += ["--config", f"{key}={value}"]

    assert main(["local", "preview", *args, "--policy-pack", str(PACK), "--json"]) == 1

    [violation] = [v for v in json.loads(capsys.readouterr().out)["policyViolations"] if v["policy"] == ENCRYPTED]
    assert "(project eu-de_analytics)" in violation["message"]
