"""Fixtures for the local runner's tests: the `features` program with its provider-call log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_cts.local import LocalStack

PROGRAMS = Path(__file__).resolve().parent / "programs"
FEATURES = PROGRAMS / "features"


class CallLog:
    """The calls the `features` program's own provider made, one line each (`create LABEL`, ...)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []


@pytest.fixture
def call_log(tmp_path: Path) -> CallLog:
    return CallLog(tmp_path / "calls.log")


@pytest.fixture
def features(cts_local_stack: Callable[..., LocalStack], call_log: CallLog) -> Callable[..., LocalStack]:
    """`features(stack="test", stand_ins=(), **config)`: the `features` program with that config."""

    def make(stack: str = "test", stand_ins: tuple[str, ...] = (), **config: Any) -> LocalStack:
        values = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in config.items()}
        return cts_local_stack(FEATURES, stack, config={"logFile": str(call_log.path), **values}, stand_ins=stand_ins)

    return make
