"""HTTP for CTS and IAM: one lazily created `requests.Session`, timeouts, the retry policy and
debug logging with secrets masked. The only place that sends requests and the only place that retries.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from .errors import ApiError, ResponseLostError, TransportError

log = logging.getLogger("pulumi_cts.http")

SECRET_HEADERS = frozenset({"x-auth-token", "x-subject-token", "authorization", "x-security-token"})
# Enough of a server's error text to say what went wrong; a page that echoes a body says no more.
MAX_SERVER_TEXT = 300
# A secret this short also occurs inside ordinary words: it is masked only where it stands alone.
SHORT_SECRET = 6
# An error body larger than this is not parsed as JSON; only its beginning is shown.
MAX_ERROR_BODY = 16 * 1024 * 1024
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# A 5xx answer to a POST does not say whether the work was done.
AMBIGUOUS_STATUS = frozenset({500, 502, 503, 504})

T = TypeVar("T")


class RefreshableAuth(Protocol):
    """A `requests` auth that may be able to renew its credential after a 401."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    `max_attempts` counts every try of one request; `max_total_wait` caps the sum of all waits so
    a run never hangs on a sick service. A `Retry-After` answer is honoured as a lower bound.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total_wait: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Wait before try `attempt + 1`: half fixed, half random ("equal jitter")."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials replaced by `***`."""
    return {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def _was_not_sent(exc: requests.RequestException) -> bool:
    """True when the request never reached the server, so repeating it cannot duplicate anything."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason: Any = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, NewConnectionError)
    return False


@dataclass
class Transport:
    """Sends requests with timeouts and retries over one connection pool per process.

    The session is created on first use, never at construction, so nothing live is ever pickled
    and worker threads of one provider process share one keep-alive pool.
    """

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    pool_size: int = 32
    secrets: tuple[str, ...] = field(default=(), repr=False)
    _session: requests.Session | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    session = requests.Session()
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
                    session.mount("https://", adapter)
                    session.mount("http://", adapter)
                    session.verify = self.verify
                    self._session = session
        return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        target: str,
        idempotent: bool,
        auth: RefreshableAuth | None = None,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        accept_status: Iterable[int] = (),
        error_for: ErrorFor | None = None,
        setting: str = "the service address",
    ) -> requests.Response:
        """Send one logical request and return a successful (or accepted) answer.

        Retries 429 always (the request was refused, not processed); 502/503/504 and lost
        connections only when `idempotent`, because repeating a POST whose first try may have
        taken effect could create a second object. A lost POST raises `ResponseLostError` so the
        caller can look before it tries again. A 401 is answered once by renewing the credential.
        `error_for` turns an error answer into the caller's exception (type and hint); without it,
        a plain ApiError. Redirects are never followed: `requests` would carry tokens (and a
        re-POSTed password) to whatever host the answer names. A 3xx is an error naming that host
        and `setting`, the configuration key of the address.
        """
        accepted = set(accept_status)
        waited = 0.0
        refreshed = False
        attempt = 0
        last_problem = ""
        while True:
            started = self.clock()
            try:
                response = self._attempt(
                    method, url, f"{operation} ({target})", auth=auth, json=json_body, params=params, headers=headers
                )
            except requests.RequestException as exc:
                kind = type(exc).__name__
                log.debug("%s %s -> %s after %.3fs", method, url, kind, self.clock() - started)
                if not (idempotent or _was_not_sent(exc)):
                    raise ResponseLostError(
                        f"{operation} ({target}): the request was sent but no answer arrived ({kind}); "
                        "it may have taken effect"
                    ) from None
                last_problem = f"no answer ({kind})"
                delay = self.policy.backoff(attempt, self.rng)
            else:
                self._log(response, started)
                status = response.status_code
                if 300 <= status < 400:
                    raise self._redirect_error(response, operation, target, setting)
                if status < 400 or status in accepted:
                    return response
                if status == 401 and auth is not None and not refreshed:
                    refreshed = True
                    if auth.refresh_after_unauthorized(response.request):
                        continue
                if status not in RETRYABLE_STATUS or (status != 429 and not idempotent):
                    raise _raised(error_answer(response, operation, target, self.secrets), error_for)
                last_problem = f"HTTP {status}"
                delay = self.policy.backoff(attempt, self.rng)
                hinted = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
                if hinted is not None:
                    delay = max(delay, hinted)
                if attempt + 1 >= self.policy.max_attempts or waited + delay > self.policy.max_total_wait:
                    error = _raised(error_answer(response, operation, target, self.secrets), error_for)
                    error.args = (f"{error.args[0]} (gave up after {attempt + 1} tries and {waited:.1f}s of waiting)",)
                    raise error
            attempt += 1
            if attempt >= self.policy.max_attempts or waited + delay > self.policy.max_total_wait:
                raise TransportError(
                    f"{operation} ({target}) failed: {last_problem}; gave up after {attempt} tries "
                    f"and {waited:.1f}s of waiting (timeouts: connect {self.policy.connect_timeout:g}s, "
                    f"read {self.policy.read_timeout:g}s)"
                )
            log.debug("retrying %s %s in %.2fs (try %d failed: %s)", method, url, delay, attempt, last_problem)
            self.sleep(delay)
            waited += delay

    def _attempt(
        self,
        method: str,
        url: str,
        what: str,
        *,
        auth: RefreshableAuth | None,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        """One try of a request; a certificate problem ends the request, since asking again cannot help."""
        try:
            return self.session.request(
                method,
                url,
                json=json,
                params=params,
                headers=dict(headers or {}),
                auth=auth,
                allow_redirects=False,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                # Per request: a session-level setting loses to REQUESTS_CA_BUNDLE in requests.
                verify=self.verify,
            )
        except requests.exceptions.SSLError:
            raise TransportError(
                f"{what} failed: the TLS certificate of {url.split('/')[2]} could not be "
                "verified; trust its CA with cts:caCert (OS_CACERT), or, for a test endpoint only, "
                "set cts:insecure (OS_INSECURE)"
            ) from None

    def post_once(self, create: Callable[[], T], find: Callable[[], T | None]) -> T:
        """Create something exactly once although a POST may not be repeated blindly.

        When the outcome of `create` is unknown (the answer was lost, or a 5xx that may come after
        the work was done), `find` looks for the result before the next try, within the same
        bounded budget and backoff as every other retry.
        """
        attempt = 0
        while True:
            try:
                return create()
            except (ResponseLostError, ApiError) as error:
                if isinstance(error, ApiError) and error.status not in AMBIGUOUS_STATUS:
                    raise
                found = find()
                if found is not None:
                    log.info("the outcome of a create was unknown; it had taken effect")
                    return found
                attempt += 1
                if attempt >= self.policy.max_attempts:
                    raise
                self.sleep(self.policy.backoff(attempt - 1, self.rng))

    def _redirect_error(self, response: requests.Response, operation: str, target: str, setting: str) -> ApiError:
        location = response.headers.get("Location") or ""
        host = urllib.parse.urlsplit(location).netloc if location else ""
        shown = scrub(host, self.secrets, response)[:100] or "an address it does not name"
        answer = ErrorAnswer(
            operation=operation,
            target=target,
            status=response.status_code,
            code=None,
            message=f"the answer redirects to {shown}; requests are not sent on, so credentials stay with "
            "the configured address",
            request_id=_request_id(response),
        )
        return answer.error(hint=f"set {setting} to the address that answers without a redirect")

    def _log(self, response: requests.Response, started: float) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        request = response.request
        log.debug(
            "%s %s -> %d in %.3fs request-headers=%s",
            request.method,
            request.url,
            response.status_code,
            self.clock() - started,
            mask_headers(request.headers),
        )


@dataclass(frozen=True)
class ErrorAnswer:
    """The facts of one HTTP error answer, parsed from any of the documented shapes."""

    operation: str
    target: str
    status: int
    code: str | None
    message: str | None
    request_id: str | None

    def error(self, kind: type[ApiError] = ApiError, hint: str | None = None) -> ApiError:
        return kind(
            self.operation,
            status=self.status,
            error_code=self.code,
            error_msg=self.message,
            request_id=self.request_id,
            target=self.target,
            hint=hint,
        )


ErrorFor = Callable[[ErrorAnswer], ApiError]


def _raised(answer: ErrorAnswer, error_for: ErrorFor | None) -> ApiError:
    return error_for(answer) if error_for is not None else answer.error()


def _request_id(response: requests.Response) -> str | None:
    value = response.headers.get("X-Request-Id") or response.headers.get("X-Openstack-Request-Id")
    return value[:256] if value else None


def _secret_forms(secret: str) -> set[str]:
    """A secret as it may appear in a page that echoes a request: raw, JSON-escaped, URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}


def scrub(text: str, secrets: Iterable[str], response: requests.Response | None = None) -> str:
    """`text` from a server with every configured secret, and the credentials of the request it
    answers, masked as `***`."""
    known = [s for s in secrets if s]
    if response is not None:
        headers = [*response.headers.items(), *(response.request.headers.items() if response.request else ())]
        credentials = [str(v) for k, v in headers if k.lower() in SECRET_HEADERS and v]
        # A signature header carries its token among a scheme and parameters.
        known += credentials + [p for v in credentials for p in v.replace(",", " ").split() if len(p) >= 16]
    for secret in sorted(set(known), key=len, reverse=True):
        for form in _secret_forms(secret):
            if form not in text:
                continue
            if len(secret) < SHORT_SECRET:
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
            else:
                text = text.replace(form, "***")
    return text


def server_text(value: Any, secrets: Iterable[str], response: requests.Response | None = None) -> str | None:
    """Text a server sent, fit for a message or a log: secrets masked, whitespace folded, cut short."""
    if value is None:
        return None
    text = " ".join(scrub(str(value), secrets, response).split())
    if len(text) > MAX_SERVER_TEXT:
        text = text[:MAX_SERVER_TEXT] + f"... ({len(text) - MAX_SERVER_TEXT} more characters)"
    return text or None


def error_answer(response: requests.Response, operation: str, target: str, secrets: Iterable[str] = ()) -> ErrorAnswer:
    """The facts of an error answer in any of the documented shapes.

    CTS and IAM answer `{"error_code", "error_msg"}`; some IAM pages use the Keystone shape
    `{"error": {"code", "message"}}`; the API gateway may answer plain text. Whatever the server
    wrote is cut short and cleaned of secrets first: an error page may echo the request.
    """
    code: Any = None
    message: Any = None
    content = response.content or b""
    body: Any = None
    if len(content) <= MAX_ERROR_BODY:
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            body = None
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            code = inner.get("code")
            message = inner.get("message") or inner.get("title")
        code = body.get("error_code") or body.get("errorCode") or code
        message = body.get("error_msg") or body.get("errorMsg") or body.get("message") or message
    if message is None and content:
        # Decoded well beyond what is shown, so that no secret is cut in half before it is masked.
        message = content[:262_144].decode("utf-8", errors="replace")
    shown_code = server_text(code, secrets, response) if isinstance(code, str | int) else None
    return ErrorAnswer(
        operation=operation,
        target=target,
        status=response.status_code,
        code=shown_code[:64] if shown_code else None,
        message=server_text(message, secrets, response),
        request_id=_request_id(response),
    )
