"""AK/SK request signing with the ``SDK-HMAC-SHA256`` algorithm of the OTC / Huawei Cloud API gateway.

``AkSkAuth`` signs outgoing ``requests``; ``verify_signature`` checks a signed request on the server side.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from requests.auth import AuthBase
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict

from .errors import SignatureError

__all__ = [
    "ALGORITHM",
    "CONTENT_SHA256_HEADER",
    "DATE_FORMAT",
    "DATE_HEADER",
    "PROJECT_ID_HEADER",
    "SECURITY_TOKEN_HEADER",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "AkSkAuth",
    "SignatureError",
    "canonical_request",
    "compute_signature",
    "parse_authorization",
    "string_to_sign",
    "verify_signature",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
PROJECT_ID_HEADER = "X-Project-Id"
SECURITY_TOKEN_HEADER = "X-Security-Token"

# Left out of SignedHeaders because they may legitimately change between the signer and the verifier:
# Connection and Accept-Encoding are transport negotiation that proxies rewrite, Content-Length and
# Transfer-Encoding follow the framing (the payload hash already covers the body), and User-Agent and
# Accept are requests.Session defaults that some corporate proxies replace. Authorization carries the
# signature itself. Hop-by-hop headers (RFC 9110 section 7.6.1) never reach the verifier unchanged.
UNSIGNED_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "authorization",
        "connection",
        "content-length",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)

_AUTH_FIELDS = ("Access", "SignedHeaders", "Signature")
_SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as UTC: the wire format has no zone other than UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")


def _canonical_uri(path: str) -> str:
    # Unquoting first makes "%20" and " " (or "%7E" and "~") sign the same, whoever quoted the path.
    uri = "/".join(_rfc3986(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{_rfc3986(key)}={_rfc3986(value)}" for key, value in pairs)


def canonical_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    signed_headers: Sequence[str],
) -> str:
    """Return the CanonicalRequest text that is hashed into the string to sign.

    ``url`` may be absolute or just ``path?query``; ``headers`` are looked up case-insensitively.
    Raises SignatureError when a header named in ``signed_headers`` is absent.
    """
    parts = urlsplit(url)
    lookup: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers)
    header_lines = []
    for name in signed_headers:
        value = lookup.get(name)
        if value is None:
            raise SignatureError(f"signed header {name.lower()!r} is not in the request")
        header_lines.append(f"{name.lower()}:{value.strip()}")
    payload_hash = lookup.get(CONTENT_SHA256_HEADER)
    if payload_hash is None:
        payload_hash = _sha256_hex(body)
    return "\n".join(
        [
            method.upper(),
            _canonical_uri(parts.path),
            _canonical_query(parts.query),
            "\n".join(header_lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """Return the StringToSign: algorithm, ``X-Sdk-Date`` value and the hex SHA-256 of ``canonical``."""
    return f"{ALGORITHM}\n{sdk_date}\n{_sha256_hex(canonical.encode('utf-8'))}"


def compute_signature(secret_key: str, string_to_sign: str) -> str:
    """Return the hex HMAC-SHA256 of ``string_to_sign``, keyed directly with the secret key."""
    return hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _authorization_value(access_key: str, signed_headers: Sequence[str], signature: str) -> str:
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, Signature={signature}"


class _Secret:
    """Holds a credential so that repr(), str() and vars() of its owner never print it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    default_port = _DEFAULT_PORTS.get(parts.scheme.lower())
    if default_port and netloc.endswith(default_port):
        netloc = netloc[: -len(default_port)]
    return netloc


def _is_signed(name: str) -> bool:
    # The gateway (like nginx) drops header names containing "_", so signing them could never verify.
    return "_" not in name and name.lower() not in UNSIGNED_HEADERS


def _header_text(value: str | bytes) -> str:
    # http.client sends bytes header values as they are; latin-1 is how a server decodes them back.
    return value.decode("latin-1") if isinstance(value, bytes) else value


class AkSkAuth(AuthBase):
    """Sign each request with an access key / secret key pair (``SDK-HMAC-SHA256``).

    The request is signed as prepared, so the final URL, query and body are what get signed. Every
    header present at signing time is signed except names containing ``_`` and ``UNSIGNED_HEADERS``;
    headers added afterwards (for example by a proxy) are not signed and do not break the signature.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        project_id: str | None = None,
        security_token: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("AkSkAuth needs both an access key and a secret key")
        self.access_key = access_key
        self._secret_key = _Secret(secret_key)
        self.project_id = project_id
        self._security_token = _Secret(security_token) if security_token else None
        self.clock = clock

    def __repr__(self) -> str:
        token = "'***'" if self._security_token is not None else "None"
        return (
            f"{type(self).__name__}(access_key={self.access_key!r}, secret_key='***', "
            f"project_id={self.project_id!r}, security_token={token})"
        )

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        if r.url is None or r.method is None:
            raise ValueError("AkSkAuth can only sign a prepared request with a method and a URL")
        headers = r.headers
        # A request signed before (a retry) must not sign its old signature into the new one.
        headers.pop("Authorization", None)
        body = self._payload(r)
        sdk_date = _as_utc(self.clock()).strftime(DATE_FORMAT)
        headers[DATE_HEADER] = sdk_date
        # An explicit Host (e.g. when connecting to an IP address) is what the server sees, so keep it.
        if "Host" not in headers:
            headers["Host"] = _host_header(r.url)
        if self.project_id:
            headers[PROJECT_ID_HEADER] = self.project_id
        if self._security_token is not None:
            headers[SECURITY_TOKEN_HEADER] = self._security_token.reveal()
        text_headers = {name: _header_text(value) for name, value in headers.items()}
        signed = sorted({name.lower() for name in text_headers if _is_signed(name)})
        canonical = canonical_request(r.method, r.url, text_headers, body, signed)
        signature = compute_signature(self._secret_key.reveal(), string_to_sign(canonical, sdk_date))
        headers["Authorization"] = _authorization_value(self.access_key, signed, signature)
        return r

    def refresh_after_unauthorized(self, request: PreparedRequest) -> bool:
        """Return False: a signature cannot be refreshed, so a 401 with AK/SK is final."""
        return False

    @staticmethod
    def _payload(r: PreparedRequest) -> bytes:
        body: object = r.body
        if body is None:
            return b""
        if isinstance(body, str):
            # urllib3 2 sends str bodies as UTF-8; converting here makes the signed bytes the sent bytes.
            data = body.encode("utf-8")
            r.body = data
            r.prepare_content_length(data)
            return data
        if isinstance(body, (bytes, bytearray, memoryview)):
            return bytes(body)
        read = getattr(body, "read", None)
        seek = getattr(body, "seek", None)
        tell = getattr(body, "tell", None)
        if callable(read) and callable(seek) and callable(tell):
            position = tell()
            data = read()
            seek(position)
            if isinstance(data, bytes):
                return data
        # A stream that cannot be rewound cannot be hashed without consuming it; the protocol's answer
        # is an explicitly unsigned payload (the header itself is signed).
        r.headers[CONTENT_SHA256_HEADER] = UNSIGNED_PAYLOAD
        return b""


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split an ``SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`` header value.

    Returns (access key, signed header names, lowercase hex signature); raises SignatureError when
    the value is malformed. The value is not echoed in the error, as it could be a bearer token.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureError(f"Authorization header is not an {ALGORITHM} signature")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, field_value = item.strip().partition("=")
        key = key.strip()
        if not sep or key not in _AUTH_FIELDS or key in fields:
            raise SignatureError(
                "malformed Authorization header: expected Access=..., SignedHeaders=..., Signature=..."
            )
        fields[key] = field_value.strip()
    missing = [key for key in _AUTH_FIELDS if not fields.get(key)]
    if missing:
        raise SignatureError(f"malformed Authorization header: missing {', '.join(missing)}")
    signed_headers = fields["SignedHeaders"].split(";")
    if any(not name.strip() or name != name.strip() for name in signed_headers):
        raise SignatureError("malformed Authorization header: empty name in SignedHeaders")
    signature = fields["Signature"].lower()
    if not _SIGNATURE_RE.fullmatch(signature):
        raise SignatureError("malformed Authorization header: Signature is not 64 hex digits")
    return fields["Access"], signed_headers, signature


def verify_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_key_for: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = timedelta(minutes=15),
) -> str:
    """Check the ``SDK-HMAC-SHA256`` signature of a received request and return its access key.

    ``url`` should be the request target as received (path and raw query); ``secret_key_for`` maps an
    access key to its secret, or None when unknown. Raises SignatureError saying why the request is
    rejected; the APIG wording "signature expired" is used when ``X-Sdk-Date`` is off by more than
    ``max_skew``.
    """
    lookup: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers)
    authorization = lookup.get("Authorization")
    if not authorization:
        raise SignatureError("missing Authorization header")
    access_key, signed_headers, signature = parse_authorization(authorization)
    secret_key = secret_key_for(access_key)
    if secret_key is None:
        raise SignatureError(f"unknown access key {access_key!r}")

    sdk_date = (lookup.get(DATE_HEADER) or "").strip()
    if not sdk_date:
        raise SignatureError(f"missing {DATE_HEADER} header")
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError(f"unparseable {DATE_HEADER} header; expected YYYYMMDDTHHMMSSZ") from None
    server_time = _as_utc(now)
    if abs(server_time - signed_at) > max_skew:
        raise SignatureError(
            f"signature expired, signature time:{sdk_date}, server time:{server_time.strftime(DATE_FORMAT)}"
        )

    declared_hash = lookup.get(CONTENT_SHA256_HEADER)
    if declared_hash is not None:
        # Unsigned, the header would let anyone swap the body while replaying the old body's hash.
        if CONTENT_SHA256_HEADER.lower() not in {name.lower() for name in signed_headers}:
            raise SignatureError(f"{CONTENT_SHA256_HEADER} is present but not signed")
        if declared_hash != UNSIGNED_PAYLOAD and not hmac.compare_digest(
            declared_hash.strip().lower(), _sha256_hex(body)
        ):
            raise SignatureError(f"body does not match {CONTENT_SHA256_HEADER}")

    canonical = canonical_request(method, url, lookup, body, signed_headers)
    expected = compute_signature(secret_key, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature mismatch")
    return access_key
