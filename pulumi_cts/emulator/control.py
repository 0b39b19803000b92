"""The emulator's control API under `/_emulator/` (reset, faults, tokens, request log, seed data, config).

`ControlResponse` serves it; `EmulatorControl` is the small typed client tests use to drive it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from requests import PreparedRequest, Session
from requests import Response as HttpResponse
from requests.adapters import HTTPAdapter
from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import RESPONSE_SHAPES, Backend, RequestLog
from pulumi_cts.emulator.faults import FaultRule, FaultRules
from pulumi_cts.emulator.models import is_valid_bucket_name
from pulumi_cts.emulator.responses import json_response


def _json(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise exceptions.ControlError(f"body is not valid JSON: {e}") from e


def _body(request: Request) -> dict[str, Any]:
    data = _json(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise exceptions.ControlError("body must be a JSON object")
    return data


class ControlResponse:
    """Handles the control routes; none of them needs auth, is logged, or is subject to faults."""

    def __init__(self, backend: Backend, faults: FaultRules, request_log: RequestLog) -> None:
        self.backend = backend
        self.faults = faults
        self.request_log = request_log

    def reset(self, request: Request) -> Response:
        self.backend.reset()
        self.faults.clear()
        self.request_log.clear()
        return json_response({"reset": True})

    def list_faults(self, request: Request) -> Response:
        return json_response({"faults": [rule.as_dict() for rule in self.faults.list()]})

    def add_fault(self, request: Request) -> Response:
        try:
            rule = FaultRule.from_dict(_body(request))
        except ValueError as e:
            raise exceptions.ControlError(str(e)) from e
        self.faults.add(rule)
        return json_response({"id": rule.id, "fault": rule.as_dict()}, 201)

    def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(status=204)

    def remove_fault(self, request: Request, fault_id: str) -> Response:
        if not self.faults.remove(fault_id):
            raise exceptions.ControlNotFound(f"no fault rule {fault_id}")
        return Response(status=204)

    def expire_tokens(self, request: Request) -> Response:
        return json_response({"expired": self.backend.expire_tokens()})

    def list_requests(self, request: Request) -> Response:
        service = request.args.get("service") or None
        return json_response({"requests": [r.as_dict() for r in self.request_log.entries(service)]})

    def clear_requests(self, request: Request) -> Response:
        self.request_log.clear()
        return Response(status=204)

    def add_bucket(self, request: Request, name: str) -> Response:
        if not is_valid_bucket_name(name):
            raise exceptions.ControlError(f"{name!r} is not a valid OBS bucket name")
        location = _body(request).get("location") or "eu-de"
        if not isinstance(location, str):
            raise exceptions.ControlError("location must be a string")
        created = self.backend.add_bucket(name, location)
        return json_response({"name": name, "created": created}, 201 if created else 200)

    def remove_bucket(self, request: Request, name: str) -> Response:
        if not self.backend.remove_bucket(name):
            raise exceptions.ControlNotFound(f"no bucket {name}")
        return Response(status=204)

    def add_kms_key(self, request: Request, key_id: str) -> Response:
        created = self.backend.add_kms_key(key_id)
        return json_response({"id": key_id, "created": created}, 201 if created else 200)

    def remove_kms_key(self, request: Request, key_id: str) -> Response:
        if not self.backend.remove_kms_key(key_id):
            raise exceptions.ControlNotFound(f"no KMS key {key_id}")
        return Response(status=204)

    def get_config(self, request: Request) -> Response:
        return json_response(dataclasses.asdict(self.backend.config))

    def set_config(self, request: Request) -> Response:
        body = _body(request)
        unknown = set(body) - {"response_shape", "put_body"}
        if unknown:
            raise exceptions.ControlError(f"unknown config fields: {sorted(unknown)}")
        shape = body.get("response_shape")
        if shape is not None and shape not in RESPONSE_SHAPES:
            raise exceptions.ControlError(f"response_shape must be one of {RESPONSE_SHAPES}")
        put_body = body.get("put_body")
        if put_body is not None and not isinstance(put_body, bool):
            raise exceptions.ControlError("put_body must be a boolean")
        return json_response(dataclasses.asdict(self.backend.configure(shape, put_body)))

    def get_state(self, request: Request) -> Response:
        return json_response(self.backend.snapshot())

    def seed_traces(self, request: Request) -> Response:
        """Store traces given as a JSON list (or `{"traces": [...]}`) of partial trace objects."""
        data = _json(request)
        if isinstance(data, dict):
            data = data.get("traces")
        if not isinstance(data, list):
            raise exceptions.ControlError('body must be a list of trace objects or {"traces": [...]}')
        try:
            ids = self.backend.seed_traces(data)
        except ValueError as e:
            raise exceptions.ControlError(str(e)) from e
        return json_response({"trace_ids": ids}, 201)


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
