"""`pulumi-cts local ...`: the command line contract (flags, --json summary, human output, exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulumi_cts.cli import main
from pulumi_cts.local.cli import BANNER
from tests.local.conftest import FEATURES, CallLog


@pytest.fixture
def base_args(cts_stack_config: dict[str, str], call_log: CallLog, tmp_path: Path) -> list[str]:
    args = ["--cwd", str(FEATURES), "--stack", "cli", "--state-dir", str(tmp_path / "state")]
    for key, value in {**cts_stack_config, "logFile": str(call_log.path), "tracker": "true"}.items():
        args += ["--config", f"{key}={value}"]
    return [*args, "--secret", "cts:password=cli-test-password"]


def test_json_summary_and_exit_codes(base_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "preview", *base_args, "--expect-no-changes", "--json"]) == 1
    captured = capsys.readouterr()
    preview = json.loads(captured.out)
    assert set(preview) == {"operation", "changes", "outputs", "steps"}
    assert preview["changes"]["create"] == 3
    assert "no changes were expected" in captured.err

    assert main(["local", "up", *base_args, "--json"]) == 0
    up = json.loads(capsys.readouterr().out)
    assert up["operation"] == "up"
    assert up["changes"] == {"create": 3, "update": 0, "delete": 0, "replace": 0, "same": 0}
    assert up["outputs"]["secretNote"] == "[secret]"
    tracker_step = next(step for step in up["steps"] if step["type"] == "pulumi-python:dynamic/cts:Tracker")
    assert tracker_step == {
        "urn": "urn:pulumi:cli::features::pulumi-python:dynamic/cts:Tracker::audit-trail",
        "type": "pulumi-python:dynamic/cts:Tracker",
        "op": "create",
        "diffs": [],
    }

    assert main(["local", "output", *base_args, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["outputs"] == up["outputs"]

    assert main(["local", "up", *base_args, "--config", "status=disabled"]) == 0
    human = capsys.readouterr().out.splitlines()
    assert human[0] == BANNER
    assert "    ~  update   pulumi-python:dynamic/cts:Tracker audit-trail [diff: ~status]" in human
    assert "Resources: 1 updated, 2 unchanged" in human
    assert "    secretNote   : [secret]" in human
    assert "    trackerStatus: disabled" in human

    assert main(["local", "destroy", *base_args]) == 0
    assert "Resources: 3 deleted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--config", "no-equals-sign"],
        ["--policy-pack", "policies"],
        ["--bogus-flag"],
    ],
)
def test_usage_errors_exit_2(base_args: list[str], extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "up", *base_args, *extra]) == 2
    assert capsys.readouterr().out == ""


def test_a_missing_project_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "preview", "--cwd", str(tmp_path)]) == 2
    assert "no Pulumi.yaml" in capsys.readouterr().err


def test_an_encrypted_stack_value_must_be_given_with_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text("import pulumi\n", encoding="utf-8")
    (project / "Pulumi.dev.yaml").write_text("config:\n  cts:password:\n    secure: AAABAxyz\n", encoding="utf-8")
    assert main(["local", "preview", "--cwd", str(project), "--state-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "cts:password" in err
    assert "--secret" in err
    assert (
        main(
            [
                "local",
                "preview",
                "--cwd",
                str(project),
                "--state-dir",
                str(tmp_path / "s"),
                "--secret",
                "cts:password=x",
            ]
        )
        == 0
    )
