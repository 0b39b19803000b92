"""Every test runs isolated from the machine's cloud settings (`OS_*`/`CTS_*`/`S3_*` variables,
clouds.yaml in the working and home directories) and with no shared HTTP session or cached token
left by another test. In CI, property-based tests draw the same examples every run. The integration and
reliability tests share one emulator fixture, here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pulumi_cts.client import forget_shared_connections
from pulumi_cts.emulator import Emulator
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    forget_shared_connections()
    yield
    forget_shared_connections()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings fall back to environment variables and clouds.yaml files: hide the developer's."""
    for name in list(os.environ):
        if name.startswith(("OS_", "CTS_", "S3_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def _emulator_server() -> Iterator[Emulator]:
    with Emulator(buckets=(BUCKET, OTHER_BUCKET), kms_keys=(KMS_KEY,), host="127.0.0.1", port=0) as emulator:
        yield emulator


@pytest.fixture
def emulator(_emulator_server: Emulator) -> Emulator:
    """A running emulator (one per test module) with two buckets and a KMS key, and no tracker, notification,
    token, fault or logged request. The emulator tests use fresh ones of their own (`tests/emulator`)."""
    _emulator_server.control.reset()
    return _emulator_server
