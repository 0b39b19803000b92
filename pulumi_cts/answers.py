"""Every successful IAM and CTS answer turned into typed data, in one place: the content type, the
JSON and each field the provider uses are checked (type and size) before anything uses or stores them.

A field table per answer (`TRACKER`, `NOTIFICATION`, `TOKEN`, ...) says what each field must be;
adding a field is one line. Fields not in a table are dropped, `null` counts as absent, and
anything else is an `ApiError` that names the operation, the field, what was expected and the
request id. A malformed answer is never taken for an absent resource.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import requests

from .errors import ApiError

# No documented answer comes near this; a page of 200 traces with large request bodies stays below.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
SHORT = 64  # status words, types, regions
NAME = 256  # names and ids
LONG = 2048  # URLs, URNs, free text
MAX_ITEMS = 10_000
AGENCY_NAME = 64  # IAM agency names have at most 64 characters


class Spec(Protocol):
    """What one field must be; `parse` returns the checked value or raises through `answer.problem`."""

    def parse(self, value: Any, path: str, answer: Answer) -> Any: ...


def described(value: Any) -> str:
    """What a value is, for an error message, without repeating the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True)
class Text:
    max_length: int = NAME

    def parse(self, value: Any, path: str, answer: Answer) -> str:
        if not isinstance(value, str) or len(value) > self.max_length:
            raise answer.problem(path, f"a string of at most {self.max_length} characters", value)
        return value


@dataclass(frozen=True)
class Flag:
    def parse(self, value: Any, path: str, answer: Answer) -> bool:
        if not isinstance(value, bool):
            raise answer.problem(path, "true or false", value)
        return value


@dataclass(frozen=True)
class Whole:
    """A whole number; with `digits`, also a string of digits (v1.0 types some numbers as strings), kept as is."""

    digits: bool = False

    def parse(self, value: Any, path: str, answer: Answer) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if self.digits and isinstance(value, str) and value.isdigit() and len(value) <= 20:
            return value
        raise answer.problem(path, "a whole number", value)


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an IAM time stamp such as `2026-11-26T10:00:00.123456Z` (ValueError if it is none)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


@dataclass(frozen=True)
class Time:
    """An ISO 8601 time stamp such as `2026-11-26T10:00:00.123456Z`, as epoch seconds."""

    def parse(self, value: Any, path: str, answer: Answer) -> float:
        try:
            return parse_timestamp(Text(SHORT).parse(value, path, answer))
        except ValueError:
            raise answer.problem(path, "an ISO 8601 time such as 2026-11-26T10:00:00Z", value) from None


@dataclass(frozen=True)
class Anything:
    """Any JSON value, passed on as it is (bounded by the size of the whole answer)."""

    def parse(self, value: Any, path: str, answer: Answer) -> Any:
        return value


@dataclass(frozen=True)
class Items:
    item: Spec
    max_items: int = MAX_ITEMS

    def parse(self, value: Any, path: str, answer: Answer) -> list[Any]:
        if not isinstance(value, list) or len(value) > self.max_items:
            raise answer.problem(path, f"a list of at most {self.max_items} items", value)
        return [self.item.parse(item, f"{path}[{index}]", answer) for index, item in enumerate(value)]


@dataclass(frozen=True)
class Record:
    """An object: listed fields checked (`null` = absent), `required` ones present, the rest dropped."""

    fields: Mapping[str, Spec]
    required: tuple[str, ...] = ()

    def parse(self, value: Any, path: str, answer: Answer) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise answer.problem(path or "the answer", "an object", value)
        checked: dict[str, Any] = {}
        for name, spec in self.fields.items():
            where = f"{path}.{name}" if path else name
            if value.get(name) is None:
                if name in self.required:
                    raise answer.problem(where, "present", None)
                continue
            checked[name] = spec.parse(value[name], where, answer)
        return checked


@dataclass
class Answer:
    """One successful HTTP answer and what to name when it cannot be used.

    `setting` is the configuration key of the address that answered (`cts:authUrl`, `cts:endpoint`).
    """

    response: requests.Response
    operation: str
    target: str
    setting: str
    _body: Any = field(default=None, init=False, repr=False)
    _parsed: bool = field(default=False, init=False, repr=False)

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def request_id(self) -> str | None:
        headers = self.response.headers
        value = headers.get("X-Request-Id") or headers.get("X-Openstack-Request-Id")
        return value[:NAME] if value else None

    def problem(self, path: str, expected: str, got: Any) -> ApiError:
        return self.unusable(f"{path} must be {expected}, got {described(got)}")

    def unusable(self, detail: str) -> ApiError:
        return ApiError(
            self.operation,
            status=self.status,
            error_msg=f"the answer is not usable: {detail}",
            request_id=self.request_id,
            target=self.target,
            hint=(
                "the service, or a proxy or gateway in front of it, answered in a shape the API does not "
                f"document; check {self.setting} and any proxy settings"
            ),
        )

    def json(self) -> Any:
        """The JSON body (None when the body is empty), after checking its size and content type."""
        if self._parsed:
            return self._body
        content = self.response.content or b""
        if len(content) > MAX_ANSWER_BYTES:
            raise self.unusable(f"it is {len(content)} bytes long; at most {MAX_ANSWER_BYTES} are accepted")
        if not content.strip():
            self._body, self._parsed = None, True
            return None
        media_type = (self.response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type and not (media_type == "application/json" or media_type.endswith("+json")):
            raise self.unusable(f"its content type is {media_type[:SHORT]!r}, not JSON")
        try:
            self._body = json.loads(content)
        except (ValueError, RecursionError):
            raise self.unusable("its body is not valid JSON") from None
        self._parsed = True
        return self._body

    def read(self, spec: Spec) -> Any:
        """The whole body checked against `spec`; an empty body is a problem too."""
        body = self.json()
        if body is None:
            raise self.unusable("its body is empty or null")
        return spec.parse(body, "", self)

    def read_optional(self, spec: Spec) -> Any:
        """Like `read`, but an empty body (documented for some writes) gives None."""
        return None if self.json() is None else self.read(spec)


# --- the answers' field tables -------------------------------------------------------------------

_OBS_INFO = Record(
    {
        "bucket_name": Text(),
        "file_prefix_name": Text(),
        "is_obs_created": Flag(),
        "is_authorized_bucket": Flag(),
        "bucket_lifecycle": Whole(digits=True),
        "compress_type": Text(SHORT),
        "is_sort_by_service": Flag(),
        "bucket_location": Text(SHORT),
    }
)
_TRACKER_FIELDS: dict[str, Spec] = {
    "id": Text(),
    "tracker_name": Text(),
    "tracker_type": Text(SHORT),
    "status": Text(SHORT),
    "detail": Text(LONG),
    "create_time": Whole(),
    "domain_id": Text(),
    "project_id": Text(),
    # v1.0 flat shape
    "bucket_name": Text(),
    "file_prefix_name": Text(),
    "is_obs_created": Flag(),
    "is_support_trace_files_encryption": Flag(),
    "kms_id": Text(),
    "log_file_validate": Record({"is_support_validate": Flag()}),
    "lts": Record({"is_lts_enabled": Flag(), "log_group_name": Text(), "log_topic_name": Text()}),
    # v3 shape
    "obs_info": _OBS_INFO,
    "is_support_validate": Flag(),
    "is_lts_enabled": Flag(),
    "compress_type": Text(SHORT),
    "is_sort_by_service": Flag(),
    "data_bucket": Record({"data_bucket_name": Text(), "data_event": Items(Text(SHORT), 8)}),
    # Huawei Cloud's v3
    "management_event_selector": Record({"exclude_service": Items(Text(SHORT), 100)}),
    "is_organization_tracker": Flag(),
    "agency_name": Text(AGENCY_NAME),
}
# What a write answers (its body is optional), and one tracker of a query (which names it).
TRACKER = Record(_TRACKER_FIELDS)
QUERIED_TRACKER = Record(_TRACKER_FIELDS, required=("tracker_name",))

_NOTIFICATION_FIELDS: dict[str, Spec] = {
    "notification_id": Text(),
    "notification_name": Text(),
    "notification_type": Text(SHORT),
    "operation_type": Text(SHORT),
    "operations": Items(
        Record({"service_type": Text(SHORT), "resource_type": Text(), "trace_names": Items(Text(), 1000)}), 1000
    ),
    "notify_user_list": Items(Record({"user_group": Text(), "user_list": Items(Text(), 1000)}), 100),
    "topic_id": Text(LONG),
    "filter": Record({"condition": Text(SHORT), "is_support_filter": Flag(), "rule": Items(Text(LONG), 100)}),
    "status": Text(SHORT),
    "create_time": Whole(),
    "domain_id": Text(),
    "project_id": Text(),
    "agency_name": Text(AGENCY_NAME),
}
NOTIFICATION = Record(_NOTIFICATION_FIELDS)
QUERIED_NOTIFICATION = Record(_NOTIFICATION_FIELDS, required=("notification_id",))

TRACE = Record(
    {
        "trace_id": Text(),
        "trace_name": Text(),
        "trace_rating": Text(SHORT),
        "trace_type": Text(SHORT),
        "service_type": Text(SHORT),
        "resource_type": Text(),
        "resource_id": Text(LONG),
        "resource_name": Text(LONG),
        "resource_url": Text(LONG),
        "source_ip": Text(SHORT),
        "request_id": Text(),
        "api_version": Text(SHORT),
        "endpoint": Text(LONG),
        "location_info": Text(LONG),
        "tracker_name": Text(),
        "time": Whole(),
        "record_time": Whole(),
        # Typed differently across API versions (string or object, number or string).
        "code": Anything(),
        "message": Anything(),
        "request": Anything(),
        "response": Anything(),
        "user": Anything(),
    }
)
TRACES_PAGE = Record(
    {"traces": Items(TRACE, 1000), "meta_data": Record({"count": Whole(), "marker": Text(LONG)})},
    required=("traces",),
)

# A tracker's tags (`GET .../cts-tracker/{id}/tags`): keys of at most 128, values of at most 255 characters.
TAGS = Record(
    {"tags": Items(Record({"key": Text(128), "value": Text(255)}, required=("key",)), 1000)}, required=("tags",)
)

TOKEN = Record(
    {
        "token": Record(
            {
                "expires_at": Time(),
                "issued_at": Time(),
                "project": Record({"id": Text(), "name": Text()}),
                "catalog": Items(
                    Record(
                        {
                            "type": Text(SHORT),
                            "endpoints": Items(
                                Record(
                                    {
                                        "url": Text(LONG),
                                        "interface": Text(SHORT),
                                        "region": Text(SHORT),
                                        "region_id": Text(SHORT),
                                    }
                                ),
                                1000,
                            ),
                        }
                    ),
                    1000,
                ),
            },
            required=("expires_at",),
        )
    },
    required=("token",),
)
# IAM tokens are long (PKI tokens run to several kilobytes), but not this long.
MAX_TOKEN_LENGTH = 65_536

PROJECTS = Record({"projects": Items(Record({"id": Text(), "name": Text()}, required=("id",)))}, required=("projects",))


def tracker_in(answer: Answer, name: str) -> dict[str, Any] | None:
    """The tracker called `name` in a query answer (an object, a list, or `{"trackers": [...]}`), or None
    when the answer lists no such tracker. Anything else is an `ApiError`."""
    body = answer.json()
    if isinstance(body, Mapping) and "trackers" in body:
        found = answer.read(Record({"trackers": Items(QUERIED_TRACKER)}, required=("trackers",)))["trackers"]
    elif isinstance(body, list):
        found = Items(QUERIED_TRACKER).parse(body, "the answer", answer)
    else:
        found = [answer.read(QUERIED_TRACKER)]
    named = [tracker for tracker in found if tracker["tracker_name"] == name]
    return named[0] if named else None


def notifications_in(answer: Answer) -> list[dict[str, Any]]:
    """The notifications of a query answer: `{"notifications": [...]}` or a list."""
    body = answer.json()
    if isinstance(body, list):
        return list(Items(QUERIED_NOTIFICATION).parse(body, "the answer", answer))
    page = answer.read(Record({"notifications": Items(QUERIED_NOTIFICATION)}, required=("notifications",)))
    return list(page["notifications"])
