"""The demo with the real Pulumi CLI: `pulumi up` / preview / destroy against the emulator.

The CLI test runs only where `pulumi` is installed; the check that the demo explains a missing
CLI (and starts nothing) runs everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, child_environment

DEMO = REPO_ROOT / "scripts" / "demo.py"
PROGRAM = REPO_ROOT / "examples" / "pulumi-project" / "__main__.py"


def test_demo_stops_with_install_instructions_without_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = str(tmp_path)  # an empty directory: no `pulumi`, nothing else either
    started = time.monotonic()

    completed = subprocess.run(
        [sys.executable, str(DEMO), "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 3
    assert "https://www.pulumi.com/docs/install/" in completed.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in completed.stderr
    # It stopped before starting anything: no emulator, no backend directory.
    assert "emulator at" not in completed.stdout
    assert not (tmp_path / "state").exists()
    assert time.monotonic() - started < 30


@pytest.mark.pulumi_cli
@pytest.mark.timeout(900)
@pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the Pulumi CLI is not installed; see https://www.pulumi.com/docs/install/ to run this test",
)
def test_pulumi_up_preview_destroy_against_the_emulator(tmp_path: Path) -> None:
    # A copy of the example project that runs in this interpreter, without a project virtualenv.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROGRAM, project / "__main__.py")
    (project / "Pulumi.yaml").write_text(
        "name: pulumi-cts-example\nruntime:\n  name: python\n  options:\n    toolchain: pip\n",
        encoding="utf-8",
    )
    env = child_environment()
    env["PULUMI_PYTHON_CMD"] = sys.executable

    completed = subprocess.run(
        [
            sys.executable,
            str(DEMO),
            "--project-dir",
            str(project),
            "--state-dir",
            str(tmp_path / "state"),
            "--stack",
            "cli-test",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=840,
        check=False,
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "trackerId" in output
    assert "/system" in output
    assert "demo-password-not-a-secret" not in output
    assert (tmp_path / "state").is_dir()
