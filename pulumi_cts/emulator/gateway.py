"""The API gateway in front of CTS: who the caller is (`X-Auth-Token` or an AK/SK signature) and which project or
account a call may touch. `CtsHandlers` is the base of the CTS v1.0 and v3 handler groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.wrappers import Request

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.common import TracedResource, iso_timestamp, record_call
from pulumi_cts.emulator.models import Caller, Project, Token, is_project_id

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

    @staticmethod
    def signed_at(request: Request) -> datetime | None:
        """When a signed request says it was signed (None if its X-Sdk-Date is missing or malformed)."""
        try:
            return datetime.strptime(request.headers.get("X-Sdk-Date", ""), SDK_DATE_FORMAT).replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            return None

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
        signed_at = self.signed_at(request)
        if signed_at is None:
            raise exceptions.IncorrectAuthentication(
                f"{_FAILED_AUTH}: verify aksk signature fail, missing or malformed X-Sdk-Date"
            )
        if abs(now - signed_at) > MAX_CLOCK_SKEW:
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
            return project, Caller.key_owner(access_key, project, self.auth.signed_at(request))
        token = self.auth.token(request)
        if token.project is None or token.project.id != project_id:
            raise exceptions.NoPermission("The token is not scoped to the project in the path.")
        return token.project, token.caller

    def _account_access(self, request: Request, domain_id: str) -> str:
        """The path's account (domain) id once the caller has proven it is theirs."""
        if not is_project_id(domain_id):
            raise exceptions.NoPermission(f"Invalid account id {domain_id!r}.")
        if self.auth.uses_aksk(request):
            self.auth.signature(request)
            header_project = request.headers.get("X-Project-Id")
            project = self.backend.get_project(header_project) if header_project else None
            if project is not None and project.domain_id != domain_id:
                raise exceptions.NoPermission("The account in the path is not the account of the X-Project-Id project.")
            return domain_id
        if self.auth.token(request).domain_id != domain_id:
            raise exceptions.NoPermission("The token does not belong to the account in the path.")
        return domain_id

    def _project(self, request: Request, project_id: str) -> Project:
        return self._access(request, project_id)[0]

    def _record(
        self,
        request: Request,
        project: Project,
        caller: Caller,
        trace_name: str,
        resource: TracedResource,
        status: int,
        api_version: str,
        answer: Any = None,
    ) -> None:
        """Record a successful call on `resource`; `answer` is what the call answered, if it had a body."""
        record_call(self.backend, request, project, caller, trace_name, resource, status, api_version, answer=answer)
