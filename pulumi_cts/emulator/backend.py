"""State of the emulator: projects, tokens, OBS buckets, KMS keys and trackers, plus the CTS business rules.

Everything durable lives in one SQLite connection (a file with `--state`, else `:memory:`) guarded by a lock;
tokens and the request log stay in memory.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import ipaddress
import json
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from pulumi_cts.emulator import exceptions

Clock = Callable[[], datetime]
RESPONSE_SHAPES: tuple[str, ...] = ("flat", "obs_info")

SCHEMA_VERSION = 1
TRACKER_NAME = "system"
DEFAULT_REGION = "eu-de"
DEFAULT_DOMAIN_NAME = "emulator-domain"
LTS_LOG_GROUP = "CTS"
LTS_LOG_TOPIC = "system-trace"
BUCKET_LIFECYCLE_DAYS = "30"

_HEX32 = re.compile(r"[0-9a-f]{32}")
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{2,62}")
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9._-]{0,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, domain_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, location TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kms_keys (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS trackers (project_id TEXT PRIMARY KEY, document TEXT NOT NULL);
"""


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


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str

    @property
    def region(self) -> str:
        return region_of(self.name)


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


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """What a client declares in a POST or PUT body; fields it leaves out take these defaults."""

    bucket_name: str
    file_prefix_name: str = ""
    is_obs_created: bool = False
    is_support_trace_files_encryption: bool = False
    kms_id: str = ""
    is_support_validate: bool = False
    is_lts_enabled: bool = False
    status: str = "enabled"


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

    def description(self, shape: str = "flat") -> dict[str, Any]:
        """The API representation: the flat v1.0 shape, or with bucket fields nested in `obs_info`."""
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
                "bucket_lifecycle": BUCKET_LIFECYCLE_DAYS,
                "bucket_location": self.bucket_location,
            }
        else:
            body.update(bucket_fields)
        body.update(
            {
                "is_support_trace_files_encryption": s.is_support_trace_files_encryption,
                "kms_id": s.kms_id,
                "log_file_validate": {"is_support_validate": s.is_support_validate},
                "lts": {
                    "is_lts_enabled": s.is_lts_enabled,
                    "log_group_name": LTS_LOG_GROUP,
                    "log_topic_name": LTS_LOG_TOPIC,
                },
                "tracker_name": TRACKER_NAME,
                "tracker_type": "system",
                "status": self.status,
                "id": self.id,
                "create_time": self.create_time,
                "domain_id": self.domain_id,
                "project_id": self.project_id,
            }
        )
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def document(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "project_id": self.project_id,
                "domain_id": self.domain_id,
                "create_time": self.create_time,
                "settings": dataclasses.asdict(self.settings),
            }
        )

    @classmethod
    def from_document(cls, document: str) -> Tracker:
        data = json.loads(document)
        settings = TrackerSettings(**data["settings"])
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            domain_id=data["domain_id"],
            create_time=data["create_time"],
            settings=settings,
            status=settings.status,
        )


@dataclasses.dataclass
class EmulatorConfig:
    """Switches that change how answers look, settable through the control API."""

    response_shape: str = "flat"
    put_body: bool = False


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    service: str
    status: int | None
    headers: dict[str, str]
    body: Any
    request_id: str
    time: str
    fault_id: str | None = None
    dropped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class RequestLog:
    """The requests received (bounded, newest last), for tests to assert on."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[RequestRecord] = collections.deque(maxlen=maxlen)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._entries.append(record)

    def entries(self, service: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [e for e in self._entries if service is None or e.service == service]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Backend:
    """Holds all emulated state and applies the CTS rules atomically (one lock, one connection)."""

    def __init__(
        self,
        state_path: str | None = None,
        buckets: Iterable[str] = (),
        kms_keys: Iterable[str] = (),
        response_shape: str = "flat",
        put_body: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        if response_shape not in RESPONSE_SHAPES:
            raise ValueError(f"response_shape must be one of {RESPONSE_SHAPES}, not {response_shape!r}")
        self.clock = clock
        self._lock = threading.RLock()
        self._seed_buckets = tuple(dict.fromkeys(buckets))
        self._seed_kms_keys = tuple(dict.fromkeys(kms_keys))
        self._initial_config = EmulatorConfig(response_shape=response_shape, put_body=put_body)
        self.config = dataclasses.replace(self._initial_config)
        self._tokens: dict[str, Token] = {}
        # One shared connection: opening the file per request would cost more than the request itself.
        self._db = sqlite3.connect(state_path or ":memory:", check_same_thread=False, isolation_level=None)
        self._depth = 0
        try:
            self._db.executescript(_SCHEMA)
            self._check_schema_version(state_path)
            self._seed()
        except BaseException:
            self._db.close()
            raise

    # --- plumbing ---

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit; nested uses join the outer transaction so rule checks and writes commit together."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _check_schema_version(self, state_path: str | None) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise ValueError(
                    f"state file {state_path} has schema version {row[0]}, this emulator reads {SCHEMA_VERSION}"
                )

    def _seed(self) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO buckets VALUES (?, ?)", [(b, DEFAULT_REGION) for b in self._seed_buckets]
            )
            db.executemany("INSERT OR IGNORE INTO kms_keys VALUES (?)", [(k,) for k in self._seed_kms_keys])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def reset(self) -> None:
        """Back to a fresh start: no trackers or tokens, only the seeded buckets and keys, initial config."""
        with self._transaction() as db:
            db.execute("DELETE FROM trackers")
            db.execute("DELETE FROM buckets")
            db.execute("DELETE FROM kms_keys")
            self._tokens.clear()
            self.config = dataclasses.replace(self._initial_config)
        self._seed()

    def configure(self, response_shape: str | None = None, put_body: bool | None = None) -> EmulatorConfig:
        with self._lock:
            if response_shape is not None:
                if response_shape not in RESPONSE_SHAPES:
                    raise ValueError(f"response_shape must be one of {RESPONSE_SHAPES}")
                self.config.response_shape = response_shape
            if put_body is not None:
                self.config.put_body = put_body
            return dataclasses.replace(self.config)

    # --- projects ---

    def _project_row(self, where: str, value: str) -> Project | None:
        with self._lock:
            row = self._db.execute(f"SELECT id, name, domain_id FROM projects WHERE {where} = ?", (value,)).fetchone()
        return Project(*row) if row else None

    def get_project(self, project_id: str) -> Project | None:
        return self._project_row("id", project_id)

    def project_by_name(self, name: str, domain_id: str | None = None) -> Project:
        """The project called `name`, registered on first use with an id derived from the name."""
        with self._transaction() as db:
            existing = self._project_row("name", name)
            if existing is not None:
                return existing
            project = Project(project_id_for(name), name, domain_id or stable_id("domain", DEFAULT_DOMAIN_NAME))
            db.execute("INSERT INTO projects VALUES (?, ?, ?)", dataclasses.astuple(project))
            return project

    def project_by_id(self, project_id: str, domain_id: str | None = None) -> Project:
        """The project with this id; an unknown well-formed id is registered (raises ProjectNotFound if malformed)."""
        if not is_project_id(project_id):
            raise exceptions.ProjectNotFound()
        with self._transaction() as db:
            existing = self._project_row("id", project_id)
            if existing is not None:
                return existing
            name = f"{DEFAULT_REGION}_{project_id[:8]}"
            if self._project_row("name", name) is not None:
                name = f"{DEFAULT_REGION}_{project_id}"
            project = Project(project_id, name, domain_id or stable_id("domain", DEFAULT_DOMAIN_NAME))
            db.execute("INSERT INTO projects VALUES (?, ?, ?)", dataclasses.astuple(project))
            return project

    def list_projects(self) -> list[Project]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, domain_id FROM projects ORDER BY name").fetchall()
        return [Project(*row) for row in rows]

    # --- tokens ---

    def issue_token(self, user_name: str, domain_name: str, project: Project | None, ttl_seconds: float) -> Token:
        now = self.clock()
        token = Token(
            value="MII" + secrets.token_urlsafe(96),
            user_name=user_name,
            user_id=stable_id("user", f"{domain_name}/{user_name}"),
            domain_name=domain_name,
            domain_id=stable_id("domain", domain_name),
            project=project,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        with self._lock:
            self._tokens[token.value] = token
        return token

    def get_token(self, value: str) -> Token | None:
        with self._lock:
            return self._tokens.get(value)

    def expire_tokens(self) -> int:
        now = self.clock()
        with self._lock:
            for value, token in self._tokens.items():
                self._tokens[value] = dataclasses.replace(token, expires_at=min(token.expires_at, now))
            return len(self._tokens)

    # --- buckets and keys ---

    def bucket_location(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT location FROM buckets WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def bucket_exists(self, name: str) -> bool:
        return self.bucket_location(name) is not None

    def add_bucket(self, name: str, location: str = DEFAULT_REGION) -> bool:
        with self._transaction() as db:
            return db.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?)", (name, location)).rowcount == 1

    def remove_bucket(self, name: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM buckets WHERE name = ?", (name,)).rowcount == 1

    def list_buckets(self) -> list[dict[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT name, location FROM buckets ORDER BY name").fetchall()
        return [{"name": name, "location": location} for name, location in rows]

    def add_kms_key(self, key_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("INSERT OR IGNORE INTO kms_keys VALUES (?)", (key_id,)).rowcount == 1

    def remove_kms_key(self, key_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM kms_keys WHERE id = ?", (key_id,)).rowcount == 1

    def kms_key_exists(self, key_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM kms_keys WHERE id = ?", (key_id,)).fetchone() is not None

    def list_kms_keys(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT id FROM kms_keys ORDER BY id")]

    # --- trackers ---

    def _stored_tracker(self, project_id: str) -> Tracker | None:
        row = self._db.execute("SELECT document FROM trackers WHERE project_id = ?", (project_id,)).fetchone()
        return Tracker.from_document(row[0]) if row else None

    def _reported(self, tracker: Tracker) -> Tracker:
        location = self.bucket_location(tracker.settings.bucket_name)
        if location is None:
            return dataclasses.replace(
                tracker, status="error", detail="noBucket", bucket_location="", is_authorized_bucket=False
            )
        return dataclasses.replace(tracker, bucket_location=location)

    def _check_settings(self, settings: TrackerSettings) -> None:
        if not is_valid_bucket_name(settings.bucket_name):
            raise exceptions.InvalidBucketName()
        if not is_valid_file_prefix(settings.file_prefix_name):
            raise exceptions.InvalidFilePrefix()
        if settings.is_support_trace_files_encryption:
            if not settings.kms_id:
                raise exceptions.KmsIdEmpty()
            if not self.kms_key_exists(settings.kms_id):
                raise exceptions.KmsVerificationFailed(
                    f"KMS verification failed: key {settings.kms_id} does not exist."
                )

    def _claim_bucket(self, settings: TrackerSettings, project: Project, current_bucket: str | None) -> None:
        exists = self.bucket_exists(settings.bucket_name)
        if settings.is_obs_created:
            if exists and settings.bucket_name != current_bucket:
                raise exceptions.BucketAlreadyExists(
                    f"Check bucket failed. The bucket {settings.bucket_name} already exists."
                )
            if not exists:
                self.add_bucket(settings.bucket_name, project.region)
        elif not exists:
            raise exceptions.BucketNotFound(f"Check bucket failed. The bucket {settings.bucket_name} does not exist.")

    def get_tracker(self, project_id: str) -> Tracker | None:
        with self._lock:
            tracker = self._stored_tracker(project_id)
            return self._reported(tracker) if tracker else None

    def list_trackers(self) -> list[Tracker]:
        with self._lock:
            rows = self._db.execute("SELECT document FROM trackers ORDER BY project_id").fetchall()
            return [self._reported(Tracker.from_document(row[0])) for row in rows]

    def create_tracker(self, project: Project, settings: TrackerSettings) -> Tracker:
        # A v1.0 create ignores any status: a new tracker always starts enabled.
        settings = dataclasses.replace(settings, status="enabled")
        with self._transaction() as db:
            self._check_settings(settings)
            if self._stored_tracker(project.id) is not None:
                raise exceptions.TrackerAlreadyExists()
            self._claim_bucket(settings, project, current_bucket=None)
            tracker = Tracker(
                id=str(uuid.uuid4()),
                project_id=project.id,
                domain_id=project.domain_id,
                create_time=int(self.clock().timestamp() * 1000),
                settings=settings,
                status=settings.status,
            )
            db.execute("INSERT INTO trackers VALUES (?, ?)", (project.id, tracker.document()))
            return self._reported(tracker)

    def update_tracker(self, project: Project, settings: TrackerSettings) -> Tracker:
        """Replace the tracker's settings with `settings` (fields a client left out are already defaults)."""
        with self._transaction() as db:
            current = self._stored_tracker(project.id)
            if current is None:
                raise exceptions.TrackerNotFound()
            self._check_settings(settings)
            self._claim_bucket(settings, project, current_bucket=current.settings.bucket_name)
            tracker = dataclasses.replace(current, settings=settings, status=settings.status)
            db.execute("UPDATE trackers SET document = ? WHERE project_id = ?", (tracker.document(), project.id))
            return self._reported(tracker)

    def delete_tracker(self, project_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM trackers WHERE project_id = ?", (project_id,)).rowcount == 1

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, for the control API's state view."""
        with self._lock:
            return {
                "trackers": {t.project_id: t.description(self.config.response_shape) for t in self.list_trackers()},
                "projects": [dataclasses.asdict(p) for p in self.list_projects()],
                "buckets": self.list_buckets(),
                "kms_keys": self.list_kms_keys(),
                "config": dataclasses.asdict(self.config),
                "tokens": len(self._tokens),
            }
