#!/usr/bin/env python3
"""Set up the project's virtualenv and run its jobs: `python3 scripts/dev.py setup|test|lint|demo|bench`.

Needs only Python 3.10+ and pip: it creates `.venv`, installs the package with its test and
lint tools (again only when pyproject.toml changed), then runs the job inside that virtualenv.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed-from"


def ensure_venv() -> None:
    if not PYTHON.exists():
        print(f"creating virtualenv {VENV.relative_to(ROOT)}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing pulumi-cts with its test and lint tools", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


def run(command: list[str]) -> int:
    completed = subprocess.run(command, cwd=ROOT, check=False)
    if completed.returncode != 0 and command[1:3] == ["-m", "pip"]:
        sys.exit(completed.returncode)
    return completed.returncode


def test(args: list[str]) -> int:
    code = run([str(PYTHON), "-m", "pytest", *args])
    if code == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        return 1
    return code


def lint(_args: list[str]) -> int:
    failed = 0
    failed |= run([str(PYTHON), "-m", "ruff", "check", "."])
    failed |= run([str(PYTHON), "-m", "ruff", "format", "--check", "."])
    failed |= run([str(PYTHON), "-m", "mypy"])
    return 1 if failed else 0


def demo(args: list[str]) -> int:
    return run([str(PYTHON), str(ROOT / "scripts" / "demo.py"), *args])


def bench(args: list[str]) -> int:
    return run([str(PYTHON), "-m", "benchmarks.provider_costs", *args])


def setup(_args: list[str]) -> int:
    print(f"ready: {PYTHON.relative_to(ROOT)}")
    return 0


JOBS = {"setup": setup, "test": test, "lint": lint, "demo": demo, "bench": bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in JOBS:
        print(f"usage: python3 scripts/dev.py {{{'|'.join(JOBS)}}} [args...]", file=sys.stderr)
        return 2
    if sys.argv[1] == "demo":
        # A missing Pulumi CLI is reported before anything is installed.
        code = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--check-cli"], check=False)
        if code.returncode != 0:
            return code.returncode
    ensure_venv()
    return JOBS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
