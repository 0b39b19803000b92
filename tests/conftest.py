"""Every test starts with no shared HTTP session or cached token left by another test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_cts.provider import forget_shared_connections


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    forget_shared_connections()
    yield
    forget_shared_connections()
