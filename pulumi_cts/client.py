"""The CTS API: `CtsClient` speaks to one project; `CtsClientFactory` builds one client per scope
with the right credentials and endpoint. Knows URLs and HTTP answers, nothing of Pulumi.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from .answers import NOTIFICATION, TAGS, TRACES_PAGE, TRACKER, Answer, Spec, notifications_in, tracker_in
from .auth import IamClient, TokenAuth, TokenCache
from .errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    NotificationNotFoundError,
    TrackerExistsError,
    TrackerNotFoundError,
)
from .scope import Scope
from .settings import DEFAULT_ENDPOINT, Settings
from .token_store import FileTokenStore
from .tracker_schema import TRACKER_NAME, user_tags
from .transport import ErrorAnswer, RefreshableAuth, Transport, error_answer

T = TypeVar("T")

log = logging.getLogger("pulumi_cts")
# The setting that names the CTS address, for messages about what that address answered.
ENDPOINT_SETTING = "cts:endpoint"

_VERSIONED_SUFFIX = re.compile(r"/v(?:1\.0|2\.0|3)(?:/[^/]*)?/?$")

EXISTS_CODES = frozenset({"CTS.0201", "CTS.0208"})
# The one resource type of CTS's tag API: trackers, management and data alike, by their `id`.
TAGGED_RESOURCE_TYPE = "cts-tracker"
NOT_FOUND_CODES = frozenset({"CTS.0214"})

_HINTS = {
    "CTS.0201": "a tracker already exists in this project",
    "CTS.0208": "a tracker already exists in this project",
    "CTS.0210": "set bucket_name to the OBS bucket that should receive trace files",
    "CTS.0211": "create the OBS bucket first (e.g. in the stack that owns it), or set is_obs_created=True "
    "to let CTS create it",
    "CTS.0215": "the bucket already exists: set is_obs_created=False to use it",
    "CTS.0216": "CTS could not create the bucket: the name may be taken in another account",
    "CTS.0218": "file_prefix_name allows 0 to 64 letters, digits, '.', '_' and '-'",
    "CTS.0220": "trace file encryption is not offered in this region",
    "CTS.0221": "set kms_id when is_support_trace_files_encryption is true",
    "CTS.0222": "check that the KMS key exists, is enabled and is in the tracker's region",
    "CTS.0231": "bucket names are 3-63 lowercase letters, digits, '-' and '.'",
    "CTS.0013": "the user needs the CTS Administrator or CTS FullAccess role in this project",
}


def _hint(status: int, code: str | None, credential_source: str) -> str | None:
    if code in _HINTS:
        return _HINTS[code]
    if status == 401:
        return f"CTS rejected the credentials from {credential_source}; check them with `pulumi-cts doctor`"
    if status == 403:
        return f"the identity from {credential_source} lacks CTS permissions in this project"
    return None


def service_root(url: str) -> str:
    """`https://cts.eu-de.../v1.0/{project_id}` (a catalog URL) -> `https://cts.eu-de...`."""
    return _VERSIONED_SUFFIX.sub("", url.rstrip("/"))


@dataclass(frozen=True)
class TrackerPaths:
    """Where one API version keeps the tracker operations (v3 queries and deletes in plural)."""

    version: str
    create: str
    query: str
    update: str
    delete: str


TRACKER_PATHS = {
    "v1.0": TrackerPaths(
        "v1.0", create="/tracker", query="/tracker", update=f"/tracker/{TRACKER_NAME}", delete="/tracker"
    ),
    "v3": TrackerPaths("v3", create="/tracker", query="/trackers", update="/tracker", delete="/trackers"),
}


@dataclass
class CtsClient:
    """The tracker operations of one project, in API v1.0 or v3."""

    transport: Transport
    endpoint: str
    project_id: str
    auth: RefreshableAuth
    credential_source: str = "the provider settings"
    project_name: str | None = None

    def base_url(self, api_version: str = "v1.0") -> str:
        return f"{self.endpoint}/{api_version}/{self.project_id}"

    def _target(self, name: str = TRACKER_NAME, kind: str = "tracker") -> str:
        return f"{kind} '{name}' in project {self.project_id}"

    def _send(
        self,
        method: str,
        path: str,
        operation: str,
        api_version: str = "v1.0",
        target: str | None = None,
        not_found: type[NotFoundError] = TrackerNotFoundError,
        **kwargs: Any,
    ) -> requests.Response:
        return self.transport.send(
            method,
            f"{self.base_url(api_version)}{path}",
            operation=operation,
            target=target or self._target(),
            auth=self.auth,
            error_for=lambda answer: self._error(answer, not_found),
            setting=ENDPOINT_SETTING,
            **kwargs,
        )

    @staticmethod
    def _written(response: requests.Response, operation: str, target: str, spec: Spec) -> dict[str, Any] | None:
        """What a write answered, or None when it answered no usable body: the caller reads back.

        The write was accepted (2xx), so a garbled body must not fail it; the read-back that
        follows is checked strictly.
        """
        try:
            answer = Answer(response, operation, target, ENDPOINT_SETTING).read_optional(spec)
        except ApiError as error:
            log.warning("%s; reading the result back instead", error)
            return None
        return dict(answer) if answer is not None else None

    def _error(self, answer: ErrorAnswer, not_found: type[NotFoundError]) -> ApiError:
        """The one place where an error answer becomes an exception: its type and its hint."""
        if answer.code in EXISTS_CODES:
            kind: type[ApiError] = TrackerExistsError
        elif answer.code in NOT_FOUND_CODES or (answer.status == 404 and not answer.code):
            kind = not_found
        elif answer.status in (401, 403) and answer.code not in _HINTS:
            kind = AuthenticationError
        else:
            kind = ApiError
        return answer.error(kind, _hint(answer.status, answer.code, self.credential_source))

    def create_once(self, create: Callable[[], T], find: Callable[[], T | None]) -> T:
        """Create something exactly once although a POST may not be repeated blindly: when the
        outcome of `create` is unknown, `find` looks for the result before the next try."""
        return self.transport.post_once(create, find)

    def create_tracker(self, body: Mapping[str, Any], api_version: str = "v1.0") -> dict[str, Any] | None:
        """`POST /{version}/{project_id}/tracker`; the created tracker as answered (None if no body)."""
        return self._write_tracker("POST", TRACKER_PATHS[api_version].create, "Creating", body, api_version)

    def get_tracker(
        self, api_version: str = "v1.0", name: str = TRACKER_NAME, tracker_type: str | None = None
    ) -> dict[str, Any] | None:
        """`GET ...tracker(s)?tracker_name=...`; None when the project has no such tracker.

        An answer that is not a tracker (nor a list without it) is an ApiError, never "no tracker".
        """
        operation = "Reading the CTS tracker"
        response = self._named_tracker("GET", operation, api_version, name, tracker_type)
        if response is None:
            return None
        return tracker_in(Answer(response, operation, self._target(name), ENDPOINT_SETTING), name)

    def update_tracker(self, body: Mapping[str, Any], api_version: str = "v1.0") -> dict[str, Any] | None:
        """`PUT` of the complete desired body (v1.0: `/tracker/system`; v3: `/tracker`)."""
        return self._write_tracker("PUT", TRACKER_PATHS[api_version].update, "Updating", body, api_version)

    def _write_tracker(
        self, method: str, path: str, verb: str, body: Mapping[str, Any], api_version: str
    ) -> dict[str, Any] | None:
        # Only the PUT may be repeated blindly: it sends the complete state, so twice is the same.
        name = str(body.get("tracker_name") or TRACKER_NAME)
        operation, target = f"{verb} the CTS tracker", self._target(name)
        response = self._send(method, path, operation, api_version, target, idempotent=method == "PUT", json_body=body)
        return self._written(response, operation, target, TRACKER)

    def delete_tracker(
        self, api_version: str = "v1.0", name: str = TRACKER_NAME, tracker_type: str | None = None
    ) -> bool:
        """`DELETE ...tracker(s)?tracker_name=...`; False when there was nothing to delete."""
        return self._named_tracker("DELETE", "Deleting the CTS tracker", api_version, name, tracker_type) is not None

    def _named_tracker(
        self, method: str, operation: str, api_version: str, name: str, tracker_type: str | None
    ) -> requests.Response | None:
        """A GET or DELETE of one tracker by name; None when CTS says it does not exist."""
        params = {"tracker_name": name}
        if tracker_type:
            params["tracker_type"] = tracker_type
        paths = TRACKER_PATHS[api_version]
        target = self._target(name)
        response = self._send(
            method,
            paths.query if method == "GET" else paths.delete,
            operation,
            api_version,
            target,
            idempotent=True,
            params=params,
            accept_status=(404,),
        )
        if response.status_code != 404:
            return response
        answer = error_answer(response, operation, target, self.transport.secrets)
        # A 404 from a gateway (no CTS error code) means the API path is unknown, not that the
        # tracker is gone: only CTS's own "does not exist" answer counts as a deleted tracker.
        if answer.code in NOT_FOUND_CODES:
            return None
        if answer.code is None:
            raise answer.error(hint="the CTS endpoint answered 404 without a CTS error code; check cts:endpoint")
        raise answer.error()

    # -- tracker tags (v3, Huawei Cloud) ----------------------------------------------------------

    def get_tags(self, tracker_id: str) -> dict[str, str]:
        """`GET /v3/{project_id}/cts-tracker/{id}/tags`: the tracker's own tags, system tags left out."""
        operation, target = "Reading the tracker's tags", self._target(tracker_id)
        response = self._send("GET", self._tags_path(tracker_id), operation, "v3", target, idempotent=True)
        return user_tags(Answer(response, operation, target, ENDPOINT_SETTING).read(TAGS)["tags"])

    def change_tags(self, tracker_id: str, remove: Mapping[str, str], add: Mapping[str, str]) -> None:
        """`DELETE .../tags/delete` of `remove` (by key and value), then `POST .../tags/create` of `add`.

        Both may be repeated: deleting a tag that is gone or setting one that is there changes nothing.
        """
        for method, suffix, tags, verb in (("DELETE", "delete", remove, "Removing"), ("POST", "create", add, "Adding")):
            if not tags:
                continue
            self._send(
                method,
                f"{self._tags_path(tracker_id)}/{suffix}",
                f"{verb} tracker tags",
                "v3",
                self._target(tracker_id),
                idempotent=True,
                json_body={"tags": [{"key": key, "value": value} for key, value in tags.items()]},
            )

    @staticmethod
    def _tags_path(tracker_id: str) -> str:
        return f"/{TAGGED_RESOURCE_TYPE}/{quote(tracker_id, safe='')}/tags"

    # -- key-event notifications (v3) -------------------------------------------------------------

    def create_notification(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """`POST /v3/{project_id}/notifications`; the created notification, or None without a usable answer."""
        return self._write_notification("POST", "Creating", body)

    def update_notification(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """`PUT /v3/{project_id}/notifications` with the complete body, id and status included."""
        return self._write_notification("PUT", "Updating", body)

    def _write_notification(self, method: str, verb: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        target = self._target(str(body.get("notification_name")), "notification")
        operation = f"{verb} the key-event notification"
        response = self._send(
            method,
            "/notifications",
            operation,
            "v3",
            target,
            not_found=NotificationNotFoundError,
            idempotent=method == "PUT",
            json_body=body,
        )
        return self._written(response, operation, target, NOTIFICATION)

    def find_notification(self, name: str | None = None, notification_id: str | None = None) -> dict[str, Any] | None:
        """The notification with this id (or name) from `GET .../notifications/smn`, or None."""
        target = self._target(str(name or notification_id), "notification")
        operation = "Reading the key-event notification"
        params = {"notification_name": name} if name else None
        response = self._send(
            "GET",
            "/notifications/smn",
            operation,
            "v3",
            target,
            not_found=NotificationNotFoundError,
            idempotent=True,
            params=params,
            accept_status=(404,),
        )
        if response.status_code == 404:
            return None
        for item in notifications_in(Answer(response, operation, target, ENDPOINT_SETTING)):
            if (notification_id and item["notification_id"] == notification_id) or (
                not notification_id and item.get("notification_name") == name
            ):
                return item
        return None

    def delete_notification(self, notification_id: str) -> bool:
        """`DELETE .../notifications?notification_id=`; False when it was already gone."""
        target = self._target(notification_id, "notification")
        response = self._send(
            "DELETE",
            "/notifications",
            "Deleting the key-event notification",
            "v3",
            target,
            not_found=NotificationNotFoundError,
            idempotent=True,
            params={"notification_id": notification_id},
            accept_status=(404,),
        )
        return response.status_code != 404

    # -- traces (v3) ------------------------------------------------------------------------------

    def list_traces(self, params: Mapping[str, str]) -> dict[str, Any]:
        """One page of `GET /v3/{project_id}/traces`: `{"traces": [...], "meta_data": {...}}`."""
        operation, target = "Querying traces", f"traces of project {self.project_id}"
        response = self._send("GET", "/traces", operation, "v3", target, idempotent=True, params=params)
        return dict(Answer(response, operation, target, ENDPOINT_SETTING).read(TRACES_PAGE))


@dataclass
class CtsClientFactory:
    """One CtsClient per scope, sharing one transport (connection pool) and one token cache."""

    settings: Settings
    transport: Transport
    tokens: TokenCache = field(default_factory=TokenCache)
    _clients: dict[Scope, CtsClient] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _scope_locks: dict[Scope, threading.Lock] = field(default_factory=dict, init=False, repr=False)

    def client_for(self, scope: Scope) -> CtsClient:
        client = self._clients.get(scope)
        if client is not None:
            return client
        with self._lock:
            scope_lock = self._scope_locks.setdefault(scope, threading.Lock())
        with scope_lock:
            client = self._clients.get(scope)
            if client is None:
                client = self._build(scope)
                self._clients[scope] = client
                # Existing trackers are addressed by project id: reuse this client (and its token).
                self._clients.setdefault(Scope(region=scope.region, project_id=client.project_id), client)
        return client

    def _build(self, scope: Scope) -> CtsClient:
        self.settings.check_credentials()
        iam = IamClient(self.transport, self.settings)
        override = self.settings.endpoint_override(scope)
        if self.settings.uses_access_keys:
            return self._build_signed(scope, iam, override)
        key = iam.identity_key(scope)
        auth = TokenAuth(self.tokens, key, lambda: iam.fetch_token(scope))
        token = auth.token()
        endpoint = override or (service_root(token.cts_endpoint) if token.cts_endpoint else None)
        return CtsClient(
            transport=self.transport,
            endpoint=endpoint or DEFAULT_ENDPOINT.format(region=scope.region),
            project_id=token.project_id,
            auth=auth,
            credential_source=self.settings.source_of("password"),
            project_name=token.project_name,
        )

    def _build_signed(self, scope: Scope, iam: IamClient, override: str | None) -> CtsClient:
        from .signing import AkSkAuth

        access_key = self.settings.get("access_key") or ""
        secret_key = self.settings.get("secret_key") or ""
        token = self.settings.get("security_token")
        project_id = scope.project_id
        if not project_id:
            lookup_auth = AkSkAuth(access_key, secret_key, security_token=token)
            project_id = iam.lookup_project_id(scope, lookup_auth)
        return CtsClient(
            transport=self.transport,
            endpoint=override or DEFAULT_ENDPOINT.format(region=scope.region),
            project_id=project_id,
            auth=AkSkAuth(access_key, secret_key, project_id=project_id, security_token=token),
            credential_source=self.settings.source_of("access_key"),
            project_name=scope.project_name,
        )


_FACTORIES: dict[tuple[tuple[str, str], ...], CtsClientFactory] = {}
_FACTORIES_LOCK = threading.Lock()


def shared_factory(settings: Settings) -> CtsClientFactory:
    """One connection pool and token cache per process and settings, shared by every provider class
    and `get_traces`, so trackers, data trackers and notifications of one scope cost one IAM call."""
    key = tuple(sorted(settings.values.items()))
    with _FACTORIES_LOCK:
        factory = _FACTORIES.get(key)
        if factory is None:
            directory = settings.get("token_cache")
            tokens = TokenCache(store=FileTokenStore(directory) if directory else None)
            transport = Transport(verify=settings.verify, secrets=settings.secret_values())
            factory = CtsClientFactory(settings, transport, tokens=tokens)
            _FACTORIES[key] = factory
        return factory


def forget_shared_connections() -> None:
    """Drop every shared session and cached token of this process (tests, credential rotation)."""
    with _FACTORIES_LOCK:
        for factory in _FACTORIES.values():
            factory.transport.close()
        _FACTORIES.clear()
