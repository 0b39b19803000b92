"""The emulated resources as values: projects, tokens, callers, trackers (with their tags), notifications, traces
and trace queries, with their API representations and the format checks shared by the handlers and the backend.

Nothing here holds state or knows about storage; `backend.py` keeps these objects and applies the CTS rules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

TRACKER_NAME = "system"
DEFAULT_REGION = "eu-de"
# Region projects a client may name by id before anyone names them: their ids are derived from these names.
KNOWN_REGIONS = ("eu-de", "eu-nl", "eu-ch2")
DEFAULT_DOMAIN_NAME = "emulator-domain"
# Every resource is in the default enterprise project unless a trace says otherwise.
DEFAULT_ENTERPRISE_PROJECT = "0"
LTS_LOG_GROUP = "CTS"
LTS_LOG_TOPIC = "system-trace"
# What CTS sets as the transfer bucket's retention when a client chooses none.
BUCKET_LIFECYCLE_DAYS = 30

TRACKER_TYPES = ("system", "data")
TRACKER_STATUSES = ("enabled", "disabled")
COMPRESS_TYPES = ("gzip", "json")
DATA_EVENTS = ("READ", "WRITE")
TRACE_RATINGS = ("normal", "warning", "incident")
# The only cloud service whose management events a tracker may leave out (KMS createDatakey traces).
EXCLUDABLE_SERVICES = ("KMS",)
# What a v1.0 tracker's SMN notification can be set to watch.
SMN_OPERATIONS = ("delete", "create", "login")
# A notification's topic_id is an SMN topic (type smn) or a FunctionGraph function (type fun).
NOTIFICATION_TYPES = ("smn", "fun")
SMN_TOPIC = re.compile(r"urn:smn:[a-z0-9-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]{1,256}")
FUNCTION_URN = re.compile(
    r"urn:fss:[a-z0-9-]+:[A-Za-z0-9]+:function:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_.-]+)?"
)

_HEX32 = re.compile(r"[0-9a-f]{32}")
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{2,62}")
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9._-]{0,64}")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def stable_id(kind: str, name: str) -> str:
    """32 lowercase hex digits derived from a name, so ids survive restarts without being stored."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:32]


def project_id_for(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def is_project_id(value: str) -> bool:
    return _HEX32.fullmatch(value) is not None


def region_of(project_name: str) -> str:
    return project_name.split("_", 1)[0]


def is_valid_bucket_name(name: str) -> bool:
    if _BUCKET_CHARS.fullmatch(name) is None:
        return False
    if ".." in name or ".-" in name or "-." in name:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def is_valid_file_prefix(prefix: str) -> bool:
    return _PREFIX_CHARS.fullmatch(prefix) is not None


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_timestamp(moment: datetime) -> str:
    """IAM's format: UTC with microseconds and a `Z`, e.g. 2026-11-26T10:00:00.000000Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stable_uuid(kind: str, name: str) -> str:
    """A UUID-shaped id derived from a name (LTS group and stream ids look like UUIDs)."""
    h = stable_id(kind, name)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def region_project_name(project_id: str) -> str | None:
    """The region whose project has this id, if it is one of the known regions."""
    return next((name for name in KNOWN_REGIONS if project_id_for(name) == project_id), None)


def notification_type_of(topic_id: str) -> str:
    """`fun` for a FunctionGraph function URN, else `smn`."""
    return "fun" if topic_id.startswith("urn:fss:") else "smn"


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str
    domain_name: str = ""

    @property
    def region(self) -> str:
        return region_of(self.name)


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who made a call, as a trace names them: an IAM user, and the access key if the call was signed with one."""

    id: str
    name: str
    domain_id: str
    domain_name: str
    access_key_id: str = ""
    # When the caller's session began: the token's issue time, or the signing time of a signed call.
    session_start: datetime | None = None

    @classmethod
    def key_owner(cls, access_key: str, project: Project, signed_at: datetime | None) -> Caller:
        """The caller of a signed call. The emulator does not model who holds which key, so every key belongs to
        the account's own user (whose name is the account name), the user a login with the account name gets."""
        user_id = stable_id("user", f"{project.domain_name}/{project.domain_name}")
        return cls(user_id, project.domain_name, project.domain_id, project.domain_name, access_key, signed_at)

    def trace_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "user_name": self.name,
            "domain": {"id": self.domain_id, "name": self.domain_name},
            "account_id": self.domain_id,
            "access_key_id": self.access_key_id,
            "principal_urn": f"iam::{self.domain_id}:user:{self.name}",
            "principal_id": self.id,
            # The account itself: a user whose name is the account (domain) name.
            "principal_is_root_user": "true" if self.name and self.name == self.domain_name else "false",
            "type": "User",
            "invoked_by": [],
            "session_context": {
                "attributes": {
                    "created_at": iso_timestamp(self.session_start) if self.session_start else "",
                    "mfa_authenticated": "false",
                }
            },
        }


def default_trace_user(project: Project) -> dict[str, Any]:
    """The user of a trace that names none (seeded traces): nobody, in the project's account."""
    return Caller("", "", project.domain_id, project.domain_name).trace_user()


def complete_trace_user(user: Mapping[str, Any], project: Project) -> dict[str, Any]:
    """A seeded trace's user with every documented field: what it leaves out comes from an anonymous user."""
    completed = {**default_trace_user(project), **user}
    if "user_name" not in user:
        completed["user_name"] = completed["name"]
    return completed


@dataclasses.dataclass(frozen=True)
class Token:
    value: str
    user_name: str
    user_id: str
    domain_name: str
    domain_id: str
    project: Project | None
    issued_at: datetime
    expires_at: datetime
    methods: tuple[str, ...] = ("password",)

    def is_valid(self, now: datetime) -> bool:
        return now < self.expires_at

    @property
    def caller(self) -> Caller:
        return Caller(self.user_id, self.user_name, self.domain_id, self.domain_name, session_start=self.issued_at)


@dataclasses.dataclass(frozen=True)
class SmnSettings:
    """A v1.0 tracker's own key-operation notification through SMN (v3 has notifications of their own)."""

    is_support_smn: bool = False
    topic_id: str = ""
    is_send_all_key_operation: bool = False
    operations: tuple[str, ...] = ()
    need_notify_user_list: tuple[str, ...] = ()

    def description(self) -> dict[str, Any]:
        return {
            "is_support_smn": self.is_support_smn,
            "topic_id": self.topic_id,
            "is_send_all_key_operation": self.is_send_all_key_operation,
            "operations": list(self.operations),
            "need_notify_user_list": list(self.need_notify_user_list),
        }


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """What a client declares in a POST or PUT body; fields it leaves out take these defaults.

    An empty `bucket_name` means no transfer to OBS (possible in v3 only). `compress_type`, `is_sort_by_service`,
    the agency, the organization flag and the excluded services exist only in v3, `smn` only in v1.0,
    `bucket_lifecycle` only for data trackers.
    """

    bucket_name: str
    file_prefix_name: str = ""
    is_obs_created: bool = False
    is_support_trace_files_encryption: bool = False
    kms_id: str = ""
    is_support_validate: bool = False
    is_lts_enabled: bool = False
    status: str = "enabled"
    compress_type: str = "gzip"
    is_sort_by_service: bool = True
    bucket_lifecycle: int | None = None
    agency_name: str = ""
    is_organization_tracker: bool = False
    exclude_service: tuple[str, ...] = ()
    smn: SmnSettings | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrackerSettings:
        """Settings as `dataclasses.asdict` stored them (JSON lists back to tuples); older documents lack fields."""
        fields = dict(data)
        fields["exclude_service"] = tuple(fields.get("exclude_service") or ())
        smn = fields.get("smn")
        if smn is not None:
            fields["smn"] = SmnSettings(
                **{
                    **smn,
                    "operations": tuple(smn["operations"]),
                    "need_notify_user_list": tuple(smn["need_notify_user_list"]),
                }
            )
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class DataBucket:
    """The OBS bucket a data tracker watches, and which of its operations (READ, WRITE)."""

    data_bucket_name: str
    data_event: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TrackerRequest:
    """A v3 create or modify body: which tracker, and its settings."""

    tracker_type: str
    tracker_name: str
    settings: TrackerSettings
    data_bucket: DataBucket | None = None


@dataclasses.dataclass(frozen=True)
class Tracker:
    """A stored tracker; `status`/`detail` are what the service reports, not only what was set."""

    id: str
    project_id: str
    domain_id: str
    create_time: int
    settings: TrackerSettings
    status: str
    detail: str | None = None
    bucket_location: str = ""
    is_authorized_bucket: bool = True
    tracker_type: str = "system"
    tracker_name: str = TRACKER_NAME
    data_bucket: DataBucket | None = None
    # (key, value) pairs, sorted by key.
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def bucket_lifecycle(self) -> int:
        """Retention days of the transfer bucket: as set (data trackers), else the OBS default, 0 without one."""
        if self.settings.bucket_lifecycle is not None:
            return self.settings.bucket_lifecycle
        return BUCKET_LIFECYCLE_DAYS if self.settings.bucket_name else 0

    def lts_ids(self) -> tuple[str, str]:
        """The LTS log group and stream ids (group_id, stream_id); empty while traces do not go to LTS."""
        if not self.settings.is_lts_enabled:
            return "", ""
        return stable_uuid("lts-group", self.project_id), stable_uuid(
            "lts-stream", f"{self.project_id}/{self.tracker_name}"
        )

    def description(self, shape: str = "flat") -> dict[str, Any]:
        """The v1.0 representation: the flat shape, or with bucket fields nested in `obs_info`."""
        s = self.settings
        bucket_fields: dict[str, Any] = {
            "bucket_name": s.bucket_name,
            "file_prefix_name": s.file_prefix_name,
            "is_obs_created": s.is_obs_created,
        }
        body: dict[str, Any] = {}
        if shape == "obs_info":
            body["obs_info"] = {
                **bucket_fields,
                "is_authorized_bucket": self.is_authorized_bucket,
                # v1.0 types the retention as a string, v3 as a number.
                "bucket_lifecycle": str(self.bucket_lifecycle),
                "bucket_location": self.bucket_location,
            }
        else:
            body.update(bucket_fields)
        body.update(
            {
                "is_support_trace_files_encryption": s.is_support_trace_files_encryption,
                "kms_id": s.kms_id,
                "log_file_validate": {"is_support_validate": s.is_support_validate},
                "lts": self._lts(),
                "tracker_name": self.tracker_name,
                "tracker_type": self.tracker_type,
                "status": self.status,
                "id": self.id,
                "create_time": self.create_time,
                "domain_id": self.domain_id,
                "project_id": self.project_id,
            }
        )
        body["group_id"], body["stream_id"] = self.lts_ids()
        if s.smn is not None:
            body["smn"] = s.smn.description()
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def v3_description(self) -> dict[str, Any]:
        """The v3 representation (`TrackerResponseBody`), with Huawei Cloud's KMS and data bucket fields."""
        s = self.settings
        body: dict[str, Any] = {
            "id": self.id,
            "create_time": self.create_time,
            "domain_id": self.domain_id,
            "project_id": self.project_id,
            "tracker_type": self.tracker_type,
            "tracker_name": self.tracker_name,
            "status": self.status,
            "is_support_validate": s.is_support_validate,
            "lts": self._lts(),
            "obs_info": {
                "bucket_name": s.bucket_name,
                "file_prefix_name": s.file_prefix_name,
                "is_obs_created": s.is_obs_created,
                "is_authorized_bucket": self.is_authorized_bucket,
                "bucket_lifecycle": self.bucket_lifecycle,
                "compress_type": s.compress_type,
                "is_sort_by_service": s.is_sort_by_service,
                "bucket_location": self.bucket_location,
            },
            "is_support_trace_files_encryption": s.is_support_trace_files_encryption,
            "kms_id": s.kms_id,
            "agency_name": s.agency_name,
            "is_organization_tracker": s.is_organization_tracker,
        }
        body["group_id"], body["stream_id"] = self.lts_ids()
        if self.tracker_type == "system":
            body["management_event_selector"] = {"exclude_service": list(s.exclude_service)}
        if self.data_bucket is not None:
            body["data_bucket"] = {
                "data_bucket_name": self.data_bucket.data_bucket_name,
                "data_event": list(self.data_bucket.data_event),
                "search_enabled": False,
            }
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def _lts(self) -> dict[str, Any]:
        return {
            "is_lts_enabled": self.settings.is_lts_enabled,
            "log_group_name": LTS_LOG_GROUP,
            "log_topic_name": LTS_LOG_TOPIC,
        }

    def document(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "project_id": self.project_id,
                "domain_id": self.domain_id,
                "create_time": self.create_time,
                "settings": dataclasses.asdict(self.settings),
                "tracker_type": self.tracker_type,
                "tracker_name": self.tracker_name,
                "data_bucket": dataclasses.asdict(self.data_bucket) if self.data_bucket else None,
                "tags": [list(tag) for tag in self.tags],
            }
        )

    @classmethod
    def from_document(cls, document: str) -> Tracker:
        data = json.loads(document)
        settings = TrackerSettings.from_dict(data["settings"])
        bucket = data.get("data_bucket")
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            domain_id=data["domain_id"],
            create_time=data["create_time"],
            settings=settings,
            status=settings.status,
            tracker_type=data.get("tracker_type", "system"),
            tracker_name=data.get("tracker_name", TRACKER_NAME),
            data_bucket=DataBucket(bucket["data_bucket_name"], tuple(bucket["data_event"])) if bucket else None,
            tags=tuple((key, value) for key, value in data.get("tags", [])),
        )


@dataclasses.dataclass(frozen=True)
class NotificationSpec:
    """What a client declares for a key-event notification (operations etc. already shape-checked)."""

    name: str
    operation_type: str
    operations: tuple[dict[str, Any], ...] = ()
    notify_user_list: tuple[dict[str, Any], ...] = ()
    topic_id: str = ""
    filter: dict[str, Any] | None = None
    status: str = "enabled"
    agency_name: str = ""

    @property
    def notification_type(self) -> str:
        return notification_type_of(self.topic_id)


@dataclasses.dataclass(frozen=True)
class Notification:
    """A stored key-event notification; its type follows its target (SMN topic or FunctionGraph function)."""

    id: str
    project_id: str
    domain_id: str
    create_time: int
    spec: NotificationSpec

    def description(self) -> dict[str, Any]:
        s = self.spec
        body: dict[str, Any] = {
            "notification_id": self.id,
            "notification_name": s.name,
            "notification_type": s.notification_type,
            "operation_type": s.operation_type,
            "operations": [dict(o) for o in s.operations],
            "notify_user_list": [dict(g) for g in s.notify_user_list],
            "topic_id": s.topic_id,
            "agency_name": s.agency_name,
            "status": s.status,
            "project_id": self.project_id,
            "domain_id": self.domain_id,
            "create_time": self.create_time,
        }
        if s.filter is not None:
            body["filter"] = dict(s.filter)
        return body

    def document(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "project_id": self.project_id,
                "domain_id": self.domain_id,
                "create_time": self.create_time,
                "spec": dataclasses.asdict(self.spec),
            }
        )

    @classmethod
    def from_document(cls, document: str) -> Notification:
        data = json.loads(document)
        spec = data["spec"]
        spec["operations"] = tuple(spec["operations"])
        spec["notify_user_list"] = tuple(spec["notify_user_list"])
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            domain_id=data["domain_id"],
            create_time=data["create_time"],
            spec=NotificationSpec(**spec),
        )


@dataclasses.dataclass(frozen=True)
class TraceQuery:
    """One `GET /v3/{project_id}/traces` page request, already parsed and range-checked."""

    from_ms: int
    to_ms: int
    limit: int = 10
    marker: str | None = None
    trace_id: str | None = None
    tracker_type: str | None = None
    tracker_name: str | None = None
    user: str | None = None
    access_key_id: str | None = None
    # Exact matches on top-level trace fields (service_type, resource_id, trace_name, ...).
    fields: tuple[tuple[str, str], ...] = ()

    def matches(self, trace: Mapping[str, Any], tracker_name: str) -> bool:
        if self.tracker_type == "system" and tracker_name != TRACKER_NAME:
            return False
        if self.tracker_type == "data" and tracker_name == TRACKER_NAME:
            return False
        if self.tracker_name is not None and tracker_name != self.tracker_name:
            return False
        if not self.from_ms <= trace.get("time", 0) <= self.to_ms:
            return False
        user = trace.get("user")
        user = user if isinstance(user, Mapping) else {}
        if self.user is not None and user.get("name") != self.user:
            return False
        if self.access_key_id is not None and user.get("access_key_id") != self.access_key_id:
            return False
        return all(str(trace.get(key, "")) == value for key, value in self.fields)
