"""Fixtures for the integration tests: one `python -m pulumi.dynamic` process per test, driven like the Pulumi
engine drives it, against the suite's emulator (`tests/conftest.py`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pulumi_cts import DataTrackerProvider, NotificationProvider
from pulumi_cts.emulator import Emulator
from tests.support import DOMAIN, REGION, USER
from tests.support.engine import EngineHarness


@pytest.fixture
def password() -> str:
    """A distinctive password, so that a leak is easy to find in any text."""
    return f"S3cr3t-Pa55-{secrets.token_hex(8)}"


@pytest.fixture
def stack_config(emulator: Emulator, password: str) -> dict[str, Any]:
    """The `cts:*` stack config that points the provider at the emulator (endpoint from the catalog)."""
    return {
        "cts:authUrl": f"{emulator.base_url}/v3",
        "cts:region": REGION,
        "cts:domainName": DOMAIN,
        "cts:userName": USER,
        "cts:password": password,
    }


@pytest.fixture
def engine() -> Iterator[EngineHarness]:
    """A started, not yet configured, dynamic provider process; stopped after the test."""
    with EngineHarness() as harness:
        yield harness


@pytest.fixture
def configured_engine(engine: EngineHarness, stack_config: dict[str, Any]) -> EngineHarness:
    """The provider process after `Configure` with the emulator's settings (password sent as a secret)."""
    engine.configure(stack_config, secret_keys=("cts:password",))
    return engine


class CtsApi:
    """Direct calls to the emulator's IAM and CTS APIs: changes made behind the stack's back."""

    def __init__(self, base_url: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "console-user", "password": password, "domain": {"name": DOMAIN}}},
                },
                "scope": {"project": {"name": REGION}},
            }
        }
        answer = self.session.post(f"{base_url}/v3/auth/tokens", json=body, timeout=10)
        answer.raise_for_status()
        self.session.headers["X-Auth-Token"] = answer.headers["X-Subject-Token"]
        self.project_id = str(answer.json()["token"]["project"]["id"])

    def tracker(self) -> dict[str, Any]:
        answer = self.session.get(
            f"{self.base_url}/v1.0/{self.project_id}/tracker", params={"tracker_name": "system"}, timeout=10
        )
        answer.raise_for_status()
        data = answer.json()
        return dict(data[0] if isinstance(data, list) else data)

    def update_tracker(self, body: dict[str, Any]) -> requests.Response:
        answer = self.session.put(f"{self.base_url}/v1.0/{self.project_id}/tracker/system", json=body, timeout=10)
        answer.raise_for_status()
        return answer

    def delete_tracker(self) -> None:
        answer = self.session.delete(
            f"{self.base_url}/v1.0/{self.project_id}/tracker", params={"tracker_name": "system"}, timeout=10
        )
        answer.raise_for_status()

    def v3(self, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
        """One call to `/v3/{project_id}{path}`, as the console would make it; an error fails the test."""
        answer = self.session.request(
            method, f"{self.base_url}/v3/{self.project_id}{path}", json=body, params=params or None, timeout=10
        )
        answer.raise_for_status()
        return answer

    def v3_tracker(self, name: str = "system") -> dict[str, Any]:
        trackers = self.v3("GET", "/trackers", tracker_name=name).json()["trackers"]
        assert len(trackers) == 1, trackers
        return dict(trackers[0])

    def tags(self, tracker_id: str) -> dict[str, str]:
        listed = self.v3("GET", f"/cts-tracker/{tracker_id}/tags").json()["tags"]
        return {str(tag["key"]): str(tag["value"]) for tag in listed}

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def cts_api(emulator: Emulator) -> Iterator[CtsApi]:
    """The emulator's CTS API as a console user would use it (not through Pulumi)."""
    api = CtsApi(emulator.base_url, "console-password")
    yield api
    api.close()


def engine_for(provider: Any, type_name: str, stack_config: dict[str, Any]) -> EngineHarness:
    """A configured provider process for another resource type than the tracker."""
    harness = EngineHarness(provider=provider, type_token=f"pulumi-python:dynamic/cts:{type_name}").start()
    harness.configure(stack_config, secret_keys=("cts:password",))
    return harness


@pytest.fixture
def data_engine(stack_config: dict[str, Any]) -> Iterator[EngineHarness]:
    """The `DataTracker` provider process after `Configure` with the emulator's settings."""
    with engine_for(DataTrackerProvider(), "DataTracker", stack_config) as harness:
        yield harness


@pytest.fixture
def notification_engine(stack_config: dict[str, Any]) -> Iterator[EngineHarness]:
    """The `Notification` provider process after `Configure` with the emulator's settings."""
    with engine_for(NotificationProvider(), "Notification", stack_config) as harness:
        yield harness
