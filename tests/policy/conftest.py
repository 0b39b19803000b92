"""One running copy of the repository's policy pack for the module; every test starts from the
pack's default configuration (levels and properties as the engine would send them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_cts.policy_client import PolicyAnalyzer
from tests.support import REPO_ROOT

PACK_DIR = REPO_ROOT / "policy-pack"


@pytest.fixture(scope="module")
def _running_pack() -> Iterator[PolicyAnalyzer]:
    with PolicyAnalyzer(PACK_DIR, stack="dev", project="pulumi-cts-example") as analyzer:
        yield analyzer


@pytest.fixture
def pack(_running_pack: PolicyAnalyzer) -> PolicyAnalyzer:
    _running_pack.configure(None)
    return _running_pack
