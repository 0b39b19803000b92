"""The API gateway in front of CTS: who the caller is (`X-Auth-Token` or an AK/SK signature) and which project a
call may touch. `CtsHandlers` is the base of the CTS v1.0 and v3 handler groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from werkzeug.wrappers import Request

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.common import iso_timestamp, record_call
from pulumi_cts.emulator.models import Caller, Project, Token, stable_id

SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = timedelta(minutes=15)
_AKSK_PREFIX = "SDK-HMAC-SHA256"
_FAILED_AUTH = "Incorrect IAM authentication information"


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
