"""What the emulator's handler groups share: JSON answers, reading JSON bodies and their typed fields, and the
trace every successful call leaves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.models import Caller, Project

JSON_MIMETYPE = "application/json"
# No CTS, IAM or control body nests deeper than a few levels; deeper JSON is refused before anything walks it.
MAX_JSON_DEPTH = 64
# Where the dispatcher leaves the id it answers in X-Request-Id, for the handlers' traces.
REQUEST_ID_KEY = "pulumi_cts.emulator.request_id"


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=dict(headers or {}), content_type=f"{JSON_MIMETYPE};charset=UTF-8"
    )


def error_response(error: exceptions.EmulatorError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def empty_response(status: int = 200) -> Response:
    """A documented answer without a body (v1.0 and v3 PUT)."""
    return Response(b"", status=status, content_type=f"{JSON_MIMETYPE};charset=UTF-8")


def iso_timestamp(moment: datetime) -> str:
    """IAM's format: UTC with microseconds and a `Z`, e.g. 2026-11-26T10:00:00.000000Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- request bodies ---


class FieldTypeError(ValueError):
    """A JSON field holds a value of the wrong type."""

    def __init__(self, key: str, expected: str, value: Any) -> None:
        super().__init__(f"{key} must be a {expected} or null, got {value!r}")
        self.key = key
        self.expected = expected


def optional_field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """`data[key]` if it is a `kind`, `default` if absent or null; else `FieldTypeError`.

    A JSON `true` is never a number: bool is an int subclass in Python, so it passes only where bool is asked for.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        numeric = any(k in (int, float) for k in kinds)
        raise FieldTypeError(key, "number" if numeric else " or ".join(k.__name__ for k in kinds), value)
    return value


def invalid_body(message: str) -> exceptions.InvalidBody:
    """CTS.0003 with the gateway's wording."""
    return exceptions.InvalidBody(f"The message body is invalid: {message}")


def body_field(data: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """`optional_field` for a CTS request body: a wrong type is CTS.0003."""
    try:
        return optional_field(data, key, kind, default)
    except FieldTypeError as e:
        raise invalid_body(f"{e.key} must be a {e.expected}.") from e


def body_object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """The object `data[key]`, None if absent or null; anything else is CTS.0003."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_body(f"{key} must be an object.")
    return value


def _nesting(value: Any) -> int:
    """How many arrays and objects are nested in `value`, counted without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def decode_json(raw: bytes) -> Any:
    """JSON a client sent, decoded; ValueError for invalid JSON and for JSON nested deeper than `MAX_JSON_DEPTH`.

    The one place the emulator decodes what a client sent (handlers and the request log alike).
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        # The decoder recurses once per level: thousands of levels exhaust the stack before it can say more.
        raise ValueError(f"it is nested more than {MAX_JSON_DEPTH} levels deep") from None
    if _nesting(value) > MAX_JSON_DEPTH:
        raise ValueError(f"it is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def parse_json_body(request: Request, error: type[exceptions.EmulatorError]) -> Any:
    """The decoded JSON body; raises `error` for a wrong content type, an empty body or invalid JSON."""
    if request.mimetype != JSON_MIMETYPE:
        raise error(f"Content-Type must be {JSON_MIMETYPE}, got {request.mimetype or 'none'}.")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise error("The request body is empty.")
    try:
        return decode_json(raw)
    except ValueError as e:
        raise error(f"The request body is not valid JSON: {e}") from e


def json_object(request: Request) -> Mapping[str, Any]:
    """The JSON object a CTS request carries; anything else is CTS.0003."""
    body = parse_json_body(request, exceptions.InvalidBody)
    if not isinstance(body, dict):
        raise invalid_body("it must be a JSON object.")
    return body


# --- traces ---


def record_call(
    backend: Backend,
    request: Request,
    project: Project,
    caller: Caller,
    *,
    trace_name: str,
    resource_type: str,
    resource_id: str,
    resource_name: str,
    status: int,
    api_version: str,
    service_type: str = "CTS",
) -> None:
    """Record a successful call as a trace of `project`, the way CTS audits its own and IAM's API (deletes warn)."""
    backend.record_trace(
        project,
        {
            "trace_name": trace_name,
            "trace_rating": "warning" if trace_name.startswith("delete") else "normal",
            "trace_type": "ApiCall",
            "service_type": service_type,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "resource_name": resource_name,
            "user": caller.trace_user(),
            "source_ip": request.remote_addr or "127.0.0.1",
            "request_id": str(request.environ.get(REQUEST_ID_KEY, "")),
            "code": str(status),
            "api_version": api_version,
        },
    )
