"""`python -m benchmarks.provider_costs --quick` runs end to end and prints its whole table.

A smoke test, not a timing test: the figures of a quick run on a shared machine mean nothing,
so only the exit code, the header and the row names are checked.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT

HEADER = "| measure"
COLUMNS = ("value", "baseline (same run)", "ratio", "goal", "met?")
ROWS = (
    "IAM token requests: lifecycle of N trackers in N projects",
    "IAM token requests: R lifecycles in one project",
    "HTTP requests per check",
    "HTTP requests per diff",
    "HTTP requests per create (status enabled)",
    "HTTP requests per create (status disabled)",
    "HTTP requests per read",
    "HTTP requests per update",
    "HTTP requests per delete",
    "TCP connections per provider process (sequential calls)",
    "TCP connections per provider process (4 concurrent callers)",
    "serialized provider in state (bytes)",
    "serialized provider: distinct blobs over fresh processes",
    "cold start to first answered Create (s, median)",
    "reads via gRPC against the emulator (s)",
    "creates, 4 concurrent callers vs sequential (s)",
    "creates, 4 concurrent callers vs sequential, +20 ms service latency (s)",
    "parallel pipelines, M processes, one project: IAM token requests",
    "parallel pipelines, M processes, one project: wall time (s)",
    "parallel pipelines, M processes, own projects: IAM token requests",
    "parallel pipelines, M processes, own projects: wall time (s)",
    "emulator answer time per GET, server side (ms, mean)",
    "emulator: slowest raw keep-alive GET (ms)",
    "emulator as shipped: TCP connections for keep-alive GETs",
    "emulator as shipped: raw GET round trip (ms, mean)",
    "emulator as shipped: connections served with TCP_NODELAY",
    "emulator: SQLite opens while serving",
)


@pytest.mark.timeout(90)
def test_quick_run_prints_every_row() -> None:
    # The developer's own cloud settings must not reach the provider processes.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PULUMI_", "CTS_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.provider_costs", "--quick"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )

    assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    lines = completed.stdout.splitlines()
    header = next((line for line in lines if line.startswith(HEADER)), None)
    assert header is not None, completed.stdout
    for column in COLUMNS:
        assert column in header
    table = [line for line in lines if line.startswith("| ")]
    measures = [line.split("|")[1].strip() for line in table[1:]]
    assert measures == list(ROWS), completed.stdout
