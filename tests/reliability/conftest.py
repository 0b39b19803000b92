"""Fixtures for the reliability tests: providers configured as the engine configures them (with short retry
waits) against the suite's emulator (`tests/conftest.py`), and a server-side view of every request.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from werkzeug.wrappers import Request, Response

from pulumi_cts import TrackerProvider
from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import EmulatorApp
from pulumi_cts.tracker_schema import OUTPUT_ONLY_FIELDS
from pulumi_cts.transport import RetryPolicy
from tests.reliability.fast_retries import FAST_POLICY
from tests.reliability.hostile import HostileAnswers
from tests.support import BUCKET, DOMAIN, PASSWORD, REGION, USER

# The provider blob a program registers; the engine sends it in every property bag.
BLOB = str(serialize_provider(TrackerProvider()))
OUTPUT_PLACEHOLDERS: dict[str, Any] = dict.fromkeys(OUTPUT_ONLY_FIELDS)


def stack_config(base_url: str, **extra: str) -> dict[str, str]:
    """The `cts:*` stack config for an emulator; the CTS endpoint comes from the token's catalog."""
    return {
        "cts:authUrl": f"{base_url}/v3",
        "cts:region": REGION,
        "cts:domainName": DOMAIN,
        "cts:userName": USER,
        "cts:password": PASSWORD,
        **extra,
    }


def make_provider(config: dict[str, str], policy: RetryPolicy | None = FAST_POLICY) -> TrackerProvider:
    """A provider configured as the engine configures it; `policy` replaces the production waits."""
    provider = TrackerProvider()
    provider.configure(ConfigureRequest(Config(dict(config), "reliability")))
    if policy is not None:
        provider.runtime.factory.transport.policy = policy
    return provider


@pytest.fixture
def provider(emulator: Emulator) -> TrackerProvider:
    return make_provider(stack_config(emulator.base_url))


def program(**fields: Any) -> dict[str, Any]:
    """A property bag as the engine sends it for a `Tracker`: `__provider` and output placeholders included."""
    return {"__provider": BLOB, "bucket_name": BUCKET, **OUTPUT_PLACEHOLDERS, **fields}


def checked(provider: TrackerProvider, props: dict[str, Any]) -> dict[str, Any]:
    """The inputs `check` returns for a valid program (the engine's next step sends exactly these)."""
    result = provider.check({}, props)
    assert result.failures == [], result.failures
    return dict(result.inputs)


def with_provider(outs: dict[str, Any] | None) -> dict[str, Any]:
    """Previous outputs as the engine sends them back: `__provider` is echoed into state."""
    assert outs is not None
    return {"__provider": BLOB, **outs}


def requests_of(emulator: Emulator, service: str, method: str | None = None) -> list[dict[str, Any]]:
    """The logged requests of one service (optionally one method), oldest first."""
    return [r for r in emulator.control.requests(service=service) if method is None or r["method"] == method]


def token_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in requests_of(emulator, "iam", "POST") if r["path"] == "/v3/auth/tokens"]


def trackers(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """Every tracker the emulator holds, by project id."""
    return dict(emulator.control.state()["trackers"])


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Console:
    """Someone changing the tracker through the CTS API directly, behind the stack's back."""

    def __init__(self, base_url: str, project_name: str = REGION) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "console-user", "password": "console", "domain": {"name": DOMAIN}}},
                },
                "scope": {"project": {"name": project_name}},
            }
        }
        answer = self.session.post(f"{base_url}/v3/auth/tokens", json=body, timeout=10)
        answer.raise_for_status()
        self.session.headers["X-Auth-Token"] = answer.headers["X-Subject-Token"]
        self.project_id = str(answer.json()["token"]["project"]["id"])
        self.url = f"{base_url}/v1.0/{self.project_id}/tracker"

    def tracker(self) -> dict[str, Any] | None:
        answer = self.session.get(self.url, params={"tracker_name": "system"}, timeout=10)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return dict(answer.json())

    def update(self, **changes: Any) -> None:
        current = self.tracker()
        assert current is not None
        body = {
            "bucket_name": current["bucket_name"],
            "file_prefix_name": current["file_prefix_name"],
            "is_obs_created": False,
            "is_support_trace_files_encryption": current["is_support_trace_files_encryption"],
            "kms_id": current["kms_id"],
            "log_file_validate": current["log_file_validate"],
            "lts": {"is_lts_enabled": current["lts"]["is_lts_enabled"]},
            "status": current["status"],
            **changes,
        }
        self.session.put(f"{self.url}/system", json=body, timeout=10).raise_for_status()

    def delete(self) -> None:
        self.session.delete(self.url, params={"tracker_name": "system"}, timeout=10).raise_for_status()

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def console(emulator: Emulator) -> Iterator[Console]:
    api = Console(emulator.base_url)
    yield api
    api.close()


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request as the emulator's WSGI app saw it, credentials unmasked (the request log masks them)."""

    method: str
    path: str
    auth_token: str | None
    issued_token: str | None
    status: int
    started: float
    finished: float


class ServerView:
    """Records every IAM and CTS request at the server, with the credentials and timing the log leaves out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Seen] = []

    def wrap(self, dispatch: Callable[[Request, str], Response]) -> Callable[[Request, str], Response]:
        def recording(request: Request, request_id: str) -> Response:
            started = time.monotonic()
            response = dispatch(request, request_id)
            seen = Seen(
                method=request.method,
                path=request.path,
                auth_token=request.headers.get("X-Auth-Token"),
                issued_token=response.headers.get("X-Subject-Token"),
                status=response.status_code,
                started=started,
                finished=time.monotonic(),
            )
            if not request.path.startswith("/_emulator/"):
                with self._lock:
                    self._seen.append(seen)
            return response

        return recording

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def cts(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/v1.0/")]

    def token_grants(self) -> list[Seen]:
        return [s for s in self.seen if s.path == "/v3/auth/tokens"]

    def issued_tokens(self) -> set[str]:
        return {s.issued_token for s in self.seen if s.issued_token}

    def max_in_flight(self, method: str) -> int:
        """The largest number of `method` requests the server was handling at the same moment."""
        events = sorted(
            [(s.started, 1) for s in self.seen if s.method == method]
            + [(s.finished, -1) for s in self.seen if s.method == method]
        )
        current = peak = 0
        for _moment, change in events:
            current += change
            peak = max(peak, current)
        return peak


@pytest.fixture
def server_view(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> ServerView:
    app = emulator.app
    assert isinstance(app, EmulatorApp)
    view = ServerView()
    monkeypatch.setattr(app, "dispatch", view.wrap(app.dispatch))
    return view


@pytest.fixture
def hostile(emulator: Emulator) -> Iterator[HostileAnswers]:
    """Hostile answers in place of the emulator's real ones (see hostile.py), until the test ends."""
    answers = HostileAnswers(emulator)
    yield answers
    answers.close()
