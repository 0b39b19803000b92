"""Every test starts with no shared HTTP session or cached token left by another test; in CI,
property-based tests draw the same examples every run, so a red build is reproducible."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from pulumi_cts.provider import forget_shared_connections

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    forget_shared_connections()
    yield
    forget_shared_connections()
