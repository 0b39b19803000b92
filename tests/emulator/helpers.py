"""Helpers shared by the emulator tests: log in through IAM, call the CTS v1.0 and v3 APIs, check error answers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import EmulatorApp
from tests.support import DOMAIN, KMS_KEY

TOPIC = "urn:smn:eu-de:0123456789abcdef0123456789abcdef:cts_alerts"

EmulatorFactory = Callable[..., Emulator]

# The seed document's example request and the keys of its example response.
SEED_REQUEST: dict[str, Any] = {
    "bucket_name": "obs-f1da",
    "is_support_trace_files_encryption": True,
    "kms_id": KMS_KEY,
    "is_obs_created": True,
    "file_prefix_name": "yO8Q",
    "log_file_validate": {"is_support_validate": True},
}
SEED_RESPONSE_KEYS = {
    "bucket_name",
    "file_prefix_name",
    "is_obs_created",
    "is_support_trace_files_encryption",
    "kms_id",
    "log_file_validate",
    "tracker_name",
    "status",
}


def token_body(
    project_name: str | None = "eu-de",
    project_id: str | None = None,
    user: str = "alice",
    password: str = "s3cret-Passw0rd",
) -> dict[str, Any]:
    scope: dict[str, Any] = {"project": {"id": project_id} if project_id else {"name": project_name}}
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": DOMAIN}}},
            },
            "scope": scope,
        }
    }


@dataclasses.dataclass(frozen=True)
class Login:
    token: str
    project_id: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


class Api:
    """Thin client over the emulated IAM, CTS v1.0 and CTS v3 endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def request_token(self, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.base_url}/v3/auth/tokens", json=body, timeout=10, **kwargs)

    def login(self, project_name: str = "eu-de", project_id: str | None = None, **kwargs: Any) -> Login:
        response = self.request_token(token_body(project_name, project_id, **kwargs))
        assert response.status_code == 201, response.text
        body = response.json()
        return Login(response.headers["X-Subject-Token"], body["token"]["project"]["id"], body)

    def tracker_url(self, project_id: str, name: str | None = None) -> str:
        url = f"{self.base_url}/v1.0/{project_id}/tracker"
        return f"{url}/{name}" if name is not None else url

    def create(self, login: Login, body: Any) -> requests.Response:
        return self.session.post(self.tracker_url(login.project_id), json=body, headers=login.headers, timeout=10)

    def get(self, login: Login, tracker_name: str | None = "system") -> requests.Response:
        params = {"tracker_name": tracker_name} if tracker_name is not None else None
        return self.session.get(self.tracker_url(login.project_id), params=params, headers=login.headers, timeout=10)

    def update(self, login: Login, body: Any, name: str = "system") -> requests.Response:
        return self.session.put(self.tracker_url(login.project_id, name), json=body, headers=login.headers, timeout=10)

    def delete(self, login: Login, tracker_name: str | None = "system") -> requests.Response:
        params = {"tracker_name": tracker_name} if tracker_name is not None else None
        return self.session.delete(self.tracker_url(login.project_id), params=params, headers=login.headers, timeout=10)

    # --- v3 ---

    def v3_url(self, login: Login, path: str) -> str:
        return f"{self.base_url}/v3/{login.project_id}/{path}"

    def v3(self, method: str, login: Login, path: str, body: Any = None, **params: str) -> requests.Response:
        return self.session.request(
            method,
            self.v3_url(login, path),
            json=body,
            params=params or None,
            headers=login.headers,
            timeout=10,
        )

    def v3_create(self, login: Login, body: Any) -> requests.Response:
        return self.v3("POST", login, "tracker", body)

    def v3_update(self, login: Login, body: Any) -> requests.Response:
        return self.v3("PUT", login, "tracker", body)

    def v3_trackers(self, login: Login, **params: str) -> requests.Response:
        return self.v3("GET", login, "trackers", **params)

    def v3_tracker(self, login: Login, name: str = "system") -> dict[str, Any]:
        """The one tracker called `name` (fails the test if there is not exactly one)."""
        response = self.v3_trackers(login, tracker_name=name)
        assert response.status_code == 200, response.text
        (tracker,) = response.json()["trackers"]
        return dict(tracker)

    def v3_delete(self, login: Login, **params: str) -> requests.Response:
        return self.v3("DELETE", login, "trackers", **params)

    def create_notification(self, login: Login, body: Any) -> requests.Response:
        return self.v3("POST", login, "notifications", body)

    def update_notification(self, login: Login, body: Any) -> requests.Response:
        return self.v3("PUT", login, "notifications", body)

    def notifications(self, login: Login, notification_type: str = "smn", **params: str) -> requests.Response:
        return self.v3("GET", login, f"notifications/{notification_type}", **params)

    def delete_notifications(self, login: Login, *ids: str) -> requests.Response:
        return self.v3("DELETE", login, "notifications", notification_id=",".join(ids))

    def traces(self, login: Login, **params: str) -> requests.Response:
        return self.v3("GET", login, "traces", **params)

    def trace_names(self, login: Login, **params: str) -> list[str]:
        response = self.traces(login, **params)
        assert response.status_code == 200, response.text
        return [t["trace_name"] for t in response.json()["traces"]]

    def quotas(self, login: Login) -> requests.Response:
        return self.v3("GET", login, "quotas")


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Check an error answer's status and code, and that it has the documented body shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["error_msg"], str) and body["error_msg"]
    assert len(response.headers["X-Request-Id"]) == 32
    return dict(body)


class FakeClock:
    """A settable clock for token expiry, starting at a fixed instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 10, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Peers:
    """The client addresses (host, port) the emulator's app saw for IAM and CTS requests: one per TCP connection.

    The control API (which the tests use to set faults) comes over connections of its own and is left out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []

    def wrap(self, dispatch: Callable[[Request, str], Response]) -> Callable[[Request, str], Response]:
        def recording(request: Request, request_id: str) -> Response:
            if not request.path.startswith("/_emulator/"):
                with self._lock:
                    environ = request.environ
                    self.seen.append((str(environ.get("REMOTE_ADDR")), str(environ.get("REMOTE_PORT"))))
            return dispatch(request, request_id)

        return recording

    @property
    def connections(self) -> int:
        with self._lock:
            return len(set(self.seen))

    @classmethod
    def watch(cls, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Peers:
        """Record every request `emulator` answers from now on (until the test ends)."""
        app = emulator.app
        assert isinstance(app, EmulatorApp)
        peers = cls()
        monkeypatch.setattr(app, "dispatch", peers.wrap(app.dispatch))
        return peers
