"""HTTP handlers of the emulated IAM and CTS v1.0 APIs: parse the request, authenticate, call the backend, serialize.

Handler names match the endpoints in `urls.py`; errors are raised as `exceptions.EmulatorError` subclasses.
Every successful mutating call is also recorded as a CTS trace (see `record_call`). The v3 handlers, which
build on `CtsHandlers` here, are in `responses_v3.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.models import (
    TRACKER_NAME,
    TRACKER_STATUSES,
    Caller,
    Project,
    Token,
    Tracker,
    TrackerSettings,
    stable_id,
)

JSON_MIMETYPE = "application/json"
# Where the dispatcher leaves the id it answers in X-Request-Id, for the handlers' traces.
REQUEST_ID_KEY = "pulumi_cts.emulator.request_id"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = timedelta(minutes=15)
_AKSK_PREFIX = "SDK-HMAC-SHA256"
_FAILED_AUTH = "Incorrect IAM authentication information"


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


def parse_json_body(request: Request, error: type[exceptions.EmulatorError]) -> Any:
    """The decoded JSON body; raises `error` for a wrong content type, an empty body or invalid JSON."""
    if request.mimetype != JSON_MIMETYPE:
        raise error(f"Content-Type must be {JSON_MIMETYPE}, got {request.mimetype or 'none'}.")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise error("The request body is empty.")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise error(f"The request body is not valid JSON: {e}") from e


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


class Authenticator:
    """Checks `X-Auth-Token` or an `SDK-HMAC-SHA256` signature, the way the API gateway in front of CTS does."""

    def __init__(self, backend: Backend, access_keys: Mapping[str, str]) -> None:
        self.backend = backend
        self.access_keys = dict(access_keys)

    @staticmethod
    def uses_aksk(request: Request) -> bool:
        return request.headers.get("Authorization", "").startswith(_AKSK_PREFIX)

    def token(self, request: Request) -> Token:
        value = request.headers.get("X-Auth-Token")
        if not value:
            raise exceptions.IncorrectAuthentication(f"{_FAILED_AUTH}: x-auth-token not found")
        token = self.backend.get_token(value)
        if token is None:
            raise exceptions.IncorrectAuthentication(f"{_FAILED_AUTH}: decrypt token fail")
        if not token.is_valid(self.backend.clock()):
            raise exceptions.IncorrectAuthentication(
                f"{_FAILED_AUTH}: token expires, expires_at: {iso_timestamp(token.expires_at)}"
            )
        return token

    def signature(self, request: Request) -> str:
        """Verify the AK/SK signature (only when access keys were configured); returns the access key."""
        header = request.headers.get("Authorization", "")
        access_key = ""
        for part in header[len(_AKSK_PREFIX) :].split(","):
            name, _, value = part.strip().partition("=")
            if name == "Access":
                access_key = value
        if not self.access_keys:
            return access_key
        now = self.backend.clock()
        try:
            signed_at = datetime.strptime(request.headers.get("X-Sdk-Date", ""), SDK_DATE_FORMAT)
        except ValueError as e:
            raise exceptions.IncorrectAuthentication(
                f"{_FAILED_AUTH}: verify aksk signature fail, missing or malformed X-Sdk-Date"
            ) from e
        if abs(now - signed_at.replace(tzinfo=timezone.utc)) > MAX_CLOCK_SKEW:
            raise exceptions.SignatureExpired()
        # Imported here so the emulator also runs where only token auth is used.
        from pulumi_cts.signing import SignatureError, verify_signature

        raw_uri = request.environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        url = raw_uri if raw_uri.startswith(("http://", "https://")) else f"{request.host_url.rstrip('/')}{raw_uri}"
        try:
            return verify_signature(
                request.method,
                url,
                dict(request.headers.items()),
                request.get_data(cache=True),
                self.access_keys.get,
                now,
            )
        except SignatureError as e:
            raise exceptions.IncorrectAuthentication(f"{_FAILED_AUTH}: verify aksk signature fail, {e}") from e


class IamResponse:
    """Handles the IAM token and project calls."""

    def __init__(
        self, backend: Backend, auth: Authenticator, token_ttl: float, users: Mapping[str, str] | None
    ) -> None:
        self.backend = backend
        self.auth = auth
        self.token_ttl = token_ttl
        self.users = dict(users) if users is not None else None

    def create_token(self, request: Request) -> Response:
        body = parse_json_body(request, exceptions.MalformedRequest)
        try:
            auth = body["auth"]
            methods = auth["identity"]["methods"]
            user = auth["identity"]["password"]["user"]
            user_name, password, user_domain = user["name"], user["password"], user["domain"]
            scope = auth["scope"]
        except (KeyError, TypeError) as e:
            raise exceptions.MalformedRequest(f"Request parameter error: missing {e}.") from e
        domain_name = (user_domain.get("name") or user_domain.get("id")) if isinstance(user_domain, dict) else None
        if (
            not isinstance(methods, list)
            or "password" not in methods
            or not isinstance(user_name, str)
            or not user_name
            or not isinstance(password, str)
            or not isinstance(domain_name, str)
            or not isinstance(scope, dict)
        ):
            raise exceptions.MalformedRequest(
                "Request parameter error: auth.identity needs methods ['password'] and "
                "password.user{name, password, domain{name}}; auth.scope is required."
            )
        if self.users is not None and self.users.get(user_name) != password:
            raise exceptions.IncorrectPassword()

        domain_id = stable_id("domain", domain_name)
        project: Project | None = None
        if "project" in scope:
            project = self._scoped_project(scope["project"], domain_id)
        elif not isinstance(scope.get("domain"), dict):
            raise exceptions.MalformedRequest("Request parameter error: auth.scope needs project or domain.")

        token = self.backend.issue_token(user_name, domain_name, project, self.token_ttl)
        if project is not None:
            # IAM traces land in the project the token is scoped to; a domain token has none to land in.
            record_call(
                self.backend,
                request,
                project,
                token.caller,
                trace_name="login",
                resource_type="user",
                resource_id=token.user_id,
                resource_name=token.user_name,
                status=201,
                api_version="v3",
                service_type="IAM",
            )
        data: dict[str, Any] = {
            "methods": list(token.methods),
            "expires_at": iso_timestamp(token.expires_at),
            "issued_at": iso_timestamp(token.issued_at),
            "user": {
                "name": token.user_name,
                "id": token.user_id,
                "password_expires_at": "",
                "domain": {"name": token.domain_name, "id": token.domain_id},
            },
            "roles": [{"name": "te_admin", "id": stable_id("role", "te_admin")}],
        }
        if project is not None:
            data["project"] = {
                "name": project.name,
                "id": project.id,
                "domain": {"name": token.domain_name, "id": project.domain_id},
            }
        else:
            data["domain"] = {"name": token.domain_name, "id": token.domain_id}
        if not request.args.get("nocatalog"):
            data["catalog"] = self._catalog(request.host_url.rstrip("/"), project)
        return json_response({"token": data}, 201, {"X-Subject-Token": token.value})

    def _scoped_project(self, scope: Any, domain_id: str) -> Project:
        if not isinstance(scope, dict):
            raise exceptions.MalformedRequest("Request parameter error: auth.scope.project must be an object.")
        if isinstance(scope.get("id"), str):
            return self.backend.project_by_id(scope["id"], domain_id)
        if isinstance(scope.get("name"), str) and scope["name"]:
            return self.backend.project_by_name(scope["name"], domain_id)
        raise exceptions.MalformedRequest("Request parameter error: auth.scope.project needs a name or an id.")

    @staticmethod
    def _catalog(base_url: str, project: Project | None) -> list[dict[str, Any]]:
        region = project.region if project else "eu-de"

        def entry(service_type: str, name: str, url: str) -> dict[str, Any]:
            endpoint = {
                "id": stable_id("endpoint", f"{service_type}/{url}"),
                "interface": "public",
                "region": region,
                "region_id": region,
                "url": url,
            }
            return {
                "type": service_type,
                "name": name,
                "id": stable_id("service", service_type),
                "endpoints": [endpoint],
            }

        catalog = [entry("identity", "iam", f"{base_url}/v3")]
        if project is not None:
            catalog.insert(0, entry("cts", "cts", f"{base_url}/v1.0/{project.id}"))
            catalog.insert(1, entry("ctsv3", "ctsv3", f"{base_url}/v3/{project.id}"))
        return catalog

    def list_projects(self, request: Request) -> Response:
        domain_id: str | None = None
        if self.auth.uses_aksk(request):
            self.auth.signature(request)
        else:
            value = request.headers.get("X-Auth-Token")
            if not value:
                raise exceptions.AuthRequired()
            token = self.backend.get_token(value)
            if token is None:
                raise exceptions.InvalidToken()
            if not token.is_valid(self.backend.clock()):
                raise exceptions.TokenExpired()
            domain_id = token.domain_id
        name = request.args.get("name")
        # Project names are region ids, so any asked-for name exists (with its stable id).
        projects = [self.backend.project_by_name(name, domain_id)] if name else self.backend.list_projects()
        return json_response(
            {
                "projects": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "domain_id": p.domain_id,
                        "parent_id": p.domain_id,
                        "enabled": True,
                        "is_domain": False,
                        "description": "",
                    }
                    for p in projects
                ],
                "links": {"self": request.base_url},
            }
        )


def _optional(data: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise exceptions.InvalidBody(f"The message body is invalid: {key} must be a {kind.__name__}.")
    return value


def _sub_object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise exceptions.InvalidBody(f"The message body is invalid: {key} must be an object.")
    return value


def tracker_settings(body: Any, with_status: bool) -> TrackerSettings:
    """Read a v1.0 tracker body; every field left out takes its default (a PUT replaces, it does not merge)."""
    if not isinstance(body, dict):
        raise exceptions.InvalidBody("The message body is invalid: it must be a JSON object.")
    validate = _sub_object(body, "log_file_validate")
    lts = _sub_object(body, "lts")
    _optional(lts, "log_group_name", str, "")
    _optional(lts, "log_topic_name", str, "")
    fields = {
        "file_prefix_name": _optional(body, "file_prefix_name", str, ""),
        "is_obs_created": _optional(body, "is_obs_created", bool, False),
        "is_support_trace_files_encryption": _optional(body, "is_support_trace_files_encryption", bool, False),
        "kms_id": _optional(body, "kms_id", str, ""),
        "is_support_validate": _optional(validate, "is_support_validate", bool, False),
        "is_lts_enabled": _optional(lts, "is_lts_enabled", bool, False),
    }
    bucket_name = _optional(body, "bucket_name", str, "")
    if not bucket_name:
        raise exceptions.BucketNameEmpty()
    status = tracker_status(body) if with_status else "enabled"
    return TrackerSettings(bucket_name=bucket_name, status=status, **fields)


def tracker_status(body: Mapping[str, Any]) -> str:
    """The `status` of a modify body: enabled (also when left out) or disabled."""
    status = body.get("status")
    if status is None:
        return "enabled"
    if status not in TRACKER_STATUSES:
        raise exceptions.InvalidStatus(f"The status can only be enabled or disabled, not {status!r}.")
    return str(status)


class CtsHandlers:
    """What every CTS handler group needs: the backend, and the caller's access to the path's project."""

    def __init__(self, backend: Backend, auth: Authenticator) -> None:
        self.backend = backend
        self.auth = auth

    def _access(self, request: Request, project_id: str) -> tuple[Project, Caller]:
        """The path's project once the caller has proven access to it, and who the caller is."""
        if self.auth.uses_aksk(request):
            access_key = self.auth.signature(request)
            header_project = request.headers.get("X-Project-Id")
            if header_project and header_project != project_id:
                raise exceptions.NoPermission("The X-Project-Id header does not match the project in the path.")
            try:
                project = self.backend.project_by_id(project_id)
            except exceptions.ProjectNotFound as e:
                raise exceptions.NoPermission(f"Invalid project id {project_id!r}.") from e
            # A signature names only its access key: the trace shows that key as the user.
            return project, Caller(stable_id("access_key", access_key), access_key, project.domain_id, "")
        token = self.auth.token(request)
        if token.project is None or token.project.id != project_id:
            raise exceptions.NoPermission("The token is not scoped to the project in the path.")
        return token.project, token.caller

    def _project(self, request: Request, project_id: str) -> Project:
        return self._access(request, project_id)[0]

    def _record(
        self,
        request: Request,
        project: Project,
        caller: Caller,
        trace_name: str,
        resource: tuple[str, str, str],
        status: int,
        api_version: str,
    ) -> None:
        """Record a successful call on `resource` = (resource_type, resource_id, resource_name)."""
        resource_type, resource_id, resource_name = resource
        record_call(
            self.backend,
            request,
            project,
            caller,
            trace_name=trace_name,
            resource_type=resource_type,
            resource_id=resource_id,
            resource_name=resource_name,
            status=status,
            api_version=api_version,
        )


def tracker_resource(tracker: Tracker) -> tuple[str, str, str]:
    return "tracker", tracker.id, tracker.tracker_name


class CtsResponse(CtsHandlers):
    """Handles the CTS v1.0 tracker calls (which only know the management tracker)."""

    def _description(self, tracker: Tracker) -> dict[str, Any]:
        return tracker.description(self.backend.config.response_shape)

    def create_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        settings = tracker_settings(parse_json_body(request, exceptions.InvalidBody), with_status=False)
        tracker = self.backend.create_tracker(project, settings)
        self._record(request, project, caller, "createTracker", tracker_resource(tracker), 201, "v1.0")
        return json_response(self._description(tracker), 201)

    def get_tracker(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        name = request.args.get("tracker_name")
        tracker = self.backend.get_tracker(project.id)
        if not name:
            # Without a name the v1.0 API answers a list (it anticipated several trackers).
            return json_response([self._description(tracker)] if tracker else [])
        if tracker is None or name != TRACKER_NAME:
            raise exceptions.TrackerNotFound()
        return json_response(self._description(tracker))

    def update_tracker(self, request: Request, project_id: str, tracker_name: str) -> Response:
        project, caller = self._access(request, project_id)
        if tracker_name != TRACKER_NAME:
            raise exceptions.InvalidTrackerName()
        if self.backend.get_tracker(project.id) is None:
            raise exceptions.TrackerNotFound()
        settings = tracker_settings(parse_json_body(request, exceptions.InvalidBody), with_status=True)
        tracker = self.backend.update_tracker(project, settings)
        self._record(request, project, caller, "updateTracker", tracker_resource(tracker), 200, "v1.0")
        if self.backend.config.put_body:
            return json_response(self._description(tracker))
        # The documented answer is 200 without a body.
        return empty_response()

    def delete_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        name = request.args.get("tracker_name")
        if name and name != TRACKER_NAME:
            raise exceptions.TrackerNotFound()
        tracker = self.backend.get_tracker(project.id)
        if tracker is None or not self.backend.delete_tracker(project.id):
            raise exceptions.TrackerNotFound()
        self._record(request, project, caller, "deleteTracker", tracker_resource(tracker), 204, "v1.0")
        return Response(status=204)
