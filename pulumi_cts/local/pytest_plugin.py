"""pytest fixtures for testing a Pulumi stack against the CTS emulator with the local runner.

Registered through the `pytest11` entry point, so a test file needs no set-up code:

* `cts_emulator`: a running emulator on 127.0.0.1 (one per session), reset before each test; buckets
  and KMS keys it knows come from the ini options `cts_emulator_buckets` / `cts_emulator_kms_keys`.
* `cts_stack_config`: the `cts:*` stack config that points the provider at it.
* `cts_local_stack`: a factory, `cts_local_stack(project_dir, stack="test", config=..., secrets=...,
  stand_ins=...)`, returning a `LocalStack` with that config and its own state folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pulumi_cts.emulator import Emulator
    from pulumi_cts.local.runner import LocalStack

DEFAULT_BUCKETS = ("audit-trail-bucket",)
DEFAULT_KMS_KEYS = ("2b4f0a34-9a4e-4f1c-8a7e-5d2c1e0f9b6a",)
EMULATOR_PASSWORD = "emulator-accepts-any-password"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("cts_emulator_buckets", "OBS buckets the CTS emulator knows", type="linelist", default=[])
    parser.addini("cts_emulator_kms_keys", "KMS key ids the CTS emulator knows", type="linelist", default=[])


@pytest.fixture(scope="session")
def _cts_emulator_server(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    from pulumi_cts.emulator import Emulator

    buckets = tuple(pytestconfig.getini("cts_emulator_buckets")) or DEFAULT_BUCKETS
    keys = tuple(pytestconfig.getini("cts_emulator_kms_keys")) or DEFAULT_KMS_KEYS
    with Emulator(buckets=buckets, kms_keys=keys, host="127.0.0.1", port=0) as emulator:
        yield emulator


@pytest.fixture
def cts_emulator(_cts_emulator_server: Emulator) -> Emulator:
    """The CTS + IAM emulator, with no tracker, fault or token left by another test."""
    _cts_emulator_server.control.reset()
    return _cts_emulator_server


@pytest.fixture
def cts_stack_config(cts_emulator: Emulator) -> dict[str, str]:
    """Plain `cts:*` stack config for the emulator (the password goes in as a secret: see `cts_local_stack`)."""
    return {
        "cts:authUrl": f"{cts_emulator.base_url}/v3",
        "cts:region": "eu-de",
        "cts:domainName": "local-test-domain",
        "cts:userName": "local-test-user",
    }


@pytest.fixture
def cts_local_stack(cts_stack_config: dict[str, str], tmp_path: Path) -> Callable[..., LocalStack]:
    """A factory of `LocalStack`s pointed at the emulator, each stack's state in this test's tmp_path."""
    from pulumi_cts.local.runner import LocalStack

    def make(
        project_dir: str | Path,
        stack: str = "test",
        *,
        config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        stand_ins: Sequence[str] = (),
        **options: Any,
    ) -> LocalStack:
        return LocalStack(
            project_dir,
            stack,
            state_dir=options.pop("state_dir", tmp_path / "local-state"),
            config={**cts_stack_config, **(config or {})},
            secrets={"cts:password": EMULATOR_PASSWORD, **(secrets or {})},
            stand_ins=stand_ins,
            **options,
        )

    return make
