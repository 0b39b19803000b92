"""Exception types raised by pulumi-cts: one shallow tree rooted at `CtsError`.

Every message is written for the person running `pulumi up`: it says what was attempted, what the
service answered and what to do next. No message ever contains a password, secret key or token.
"""

from __future__ import annotations


class CtsError(Exception):
    """Base class of every error pulumi-cts raises on purpose."""


class ConfigurationError(CtsError, ValueError):
    """Settings are missing or contradict each other (raised before any request is sent)."""


class CloudsConfigError(CtsError):
    """The requested cloud is missing or unusable. The text names paths and clouds, never a value."""


class SignatureError(CtsError):
    """A request signature is missing, malformed, expired or wrong. The text never holds a secret key."""


class TransportError(CtsError, ConnectionError):
    """No usable HTTP answer: timeouts or connection failures that outlasted the retry budget."""


class ResponseLostError(TransportError):
    """A non-idempotent request was sent but its answer never arrived: it may have taken effect."""


class ApiError(CtsError):
    """An HTTP error answer from CTS or IAM.

    Attributes carry the facts separately so callers can branch on them; `str()` gives one
    readable sentence with all of them and a hint for the common codes.
    """

    def __init__(
        self,
        operation: str,
        *,
        status: int,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        target: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.operation = operation
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.target = target
        self.hint = hint
        super().__init__(self._compose())

    def recast(self, kind: type[ApiError] | None = None, *, hint: str | None = None) -> ApiError:
        """The same answer as another error type, or with a more specific hint."""
        return (kind or type(self))(
            self.operation,
            status=self.status,
            error_code=self.error_code,
            error_msg=self.error_msg,
            request_id=self.request_id,
            target=self.target,
            hint=hint if hint is not None else self.hint,
        )

    def _compose(self) -> str:
        where = f" ({self.target})" if self.target else ""
        answer = f"HTTP {self.status}"
        if self.error_code:
            answer += f" {self.error_code}"
        if self.error_msg:
            answer += f": {self.error_msg}"
        text = f"{self.operation}{where} failed with {answer}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        if self.hint:
            text += f". Hint: {self.hint}"
        return text


class AuthenticationError(ApiError):
    """IAM refused to issue a token, or CTS refused the credentials (HTTP 401/403)."""


class NotFoundError(ApiError):
    """The resource addressed does not exist (HTTP 404 / CTS.0214, or an empty query answer)."""


class TrackerNotFoundError(NotFoundError):
    """The tracker (management or data) addressed does not exist."""


class NotificationNotFoundError(NotFoundError):
    """The key-event notification addressed does not exist."""


class TrackerExistsError(ApiError):
    """A tracker already exists in the project (CTS.0201 / CTS.0208)."""


__all__ = [
    "ApiError",
    "AuthenticationError",
    "CloudsConfigError",
    "ConfigurationError",
    "CtsError",
    "NotFoundError",
    "NotificationNotFoundError",
    "ResponseLostError",
    "SignatureError",
    "TrackerExistsError",
    "TrackerNotFoundError",
    "TransportError",
]
