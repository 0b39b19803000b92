"""Tests for SDK-HMAC-SHA256 signing and verification (pulumi_cts.signing)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import requests_mock
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_cts.signing import (
    ALGORITHM,
    CONTENT_SHA256_HEADER,
    DATE_FORMAT,
    DATE_HEADER,
    UNSIGNED_PAYLOAD,
    AkSkAuth,
    SignatureError,
    canonical_request,
    compute_signature,
    parse_authorization,
    string_to_sign,
    verify_signature,
)

# Known-answer vector of the API request signing guide (auth.md section 6).
AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
URL = (
    "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
    "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
)
SDK_DATE = "20191115T033655Z"
SIGNED_AT = datetime(2019, 11, 15, 3, 36, 55, tzinfo=timezone.utc)
CANONICAL = (
    "GET\n"
    "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
    "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
    "content-type:application/json\n"
    "host:service.region.example.com\n"
    "x-sdk-date:20191115T033655Z\n"
    "\n"
    "content-type;host;x-sdk-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)
CANONICAL_SHA256 = "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
SIGNATURE = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
AUTHORIZATION = f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;x-sdk-date, Signature={SIGNATURE}"
SIGNATURE_NO_CONTENT_TYPE = "faafba090046ef84c81ca330e77576d8746733ddfcf0317aaeb59cff50da39a7"
VECTOR_HEADERS = {
    "Content-Type": "application/json",
    "Host": "service.region.example.com",
    "X-Sdk-Date": SDK_DATE,
}
TOKEN = "sts-token-VALUE-0123456789"


def fixed_clock(moment: datetime = SIGNED_AT) -> AkSkAuth:
    return AkSkAuth(AK, SK, clock=lambda: moment)


def secrets(access_key: str) -> str | None:
    return {AK: SK}.get(access_key)


def sign(
    method: str = "GET",
    url: str = URL,
    *,
    auth: AkSkAuth | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> requests.PreparedRequest:
    prepared = requests.Request(method, url, headers=headers or {}, **kwargs).prepare()
    (auth or fixed_clock())(prepared)
    return prepared


def as_text(prepared: requests.PreparedRequest) -> dict[str, str]:
    return {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in prepared.headers.items()}


def body_of(prepared: requests.PreparedRequest) -> bytes:
    body = prepared.body
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def verify(prepared: requests.PreparedRequest, now: datetime = SIGNED_AT) -> str:
    assert prepared.method is not None and prepared.url is not None
    return verify_signature(prepared.method, prepared.url, as_text(prepared), body_of(prepared), secrets, now)


def signature_of(prepared: requests.PreparedRequest) -> str:
    return parse_authorization(as_text(prepared)["Authorization"])[2]


# --- known-answer vector -------------------------------------------------------------------------


def test_vector_through_bare_functions() -> None:
    signed = ["content-type", "host", "x-sdk-date"]
    canonical = canonical_request("GET", URL, VECTOR_HEADERS, b"", signed)
    assert canonical == CANONICAL
    assert hashlib.sha256(canonical.encode()).hexdigest() == CANONICAL_SHA256
    sts = string_to_sign(canonical, SDK_DATE)
    assert sts == f"{ALGORITHM}\n{SDK_DATE}\n{CANONICAL_SHA256}"
    assert compute_signature(SK, sts) == SIGNATURE


def test_vector_without_content_type_through_bare_functions() -> None:
    headers = {"Host": "service.region.example.com", "X-Sdk-Date": SDK_DATE}
    canonical = canonical_request("GET", URL, headers, b"", ["host", "x-sdk-date"])
    assert compute_signature(SK, string_to_sign(canonical, SDK_DATE)) == SIGNATURE_NO_CONTENT_TYPE


def test_vector_through_aksk_auth() -> None:
    prepared = sign(headers={"Content-Type": "application/json"})
    assert prepared.headers["Authorization"] == AUTHORIZATION
    assert prepared.headers[DATE_HEADER] == SDK_DATE
    assert prepared.headers["Host"] == "service.region.example.com"
    assert prepared.url == URL


def test_vector_without_content_type_through_aksk_auth() -> None:
    prepared = sign()
    assert prepared.headers["Authorization"] == (
        f"{ALGORITHM} Access={AK}, SignedHeaders=host;x-sdk-date, Signature={SIGNATURE_NO_CONTENT_TYPE}"
    )


def test_canonical_request_looks_headers_up_case_insensitively() -> None:
    headers = {
        "content-TYPE": "  application/json ",
        "HOST": "service.region.example.com",
        "x-sdk-date": SDK_DATE,
    }
    assert canonical_request("get", URL, headers, b"", ["content-type", "host", "x-sdk-date"]) == CANONICAL


def test_canonical_request_uses_declared_payload_hash() -> None:
    headers = {"Host": "h", CONTENT_SHA256_HEADER: UNSIGNED_PAYLOAD}
    canonical = canonical_request("PUT", "https://h/a", headers, b"anything", ["host", "x-sdk-content-sha256"])
    assert canonical.endswith("\n" + UNSIGNED_PAYLOAD)


def test_canonical_request_hashes_body() -> None:
    canonical = canonical_request("POST", "https://h/a", {"Host": "h"}, b'{"a":1}', ["host"])
    assert canonical.endswith("\n" + hashlib.sha256(b'{"a":1}').hexdigest())


@pytest.mark.parametrize(
    ("url", "uri", "query"),
    [
        ("https://h", "/", ""),
        ("https://h/", "/", ""),
        ("https://h/a/b/", "/a/b/", ""),
        ("https://h/a%20b/c~d", "/a%20b/c~d/", ""),
        ("https://h/a b/%7E", "/a%20b/~/", ""),
        ("https://h/%C3%A4+x", "/%C3%A4%2Bx/", ""),
        ("/p?b=2&a=1&a=0", "/p/", "a=0&a=1&b=2"),
        ("/p?q=a+b&r=a%20b&s=%2B&t=", "/p/", "q=a%20b&r=a%20b&s=%2B&t="),
        ("/p?flag&x=~*'", "/p/", "flag=&x=~%2A%27"),
    ],
)
def test_canonical_uri_and_query(url: str, uri: str, query: str) -> None:
    lines = canonical_request("GET", url, {"Host": "h"}, b"", ["host"]).split("\n")
    assert lines[1:3] == [uri, query]


def test_canonical_request_missing_signed_header() -> None:
    with pytest.raises(SignatureError, match="x-project-id"):
        canonical_request("GET", URL, VECTOR_HEADERS, b"", ["host", "x-project-id"])


# --- what AkSkAuth signs -------------------------------------------------------------------------


def test_changing_any_signed_part_changes_the_signature() -> None:
    base_url = "https://cts.eu-de.otc.t-systems.com/v1.0/p1/tracker?tracker_name=system"
    body = {"bucket_name": "b1"}

    def sig(
        method: str = "PUT",
        url: str = base_url,
        headers: dict[str, str] | None = None,
        payload: object = body,
        auth: AkSkAuth | None = None,
    ) -> str:
        merged = {"X-Language": "en-us", **(headers or {})}
        return signature_of(sign(method, url, auth=auth, headers=merged, json=payload))

    base = sig()
    variants = [
        sig(method="POST"),
        sig(url=base_url.replace("/p1/", "/p2/")),
        sig(url=base_url.replace("system", "other")),
        sig(url=base_url + "&extra=1"),
        sig(headers={"X-Language": "zh-cn"}),
        sig(payload={"bucket_name": "b2"}),
        sig(auth=fixed_clock(SIGNED_AT + timedelta(seconds=1))),
        sig(auth=AkSkAuth(AK, SK + "x", clock=lambda: SIGNED_AT)),
        sig(url=base_url.replace("cts.eu-de", "cts.eu-nl")),
    ]
    assert base == sig()
    assert len({base, *variants}) == len(variants) + 1


def test_security_token_and_project_id_are_signed() -> None:
    auth = AkSkAuth(AK, SK, project_id="p1", security_token=TOKEN, clock=lambda: SIGNED_AT)
    prepared = sign(auth=auth)
    assert prepared.headers["X-Security-Token"] == TOKEN
    assert prepared.headers["X-Project-Id"] == "p1"
    _, signed, _ = parse_authorization(as_text(prepared)["Authorization"])
    assert signed == ["host", "x-project-id", "x-sdk-date", "x-security-token"]
    assert verify(prepared) == AK

    for name, value in (("X-Security-Token", "other-token"), ("X-Project-Id", "p2")):
        tampered = prepared.copy()
        tampered.headers[name] = value
        with pytest.raises(SignatureError, match="signature mismatch"):
            verify(tampered)


def test_unsigned_headers_are_left_out() -> None:
    prepared = sign(
        "POST",
        "https://h.example.com:443/x",
        headers={
            "User-Agent": "ua",
            "Accept": "*/*",
            "Accept-Encoding": "gzip",
            "Connection": "keep-alive",
            "X_Under_Score": "1",
            "X-Custom": "v",
        },
        data=b"abc",
    )
    assert prepared.headers["Content-Length"] == "3"
    assert prepared.headers["Host"] == "h.example.com"
    _, signed, _ = parse_authorization(as_text(prepared)["Authorization"])
    assert signed == ["host", "x-custom", "x-sdk-date"]
    # A proxy rewriting transport headers does not break the signature.
    prepared.headers["User-Agent"] = "proxy"
    prepared.headers["Connection"] = "close"
    assert verify(prepared) == AK


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://h.example.com:443/x", "h.example.com"),
        ("http://h.example.com:80/x", "h.example.com"),
        ("https://h.example.com:8443/x", "h.example.com:8443"),
        ("http://127.0.0.1:443/x", "127.0.0.1:443"),
        ("https://user:pw@h.example.com/x", "h.example.com"),
    ],
)
def test_host_header_drops_default_port_only(url: str, host: str) -> None:
    assert sign(url=url).headers["Host"] == host


def test_explicit_host_header_is_kept() -> None:
    prepared = sign(url="http://127.0.0.1:8080/x", headers={"Host": "cts.example.com"})
    assert prepared.headers["Host"] == "cts.example.com"
    assert verify(prepared) == AK


def test_resigning_replaces_the_old_signature_and_date() -> None:
    prepared = sign()
    later = SIGNED_AT + timedelta(minutes=1)
    fixed_clock(later)(prepared)
    assert prepared.headers[DATE_HEADER] == later.strftime(DATE_FORMAT)
    _, signed, _ = parse_authorization(as_text(prepared)["Authorization"])
    assert "authorization" not in signed
    assert verify(prepared, now=later) == AK


def test_naive_and_non_utc_clocks_are_taken_as_utc() -> None:
    naive = sign(auth=fixed_clock(datetime(2019, 11, 15, 3, 36, 55)))
    cet = timezone(timedelta(hours=1))
    shifted = sign(auth=fixed_clock(datetime(2019, 11, 15, 4, 36, 55, tzinfo=cet)))
    assert naive.headers[DATE_HEADER] == shifted.headers[DATE_HEADER] == SDK_DATE


def test_str_body_is_signed_as_the_utf8_bytes_sent() -> None:
    prepared = sign("POST", "https://h/x", data="grüße")
    assert prepared.body == "grüße".encode()
    assert prepared.headers["Content-Length"] == str(len("grüße".encode()))
    assert verify(prepared) == AK


def test_seekable_file_body_is_hashed_and_rewound() -> None:
    stream = io.BytesIO(b"file body")
    prepared = sign("PUT", "https://h/x", data=stream)
    assert stream.tell() == 0
    assert CONTENT_SHA256_HEADER not in prepared.headers
    assert verify_signature("PUT", "https://h/x", as_text(prepared), b"file body", secrets, SIGNED_AT) == AK


def test_unrewindable_stream_is_sent_as_unsigned_payload() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"

    prepared = sign("PUT", "https://h/x", data=chunks())
    assert prepared.headers[CONTENT_SHA256_HEADER] == UNSIGNED_PAYLOAD
    _, signed, _ = parse_authorization(as_text(prepared)["Authorization"])
    assert "x-sdk-content-sha256" in signed
    assert verify_signature("PUT", "https://h/x", as_text(prepared), b"a", secrets, SIGNED_AT) == AK


def test_refresh_after_unauthorized_is_false() -> None:
    prepared = sign()
    assert fixed_clock().refresh_after_unauthorized(prepared) is False


def test_constructor_requires_both_keys() -> None:
    with pytest.raises(ValueError):
        AkSkAuth("", SK)
    with pytest.raises(ValueError):
        AkSkAuth(AK, "")


def test_repr_and_vars_do_not_leak_secrets() -> None:
    auth = AkSkAuth(AK, SK, project_id="p1", security_token=TOKEN)
    for text in (repr(auth), str(auth), repr(vars(auth)), str(vars(auth))):
        assert SK not in text
        assert TOKEN not in text
    assert AK in repr(auth)
    assert "p1" in repr(auth)


def test_default_clock_is_current_utc() -> None:
    prepared = sign(auth=AkSkAuth(AK, SK))
    signed_at = datetime.strptime(prepared.headers[DATE_HEADER], DATE_FORMAT).replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - signed_at) < timedelta(minutes=1)
    assert verify(prepared, now=datetime.now(timezone.utc)) == AK


# --- verification --------------------------------------------------------------------------------


def test_verify_vector() -> None:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    assert verify_signature("GET", URL, headers, b"", secrets, SIGNED_AT) == AK


def test_verify_headers_case_insensitively() -> None:
    headers = {k.lower(): v for k, v in VECTOR_HEADERS.items()} | {"AUTHORIZATION": AUTHORIZATION}
    assert verify_signature("GET", URL, headers, b"", secrets, SIGNED_AT) == AK


def test_verify_get_round_trip() -> None:
    assert verify(sign()) == AK


def test_verify_post_json_round_trip() -> None:
    prepared = sign(
        "POST",
        "https://cts.eu-de.otc.t-systems.com/v1.0/p1/tracker",
        json={"bucket_name": "b", "file_prefix_name": "ä ö", "is_obs_created": False},
    )
    assert verify(prepared) == AK
    tampered_body = json.dumps({"bucket_name": "c"}).encode()
    assert prepared.method is not None and prepared.url is not None
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify_signature(prepared.method, prepared.url, as_text(prepared), tampered_body, secrets, SIGNED_AT)


def test_verify_path_with_special_characters_as_received() -> None:
    prepared = sign(url="https://h.example.com/v1.0/p 1/träcker/a~b/x%2By/'q'")
    assert verify(prepared) == AK
    # A server that sees a differently quoted target still computes the same canonical URI.
    headers = as_text(prepared)
    assert verify_signature("GET", "/v1.0/p%201/tr%C3%A4cker/a%7Eb/x+y/%27q%27", headers, b"", secrets, SIGNED_AT) == AK


def test_verify_query_with_spaces() -> None:
    prepared = sign(url="https://h.example.com/traces", params={"user": "Jane Doe", "from": "1", "z": ""})
    assert prepared.url is not None and "Jane+Doe" in prepared.url
    assert verify(prepared) == AK
    headers = as_text(prepared)
    target = "/traces?z=&user=Jane%20Doe&from=1"
    assert verify_signature("GET", target, headers, b"", secrets, SIGNED_AT) == AK
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify_signature("GET", "/traces?user=Jane%20Doe&from=2&z=", headers, b"", secrets, SIGNED_AT)


def test_verify_session_request_as_received_by_server() -> None:
    received: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.auth = AkSkAuth(AK, SK, project_id="p1", security_token=TOKEN)
    with requests_mock.Mocker(session=session) as mock:

        def capture(request: requests.PreparedRequest, context: object) -> dict[str, str]:
            received.append(request)
            return {}

        mock.post("https://cts.example.com/v1.0/p1/tracker", status_code=201, json=capture)
        session.post("https://cts.example.com/v1.0/p1/tracker?x=a b", json={"bucket_name": "b"})
    assert len(received) == 1
    assert verify(received[0], now=datetime.now(timezone.utc)) == AK


def test_verify_with_explicit_unsigned_payload() -> None:
    prepared = sign("PUT", "https://h/x", headers={CONTENT_SHA256_HEADER: UNSIGNED_PAYLOAD}, data=b"abc")
    assert verify(prepared) == AK


def test_verify_with_declared_hash_of_body() -> None:
    digest = hashlib.sha256(b"abc").hexdigest()
    prepared = sign("PUT", "https://h/x", headers={CONTENT_SHA256_HEADER: digest}, data=b"abc")
    assert verify(prepared) == AK
    headers = as_text(prepared)
    with pytest.raises(SignatureError, match="body does not match"):
        verify_signature("PUT", "https://h/x", headers, b"abd", secrets, SIGNED_AT)


def test_verify_rejects_unsigned_content_hash_header() -> None:
    prepared = sign("PUT", "https://h/x", data=b"abc")
    headers = as_text(prepared)
    # Replaying the original body hash through the header must not make a swapped body verify.
    headers[CONTENT_SHA256_HEADER] = hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(SignatureError, match="not signed"):
        verify_signature("PUT", "https://h/x", headers, b"evil", secrets, SIGNED_AT)


def vector_headers(**changes: str | None) -> dict[str, str]:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (vector_headers(Authorization=None), "missing Authorization"),
        (vector_headers(Authorization=""), "missing Authorization"),
        (vector_headers(Authorization="Bearer tok3n"), "not an SDK-HMAC-SHA256"),
        (vector_headers(Authorization="SDK-HMAC-SHA256"), "malformed"),
        (vector_headers(Authorization=AUTHORIZATION.replace("Access=", "Acess=")), "malformed"),
        (
            vector_headers(Authorization=AUTHORIZATION.replace(f", Signature={SIGNATURE}", "")),
            "missing Signature",
        ),
        (vector_headers(Authorization=AUTHORIZATION.replace(SIGNATURE, "abc")), "64 hex"),
        (vector_headers(Authorization=AUTHORIZATION.replace("host;", "host;;")), "empty name"),
        (
            vector_headers(Authorization=AUTHORIZATION.replace(AK, "UNKNOWNAK")),
            "unknown access key 'UNKNOWNAK'",
        ),
        (vector_headers(X_Sdk_Date=None), "missing X-Sdk-Date"),
        (vector_headers(X_Sdk_Date="2019-11-15T03:36:55Z"), "unparseable X-Sdk-Date"),
        (vector_headers(Content_Type="text/plain"), "signature mismatch"),
        (vector_headers(Authorization=AUTHORIZATION.replace(SIGNATURE, "0" * 64)), "signature mismatch"),
        (
            vector_headers(Authorization=AUTHORIZATION.replace("content-type;", "content-type;x-project-id;")),
            "'x-project-id' is not in the request",
        ),
    ],
)
def test_verify_failure_reasons(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureError, match=message) as caught:
        verify_signature("GET", URL, headers, b"", secrets, SIGNED_AT)
    assert SK not in str(caught.value)
    assert "tok3n" not in str(caught.value)


@pytest.mark.parametrize("offset", [timedelta(minutes=15, seconds=1), -timedelta(minutes=15, seconds=1)])
def test_verify_rejects_expired_signature(offset: timedelta) -> None:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    with pytest.raises(SignatureError, match="signature expired, signature time:20191115T033655Z"):
        verify_signature("GET", URL, headers, b"", secrets, SIGNED_AT + offset)


@pytest.mark.parametrize("offset", [timedelta(minutes=15), -timedelta(minutes=15)])
def test_verify_accepts_skew_up_to_the_limit(offset: timedelta) -> None:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    assert verify_signature("GET", URL, headers, b"", secrets, SIGNED_AT + offset) == AK


def test_verify_custom_max_skew_and_naive_now() -> None:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    naive_now = datetime(2019, 11, 15, 3, 38, 0)
    with pytest.raises(SignatureError, match="signature expired"):
        verify_signature("GET", URL, headers, b"", secrets, naive_now, max_skew=timedelta(minutes=1))
    assert verify_signature("GET", URL, headers, b"", secrets, naive_now) == AK


def test_verify_detects_wrong_secret_and_method() -> None:
    headers = {**VECTOR_HEADERS, "Authorization": AUTHORIZATION}
    with pytest.raises(SignatureError, match="signature mismatch") as caught:
        verify_signature("GET", URL, headers, b"", lambda _ak: "wrong-secret", SIGNED_AT)
    assert "wrong-secret" not in str(caught.value)
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify_signature("DELETE", URL, headers, b"", secrets, SIGNED_AT)


def test_parse_authorization() -> None:
    assert parse_authorization(AUTHORIZATION) == (AK, ["content-type", "host", "x-sdk-date"], SIGNATURE)
    compact = f"{ALGORITHM} Access={AK},SignedHeaders=host,Signature={SIGNATURE.upper()}"
    assert parse_authorization(compact) == (AK, ["host"], SIGNATURE)
    with pytest.raises(SignatureError):
        parse_authorization(AUTHORIZATION + f", Access={AK}")


# --- property ------------------------------------------------------------------------------------

_segment = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="/?#"),
    min_size=1,
    max_size=12,
)
_query_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=10)


@settings(max_examples=150, deadline=None)
@given(
    segments=st.lists(_segment, max_size=4),
    trailing_slash=st.booleans(),
    params=st.lists(st.tuples(_query_text.filter(bool), _query_text), max_size=4),
    body=st.binary(max_size=64),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    flip=st.integers(min_value=0),
)
def test_sign_then_verify_property(
    segments: list[str],
    trailing_slash: bool,
    params: list[tuple[str, str]],
    body: bytes,
    method: str,
    flip: int,
) -> None:
    path = "/" + "/".join(segments) + ("/" if trailing_slash and segments else "")
    prepared = sign(method, "https://cts.example.com" + path, params=params, data=body or None)
    assert verify(prepared) == AK
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        assert prepared.url is not None
        with pytest.raises(SignatureError, match="signature mismatch"):
            verify_signature(method, prepared.url, as_text(prepared), changed, secrets, SIGNED_AT)
