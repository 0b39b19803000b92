"""The demo on a machine without the Pulumi CLI: the whole story through the local runner, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "scripts" / "demo.py"


@pytest.mark.timeout(600)
def test_the_demo_deploys_through_the_local_runner_without_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = str(tmp_path)  # an empty directory: no `pulumi`, nothing else either

    completed = subprocess.run(
        [sys.executable, str(DEMO), "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        timeout=540,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "the Pulumi CLI is not on PATH: running the example stack with the pulumi-cts local runner" in out
    assert "+  create   pulumi-python:dynamic/cts:Tracker audit-trail" in out
    assert "~  update   pulumi-python:dynamic/cts:Tracker audit-trail [diff: ~file_prefix_name]" in out
    assert "$ pulumi-cts local preview --policy-pack policy-pack" in out
    assert "policy pack passed: no mandatory violation of its 7 policies (cts-tracker-enabled," in out
    assert "emulator: tracker status disabled" in out
    # Refresh shows the drift, and up after it changes only that: no scope the program left undeclared.
    assert out.count("~  update   pulumi-python:dynamic/cts:Tracker audit-trail [diff: ~status]") == 2
    assert "emulator: tracker status enabled" in out
    assert "-  delete   pulumi-python:dynamic/cts:Tracker audit-trail" in out
    assert "done: the tracker was created, updated in place, its drift corrected and destroyed" in out
    # The state folder it was given holds the (now empty) stack, readable by the owner only.
    [state_file] = (tmp_path / "state").glob("*.json")
    assert state_file.stat().st_mode & 0o077 == 0
    assert "demo-password-not-a-secret" not in state_file.read_text(encoding="utf-8")
