"""IAM tokens: fetching them (`POST /v3/auth/tokens`), caching them until shortly before expiry,
and attaching them to CTS requests as a `requests` auth that can renew itself once after a 401.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from cachetools import TLRUCache

from .answers import MAX_TOKEN_LENGTH, PROJECTS, TOKEN, Answer
from .errors import ApiError, AuthenticationError
from .scope import Scope
from .settings import Settings
from .token_store import FileTokenStore, Token
from .transport import ErrorAnswer, Transport

# keystoneauth renews tokens with less than 120 s left; a wider margin also covers clock skew
# between this machine and IAM and a long-running request that starts just before expiry.
REFRESH_MARGIN_SECONDS = 300.0


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


# The setting that names the IAM address, for messages about what that address answered.
AUTH_URL_SETTING = "cts:authUrl"


def _iam_error(answer: ErrorAnswer) -> ApiError:
    """IAM refusing a token or a project lookup: always an authentication problem."""
    return answer.error(AuthenticationError, _hint_for_iam(answer.status, answer.code))


def _hint_for_iam(status: int, code: str | None) -> str | None:
    if status == 401:
        return "check the user name, password and domain (account) name"
    if status == 403:
        return "the user may be disabled, console-only, or not allowed in this project"
    if code == "IAM.1109" or status == 404:
        return "the project was not found: check projectName/projectId and region"
    if status == 429:
        return "IAM is throttling token requests; runs in parallel can share a token cache"
    return None


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
        operation = "Obtaining an IAM token"
        # Asking for a token twice is harmless, so this POST may be retried like a GET.
        response = self.transport.send(
            "POST",
            f"{auth_url}/auth/tokens",
            operation=operation,
            target=target,
            idempotent=True,
            json_body=body,
            error_for=_iam_error,
            setting=AUTH_URL_SETTING,
        )
        answer = Answer(response, operation, target, AUTH_URL_SETTING)
        token_body = answer.read(TOKEN)["token"]
        value = response.headers.get("X-Subject-Token") or ""
        if not value or len(value) > MAX_TOKEN_LENGTH:
            expected = f"a token of at most {MAX_TOKEN_LENGTH} characters"
            raise answer.problem("the X-Subject-Token header", expected, value)
        project_body = token_body.get("project") or {}
        project_id = project_body.get("id") or scope.project_id
        if not project_id:
            raise answer.problem("token.project.id", "the id of the scoped project", None)
        return Token(
            value=value,
            expires_at=token_body["expires_at"],
            project_id=project_id,
            project_name=project_body.get("name") or scope.project_name,
            cts_endpoint=catalog_endpoint(token_body.get("catalog"), "cts", scope.region),
            issued_at=token_body.get("issued_at"),
        )

    def _access_key_error(self, answer: ErrorAnswer) -> ApiError:
        hint: str | None
        if answer.status in (401, 403):
            hint = (
                f"IAM rejected the access key from {self.settings.source_of('access_key')}: check the key pair, "
                "and that this machine's clock is within 15 minutes of the real time"
            )
        else:
            hint = _hint_for_iam(answer.status, answer.code)
        return answer.error(AuthenticationError, hint)

    def lookup_project_id(self, scope: Scope, auth: requests.auth.AuthBase) -> str:
        """The id of the project named in `scope`, asked of IAM with a signed request (AK/SK)."""
        auth_url = self.settings.auth_url_for(scope)
        target = f"{scope.describe()} at {auth_url}"
        operation = "Looking up the project id"
        response = self.transport.send(
            "GET",
            f"{auth_url}/projects",
            operation=operation,
            target=target,
            idempotent=True,
            auth=_NoRefresh(auth),
            params={"name": scope.project_name or scope.region},
            error_for=self._access_key_error,
            setting=AUTH_URL_SETTING,
        )
        try:
            projects = Answer(response, operation, target, AUTH_URL_SETTING).read(PROJECTS)["projects"]
        except ApiError as error:
            skip = "or set cts:projectId (or OS_PROJECT_ID) to skip the lookup"
            raise error.recast(hint=f"{error.hint}; {skip}") from None
        if len(projects) != 1:
            raise ApiError(
                operation,
                status=response.status_code,
                target=target,
                error_msg=f"IAM returned {len(projects)} projects named {scope.project_name!r}",
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
