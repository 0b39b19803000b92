"""IAM tokens: fetching them (`POST /v3/auth/tokens`), caching them until shortly before expiry,
and attaching them to CTS requests as a `requests` auth that can renew itself once after a 401.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests
from cachetools import TLRUCache

from .errors import ApiError, AuthenticationError
from .schema import Scope
from .settings import Settings
from .token_store import FileTokenStore
from .transport import Transport

# keystoneauth renews tokens with less than 120 s left; a wider margin also covers clock skew
# between this machine and IAM and a long-running request that starts just before expiry.
REFRESH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class Token:
    """A project-scoped IAM token and what its body says about the project."""

    value: str = field(repr=False)
    expires_at: float
    project_id: str
    project_name: str | None = None
    cts_endpoint: str | None = None
    issued_at: float | None = None

    def renew_at(self, margin: float, now: float) -> float:
        """When to stop using this token: `margin` before expiry, or half-way for short-lived ones."""
        lifetime = self.expires_at - (self.issued_at if self.issued_at is not None else now)
        return self.expires_at - min(margin, max(0.0, lifetime) / 2)

    def __repr__(self) -> str:
        return f"Token(project_id={self.project_id!r}, expires_at={self.expires_at!r}, value=***)"


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an IAM time stamp such as `2026-11-26T10:00:00.123456Z`."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def catalog_endpoint(catalog: Any, service_type: str, region: str | None) -> str | None:
    """The public URL of `service_type` in a token's catalog, preferring the scope's region."""
    if not isinstance(catalog, list):
        return None
    for service in catalog:
        if not isinstance(service, Mapping) or service.get("type") != service_type:
            continue
        endpoints = [e for e in service.get("endpoints") or [] if isinstance(e, Mapping)]
        public = [e for e in endpoints if e.get("interface", "public") == "public" and e.get("url")]
        for endpoint in public:
            if region and region in (endpoint.get("region"), endpoint.get("region_id")):
                return str(endpoint["url"])
        if public:
            return str(public[0]["url"])
    return None


class TokenCache:
    """Tokens by identity and scope, each kept until `margin` seconds before it expires.

    Only one thread fetches a given key at a time; the others wait for its result instead of
    asking IAM again (the provider serves four engine calls at once).
    """

    def __init__(
        self,
        margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        maxsize: int = 256,
        store: FileTokenStore | None = None,
    ) -> None:
        self.margin = margin
        self.store = store
        self._clock = clock
        self._tokens: TLRUCache[Hashable, Token] = TLRUCache(maxsize=maxsize, ttu=self._renew_at, timer=clock)
        self._lock = threading.Lock()
        self._fetch_locks: dict[Hashable, threading.Lock] = {}

    def _renew_at(self, _key: Hashable, token: Token, now: float) -> float:
        # A token that lives shorter than twice the margin (test servers) is kept for half its life.
        return token.renew_at(self.margin, now)

    def peek(self, key: Hashable) -> Token | None:
        with self._lock:
            return self._tokens.get(key)

    def get(self, key: Hashable, fetch: Callable[[], Token]) -> Token:
        token = self.peek(key)
        if token is not None:
            return token
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self.peek(key)
            if token is None:
                if self.store is None:
                    token = fetch()
                else:
                    now = self._clock()
                    token = self.store.get_or_fetch(key, fetch, lambda t: t.renew_at(self.margin, now) > now)
                with self._lock:
                    self._tokens[key] = token
            return token

    def invalidate(self, key: Hashable, rejected_value: str) -> None:
        """Forget the token for `key` if it is still the one that was rejected.

        When many requests fail with 401 at once, only the first one drops the token, so the
        others reuse its replacement instead of each fetching their own.
        """
        with self._lock:
            current = self._tokens.get(key)
            if current is not None and current.value == rejected_value:
                del self._tokens[key]
        if self.store is not None:
            self.store.discard(key, rejected_value)


def _hint_for_iam(status: int, code: str | None) -> str | None:
    if status == 401:
        return "check the user name, password and domain (account) name"
    if status == 403:
        return "the user may be disabled, console-only, or not allowed in this project"
    if code == "IAM.1109":
        return "the project was not found: check projectName/projectId and region"
    if status == 429:
        return "IAM is throttling token requests; runs in parallel can share a token cache"
    return None


def _iam_hints(url: str) -> Callable[[int, str | None], str | None]:
    """Hints for an IAM answer to `url`; a 404 means the URL is not IAM's v3 API, not a missing project."""

    def hint_for(status: int, code: str | None) -> str | None:
        if status == 404 and code != "IAM.1109":
            return (
                f"IAM has no such API at {url}: cts:authUrl (OS_AUTH_URL) must be the IAM v3 URL, "
                "e.g. https://iam.eu-de.otc.t-systems.com/v3 (with or without /v3), or the emulator's base URL"
            )
        return _hint_for_iam(status, code)

    return hint_for


@dataclass
class IamClient:
    """Password authentication against IAM v3."""

    transport: Transport
    settings: Settings

    def identity_key(self, scope: Scope) -> tuple[str, ...]:
        """A cache key for the token of this identity in this scope; it holds no secret."""
        password = self.settings.get("password") or ""
        fingerprint = hashlib.sha256(password.encode()).hexdigest()[:16]
        return (
            self.settings.auth_url_for(scope),
            self.settings.get("domain_name") or "",
            self.settings.get("user_name") or "",
            fingerprint,
            scope.region,
            scope.project_id or "",
            scope.project_name or "",
        )

    def fetch_token(self, scope: Scope) -> Token:
        auth_url = self.settings.auth_url_for(scope)
        project: dict[str, str] = {"id": scope.project_id} if scope.project_id else {"name": scope.project_name or ""}
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.settings.get("user_name"),
                            "password": self.settings.get("password"),
                            "domain": {"name": self.settings.get("domain_name")},
                        }
                    },
                },
                "scope": {"project": project},
            }
        }
        target = f"user {self.settings.get('user_name')} at {auth_url}, {scope.describe()}"
        # Asking for a token twice is harmless, so this POST may be retried like a GET.
        response = self.transport.send(
            "POST",
            f"{auth_url}/auth/tokens",
            operation="Obtaining an IAM token",
            target=target,
            idempotent=True,
            json_body=body,
            hint_for=_iam_hints(f"{auth_url}/auth/tokens"),
            error_type=AuthenticationError,
        )
        value = response.headers.get("X-Subject-Token")
        try:
            token_body = response.json()["token"]
            expires_at = parse_timestamp(token_body["expires_at"])
            issued_at = parse_timestamp(token_body["issued_at"]) if token_body.get("issued_at") else None
            project_body = token_body.get("project") or {}
            project_id = str(project_body.get("id") or scope.project_id or "")
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError(
                "Obtaining an IAM token",
                status=response.status_code,
                target=target,
                error_msg="the answer has no token body with expires_at",
            ) from None
        if not value or not project_id:
            raise AuthenticationError(
                "Obtaining an IAM token",
                status=response.status_code,
                target=target,
                error_msg="the answer lacks the X-Subject-Token header or the project id",
            )
        return Token(
            value=value,
            expires_at=expires_at,
            project_id=project_id,
            project_name=project_body.get("name") or scope.project_name,
            cts_endpoint=catalog_endpoint(token_body.get("catalog"), "cts", scope.region),
            issued_at=issued_at,
        )

    def _hints_for_access_key(self, url: str) -> Callable[[int, str | None], str | None]:
        iam_hint = _iam_hints(url)

        def hint_for(status: int, code: str | None) -> str | None:
            if status in (401, 403):
                return (
                    f"IAM rejected the access key from {self.settings.source_of('access_key')}: check the key "
                    "pair, and that this machine's clock is within 15 minutes of the real time"
                )
            return iam_hint(status, code)

        return hint_for

    def lookup_project_id(self, scope: Scope, auth: requests.auth.AuthBase) -> str:
        """The id of the project named in `scope`, asked of IAM with a signed request (AK/SK)."""
        auth_url = self.settings.auth_url_for(scope)
        target = f"{scope.describe()} at {auth_url}"
        response = self.transport.send(
            "GET",
            f"{auth_url}/projects",
            operation="Looking up the project id",
            target=target,
            idempotent=True,
            auth=_NoRefresh(auth),
            params={"name": scope.project_name or scope.region},
            hint_for=self._hints_for_access_key(f"{auth_url}/projects"),
            error_type=AuthenticationError,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        found = answer.get("projects") if isinstance(answer, Mapping) else None
        projects = [p for p in found if isinstance(p, Mapping) and p.get("id")] if isinstance(found, list) else []
        if len(projects) != 1:
            raise ApiError(
                "Looking up the project id",
                status=response.status_code,
                target=target,
                error_msg=(
                    f"IAM returned {len(projects)} projects named {scope.project_name!r}"
                    if isinstance(found, list)
                    else "IAM answered without a project list"
                ),
                hint="set cts:projectId (or OS_PROJECT_ID) explicitly",
            )
        return str(projects[0]["id"])


class _NoRefresh(requests.auth.AuthBase):
    """Adapts a plain auth (which cannot renew itself) to the transport's 401 hook."""

    def __init__(self, inner: requests.auth.AuthBase) -> None:
        self.inner = inner

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return self.inner(r)

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        return False


class TokenAuth(requests.auth.AuthBase):
    """Adds `X-Auth-Token` from the cache, fetching a token when there is none or it is stale."""

    def __init__(self, cache: TokenCache, key: Hashable, fetch: Callable[[], Token]) -> None:
        self._cache = cache
        self._key = key
        self._fetch = fetch

    def token(self) -> Token:
        return self._cache.get(self._key, self._fetch)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-Auth-Token"] = self.token().value
        return r

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        rejected = request.headers.get("X-Auth-Token")
        if not rejected:
            return False
        self._cache.invalidate(self._key, str(rejected))
        return True

    def __repr__(self) -> str:
        return "TokenAuth(***)"
