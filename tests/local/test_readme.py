"""The README's "Testing your own stack" test file, run as a user would run it: pytest in their project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- test file: test_my_stack.py -->"


def readme_test_file() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, f"README.md has no python block after {MARKER}"
    return match.group(1)


@pytest.mark.timeout(600)
def test_the_readme_test_file_passes_in_a_users_project(tmp_path: Path) -> None:
    project = tmp_path / "my-stack"
    project.mkdir()
    shutil.copy(REPO_ROOT / "examples" / "pulumi-project" / "__main__.py", project / "__main__.py")
    (project / "Pulumi.yaml").write_text("name: my-stack\nruntime: python\n", encoding="utf-8")
    (project / "test_my_stack.py").write_text(readme_test_file(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CTS_", "PULUMI_"))}

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_stack.py"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=540,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout
