"""Fixtures for the emulator tests: a fresh in-process emulator per test, stopped when the test ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import Api, EmulatorFactory
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET


@pytest.fixture
def make_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators with custom options; all of them are stopped after the test."""
    started: list[Emulator] = []

    def make(**options: Any) -> Emulator:
        options.setdefault("buckets", (BUCKET, OTHER_BUCKET))
        options.setdefault("kms_keys", (KMS_KEY,))
        emulator = Emulator(**options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: EmulatorFactory) -> Emulator:
    return make_emulator()


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    client = Api(emulator.base_url)
    yield client
    client.close()
