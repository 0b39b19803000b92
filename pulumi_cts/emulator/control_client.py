"""The client of the emulator's control API: `EmulatorControl`, which tests and tools use to reset the emulator,
inject faults, expire tokens, read the request log and seed data; `pinned_session` for an emulator serving HTTPS.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from requests import PreparedRequest, Session
from requests import Response as HttpResponse
from requests.adapters import HTTPAdapter


class _PinnedAdapter(HTTPAdapter):
    """Trusts the one server certificate with this SHA-256 fingerprint, and nothing else."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, assert_fingerprint=self.fingerprint, **pool_kwargs)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        # The fingerprint replaces the CA check (urllib3 counts a pinned connection as verified). Forced here:
        # REQUESTS_CA_BUNDLE in the environment would otherwise override a session's verify=False.
        return super().send(request, stream=stream, timeout=timeout, verify=False, cert=cert, proxies=proxies)


def pinned_session(host: str, port: int, timeout: float = 10.0) -> Session:
    """A session for an emulator serving HTTPS that pins the certificate it presents right now.

    The control client has no CA to check the server against; it knows the address it started, so it trusts
    whatever certificate that address presents, and only that one.
    """
    pem = ssl.get_server_certificate((host, port), timeout=timeout)
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    session = Session()
    session.mount("https://", _PinnedAdapter(fingerprint))
    return session


class EmulatorControl:
    """Client for the control API of an emulator at `base_url`; failed calls raise `requests.HTTPError`."""

    def __init__(self, base_url: str, session: Session | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, json_body: Any = None, params: dict[str, str] | None = None) -> Any:
        response: HttpResponse = self.session.request(
            method, f"{self.base_url}/_emulator/{path}", json=json_body, params=params, timeout=self.timeout
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        """Drop trackers, notifications, traces, tokens, faults and the request log; restore the seeded buckets,
        keys and config."""
        self._call("POST", "reset")

    def add_fault(
        self,
        *,
        service: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        latency_ms: int = 0,
        times: int | None = None,
        action: str = "respond",
        retry_after: float | None = None,
    ) -> str:
        """Add a fault rule and return its id (see `faults.FaultRule` for the fields)."""
        rule = {
            "service": service,
            "method": method,
            "path": path,
            "status": status,
            "error_code": error_code,
            "error_msg": error_msg,
            "latency_ms": latency_ms,
            "times": times,
            "action": action,
            "retry_after": retry_after,
        }
        return str(self._call("POST", "faults", rule)["id"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults")["faults"])

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def expire_tokens(self) -> int:
        """Expire every token issued so far; returns how many there were."""
        return int(self._call("POST", "tokens/expire")["expired"])

    def requests(self, service: str | None = None) -> list[dict[str, Any]]:
        """The logged IAM/CTS requests, oldest first, optionally only those of one service."""
        params = {"service": service} if service else None
        return list(self._call("GET", "requests", params=params)["requests"])

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def add_bucket(self, name: str, location: str | None = None) -> None:
        self._call("POST", f"buckets/{name}", {"location": location} if location else None)

    def remove_bucket(self, name: str) -> None:
        self._call("DELETE", f"buckets/{name}")

    def add_kms_key(self, key_id: str) -> None:
        self._call("POST", f"kms-keys/{key_id}")

    def remove_kms_key(self, key_id: str) -> None:
        self._call("DELETE", f"kms-keys/{key_id}")

    def configure(self, *, response_shape: str | None = None, put_body: bool | None = None) -> dict[str, Any]:
        body = {k: v for k, v in {"response_shape": response_shape, "put_body": put_body}.items() if v is not None}
        return dict(self._call("PUT", "config", body))

    def set_response_shape(self, shape: str) -> None:
        self.configure(response_shape=shape)

    def set_put_body(self, enabled: bool) -> None:
        self.configure(put_body=enabled)

    def config(self) -> dict[str, Any]:
        return dict(self._call("GET", "config"))

    def state(self) -> dict[str, Any]:
        """Everything stored: `trackers` (management, by project), `data_trackers` and `notifications` (lists by
        project), `traces` (how many), projects, buckets, KMS keys, config and the number of tokens."""
        return dict(self._call("GET", "state"))

    def seed_traces(self, traces: Sequence[Mapping[str, Any]]) -> list[str]:
        """Store traces (all or none) and return their trace ids.

        Each is a partial trace object: what it leaves out is filled in (trace_id, time = now, rating normal,
        type ApiCall, service CTS, ...). Two extra keys are not part of the trace: `project_id` (default: the
        eu-de project's id) and `tracker_name` (default system), which the trace_type/tracker_name filters use.
        """
        return [str(i) for i in self._call("POST", "traces", list(traces))["trace_ids"]]

    def close(self) -> None:
        self.session.close()
