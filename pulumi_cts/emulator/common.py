"""What the emulator's handler groups share: JSON answers, reading JSON bodies and their typed fields, the
trace every successful call leaves, and reading a trace query (v3, and the v1.0/v2.0 form of it).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.models import (
    TRACE_RATINGS,
    TRACKER_TYPES,
    Caller,
    Project,
    TraceQuery,
)
from pulumi_cts.emulator.models import iso_timestamp as iso_timestamp  # re-exported for the handlers and the server

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


@dataclasses.dataclass(frozen=True)
class TracedResource:
    """What a trace is about: resource type, id and name, and where it can be read (path and query)."""

    type: str
    id: str
    name: str
    url: str = ""


def record_call(
    backend: Backend,
    request: Request,
    project: Project,
    caller: Caller,
    trace_name: str,
    resource: TracedResource,
    status: int,
    api_version: str,
    *,
    service_type: str = "CTS",
    answer: Any = None,
    with_request_body: bool = True,
) -> None:
    """Record a successful call as a trace of `project`, the way CTS audits its own and IAM's API (deletes warn).

    The trace keeps the request body as sent (never for IAM: it carries a password) and `answer` as the response.
    """
    backend.record_trace(
        project,
        {
            "trace_name": trace_name,
            "trace_rating": "warning" if trace_name.startswith("delete") else "normal",
            "trace_type": "ApiCall",
            "service_type": service_type,
            "resource_type": resource.type,
            "resource_id": resource.id,
            "resource_name": resource.name,
            "resource_url": resource.url,
            "user": caller.trace_user(),
            "source_ip": request.remote_addr or "127.0.0.1",
            "request_id": str(request.environ.get(REQUEST_ID_KEY, "")),
            "code": str(status),
            "api_version": api_version,
            "request": request.get_data(cache=True, as_text=True) if with_request_body else "",
            "response": json.dumps(answer) if answer is not None else "",
            "endpoint": request.host_url.rstrip("/"),
            "read_only": False,
            "operation_id": trace_name[:1].upper() + trace_name[1:],
        },
    )


# --- trace queries ---

DEFAULT_TRACE_LIMIT = 10
MAX_TRACE_LIMIT = 200
DEFAULT_TRACE_WINDOW = timedelta(hours=1)
# Query parameters that select traces by the top-level trace field of the same name.
TRACE_FIELD_FILTERS = (
    "service_type",
    "resource_id",
    "resource_name",
    "resource_type",
    "trace_name",
    "trace_rating",
    "enterprise_project_id",
)
_EPOCH_MS = re.compile(r"\d{13}")


def _epoch_ms_param(args: Mapping[str, str], name: str) -> int | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if _EPOCH_MS.fullmatch(value) is None:
        raise invalid_body(f"{name} must be a 13-digit UTC timestamp in milliseconds, not {value!r}.")
    return int(value)


def trace_query(args: Mapping[str, str], now_ms: int, path_tracker_name: str | None = None) -> TraceQuery:
    """Read a trace query string (default window: the last hour).

    v3 (`GET /v3/{project_id}/traces`) selects by `trace_type` (default system) and `tracker_name`; v1.0 and
    v2.0 name the tracker in the path instead (`path_tracker_name`) and know no trace type.
    """
    raw_limit = args.get("limit") or str(DEFAULT_TRACE_LIMIT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_TRACE_LIMIT:
        raise invalid_body(f"limit must be an integer from 1 to {MAX_TRACE_LIMIT}, not {raw_limit!r}.")
    to_ms = _epoch_ms_param(args, "to")
    from_ms = _epoch_ms_param(args, "from")
    if to_ms is None:
        to_ms = now_ms
    if from_ms is None:
        from_ms = to_ms - int(DEFAULT_TRACE_WINDOW.total_seconds() * 1000)
    if from_ms > to_ms:
        raise invalid_body(f"from ({from_ms}) must not be later than to ({to_ms}).")
    rating = args.get("trace_rating")
    if rating and rating not in TRACE_RATINGS:
        raise invalid_body(f"trace_rating must be normal, warning or incident, not {rating!r}.")
    if path_tracker_name is not None:
        tracker_type = None
        tracker_name: str | None = path_tracker_name
    else:
        # Documented default: management traces.
        tracker_type = args.get("trace_type") or "system"
        if tracker_type not in TRACKER_TYPES:
            raise invalid_body(f"trace_type must be system or data, not {tracker_type!r}.")
        tracker_name = args.get("tracker_name") or None
    return TraceQuery(
        from_ms=from_ms,
        to_ms=to_ms,
        limit=int(raw_limit),
        marker=args.get("next") or None,
        trace_id=args.get("trace_id") or None,
        tracker_type=tracker_type,
        tracker_name=tracker_name,
        user=args.get("user") or None,
        access_key_id=args.get("access_key_id") or None,
        fields=tuple((key, str(args[key])) for key in TRACE_FIELD_FILTERS if args.get(key)),
    )


def traces_page(traces: list[dict[str, Any]], marker: str | None) -> dict[str, Any]:
    """The answer of every trace query: one page and the marker of the next one (None at the end)."""
    return {"traces": traces, "meta_data": {"count": len(traces), "marker": marker}}
