"""The demo with the real Pulumi CLI: `pulumi up` / preview / destroy against the emulator.

Runs only where `pulumi` is installed; without it the demo uses the local runner (tests/local).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, child_environment

DEMO = REPO_ROOT / "scripts" / "demo.py"
PROGRAM = REPO_ROOT / "examples" / "pulumi-project" / "__main__.py"


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
