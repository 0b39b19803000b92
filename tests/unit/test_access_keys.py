"""TrackerProvider with an access key pair: every CTS request signed (SDK-HMAC-SHA256), no IAM token."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests_mock

from pulumi_cts import ApiError, AuthenticationError, ConfigurationError
from pulumi_cts.signing import parse_authorization, verify_signature

from .fakes import (
    AUTH_URL,
    CTS_ROOT,
    PASSWORD,
    PROJECT_ID,
    SEED_REQUEST,
    SEED_RESPONSE,
    TRACKER_URL,
    engine_inputs,
    mock_iam,
    provider,
    text_of,
)

ACCESS_KEY = "QTWAOYTTINDUT2QVKYUC"
SECRET_KEY = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
SECURITY_TOKEN = "gQpjbi1ub3J0aC00-temporary-token-value"
OTHER_PROJECT_ID = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"

AKSK_CONFIG = {
    "cts:authUrl": AUTH_URL,
    "cts:region": "eu-de",
    "cts:accessKey": ACCESS_KEY,
    "cts:secretKey": SECRET_KEY,
    "cts:endpoint": CTS_ROOT,
}
PROJECTS_URL = f"{AUTH_URL}/projects"
SEED_INPUTS = engine_inputs(**SEED_REQUEST)


def mock_projects(mock: requests_mock.Mocker) -> Any:
    def body(request: Any, context: Any) -> dict[str, Any]:
        name = request.qs["name"][0]
        project_id = PROJECT_ID if name == "eu-de" else OTHER_PROJECT_ID
        return {"projects": [{"id": project_id, "name": name, "domain_id": "d0", "enabled": True}]}

    return mock.get(PROJECTS_URL, json=body)


def verified_access_key(request: Any) -> str:
    """Check a recorded request's signature exactly as a server would; returns its access key."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return verify_signature(
        request.method,
        request.url,
        dict(request.headers),
        body,
        {ACCESS_KEY: SECRET_KEY}.get,
        datetime.now(timezone.utc),
    )


def cts_requests(mock: requests_mock.Mocker) -> list[Any]:
    return [r for r in mock.request_history if "/v1.0/" in r.url]


def test_lifecycle_signs_every_request_and_never_asks_for_a_token() -> None:
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        projects = mock_projects(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        mock.put(f"{TRACKER_URL}/system", status_code=200, json={**SEED_RESPONSE, "file_prefix_name": "new"})
        mock.delete(TRACKER_URL, status_code=204)

        instance = provider(AKSK_CONFIG)
        created = instance.create(instance.check({}, SEED_INPUTS).inputs)
        assert created.outs is not None
        read = instance.read(created.id, created.outs)
        assert read.outs is not None
        news = instance.check({}, engine_inputs(**{**SEED_REQUEST, "file_prefix_name": "new"})).inputs
        updated = instance.update(created.id, read.outs, news)
        assert updated.outs is not None
        instance.delete(created.id, updated.outs)

    assert iam.call_count == 0
    # Looked up once for the whole stack, then reused by read, update and delete.
    assert projects.call_count == 1
    assert projects.last_request.qs == {"name": ["eu-de"]}
    assert created.id == f"{PROJECT_ID}/system"
    sent = cts_requests(mock)
    assert [r.method for r in sent] == ["POST", "GET", "PUT", "DELETE"]
    for request in [*sent, projects.last_request]:
        assert verified_access_key(request) == ACCESS_KEY
        assert "X-Auth-Token" not in request.headers
        assert request.headers["X-Sdk-Date"]
        assert request.headers["Host"] == request.netloc
    for request in sent:
        assert request.headers["X-Project-Id"] == PROJECT_ID
        _access, signed_headers, _signature = parse_authorization(request.headers["Authorization"])
        assert {"host", "x-sdk-date", "x-project-id"} <= set(signed_headers)
        if request.method in ("POST", "PUT"):
            assert "content-type" in signed_headers
    assert SECRET_KEY not in text_of(created.outs) and SECRET_KEY not in text_of(updated.outs)


def test_temporary_keys_send_a_signed_security_token() -> None:
    config = {**AKSK_CONFIG, "cts:securityToken": SECURITY_TOKEN, "cts:projectId": PROJECT_ID}
    with requests_mock.Mocker() as mock:
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        instance = provider(config)
        instance.create(instance.check({}, SEED_INPUTS).inputs)

    (request,) = cts_requests(mock)
    assert request.headers["X-Security-Token"] == SECURITY_TOKEN
    assert "x-security-token" in parse_authorization(request.headers["Authorization"])[1]
    assert verified_access_key(request) == ACCESS_KEY


def test_project_id_from_config_means_no_lookup() -> None:
    with requests_mock.Mocker() as mock:
        projects = mock_projects(mock)
        post = mock.post(f"{CTS_ROOT}/v1.0/{OTHER_PROJECT_ID}/tracker", status_code=201, json=SEED_RESPONSE)
        instance = provider({**AKSK_CONFIG, "cts:projectId": OTHER_PROJECT_ID})
        result = instance.create(instance.check({}, SEED_INPUTS).inputs)

    assert projects.call_count == 0
    assert post.call_count == 1
    assert post.last_request.headers["X-Project-Id"] == OTHER_PROJECT_ID
    assert verified_access_key(post.last_request) == ACCESS_KEY
    assert result.id == f"{OTHER_PROJECT_ID}/system"


def test_project_id_from_the_environment_means_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_PROJECT_ID", OTHER_PROJECT_ID)
    with requests_mock.Mocker() as mock:
        projects = mock_projects(mock)
        get = mock.get(f"{CTS_ROOT}/v1.0/{OTHER_PROJECT_ID}/tracker", json=SEED_RESPONSE)
        result = provider(AKSK_CONFIG).read(f"{OTHER_PROJECT_ID}/system", {})

    assert projects.call_count == 0 and get.call_count == 1
    assert result.id == f"{OTHER_PROJECT_ID}/system"


def test_keys_from_the_environment_sign_with_the_default_cts_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("OS_SECRET_KEY", SECRET_KEY)
    default_url = f"https://cts.eu-de.otc.t-systems.com/v1.0/{PROJECT_ID}/tracker"
    with requests_mock.Mocker() as mock:
        mock_projects(mock)
        get = mock.get(default_url, json=SEED_RESPONSE)
        result = provider({"cts:authUrl": AUTH_URL, "cts:region": "eu-de"}).read(f"{PROJECT_ID}/system", {})

    assert get.call_count == 1
    assert verified_access_key(get.last_request) == ACCESS_KEY
    assert result.outs is not None and result.outs["bucket_name"] == "obs-f1da"


def test_per_resource_project_name_is_looked_up_with_the_same_keys() -> None:
    with requests_mock.Mocker() as mock:
        projects = mock_projects(mock)
        post = mock.post(f"{CTS_ROOT}/v1.0/{OTHER_PROJECT_ID}/tracker", status_code=201, json=SEED_RESPONSE)
        instance = provider(AKSK_CONFIG)
        inputs = instance.check({}, engine_inputs(**SEED_REQUEST, project_name="eu-de_audit")).inputs
        result = instance.create(inputs)

    assert projects.call_count == 1
    assert projects.last_request.qs == {"name": ["eu-de_audit"]}
    assert post.last_request.headers["X-Project-Id"] == OTHER_PROJECT_ID
    assert verified_access_key(post.last_request) == ACCESS_KEY
    assert result.outs is not None and result.outs["project_id"] == OTHER_PROJECT_ID


def test_unauthorized_answer_is_final_and_names_the_credential_source() -> None:
    with requests_mock.Mocker() as mock:
        mock_projects(mock)
        post = mock.post(
            TRACKER_URL,
            status_code=401,
            json={"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"},
        )
        instance = provider(AKSK_CONFIG)
        with pytest.raises(AuthenticationError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    # A signature cannot be refreshed: repeating the request would only fail again.
    assert post.call_count == 1
    message = str(caught.value)
    assert "HTTP 401" in message
    assert "stack config cts:accessKey" in message
    assert "pulumi-cts doctor" in message
    assert SECRET_KEY not in message


def test_unauthorized_answer_names_an_environment_credential_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("OS_SECRET_KEY", SECRET_KEY)
    with requests_mock.Mocker() as mock:
        get = mock.get(TRACKER_URL, status_code=401, json={"error_code": "APIGW.0301", "error_msg": "bad"})
        instance = provider({"cts:region": "eu-de", "cts:endpoint": CTS_ROOT, "cts:projectId": PROJECT_ID})
        with pytest.raises(AuthenticationError, match="environment OS_ACCESS_KEY"):
            instance.read(f"{PROJECT_ID}/system", {})
    assert get.call_count == 1


def test_rejected_project_lookup_is_final() -> None:
    with requests_mock.Mocker() as mock:
        projects = mock.get(
            PROJECTS_URL, status_code=401, json={"error": {"code": 401, "message": "signature mismatch"}}
        )
        post = mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        instance = provider(AKSK_CONFIG)
        with pytest.raises(AuthenticationError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    assert projects.call_count == 1
    assert post.call_count == 0
    assert "Looking up the project id" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)


def test_rejected_project_lookup_names_the_access_key_source() -> None:
    with requests_mock.Mocker() as mock:
        mock.get(PROJECTS_URL, status_code=401, json={"error": {"code": 401, "message": "signature mismatch"}})
        instance = provider(AKSK_CONFIG)
        with pytest.raises(AuthenticationError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    message = str(caught.value)
    assert "stack config cts:accessKey" in message
    assert "password" not in message


def test_project_lookup_finding_nothing_suggests_project_id() -> None:
    with requests_mock.Mocker() as mock:
        mock.get(PROJECTS_URL, json={"projects": []})
        instance = provider(AKSK_CONFIG)
        with pytest.raises(ApiError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)
    assert "cts:projectId" in str(caught.value)


def test_access_key_without_secret_key_fails_before_any_request() -> None:
    config = {k: v for k, v in AKSK_CONFIG.items() if k != "cts:secretKey"}
    with requests_mock.Mocker() as mock:
        instance = provider(config)
        with pytest.raises(ConfigurationError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    assert mock.request_history == []
    message = str(caught.value)
    assert "secret_key" in message and "cts:secretKey" in message and "OS_SECRET_KEY" in message


def test_access_keys_and_password_together_fail_before_any_request() -> None:
    with requests_mock.Mocker() as mock:
        instance = provider({**AKSK_CONFIG, "cts:password": PASSWORD})
        with pytest.raises(ConfigurationError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    assert mock.request_history == []
    assert "Conflict" in str(caught.value)
    assert PASSWORD not in str(caught.value) and SECRET_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"text": "<html>proxy login</html>", "headers": {"Content-Type": "text/html"}}, "content type is 'text/html'"),
        ({"json": {"projects": [{"name": "eu-de"}]}}, "projects[0].id must be present"),
        ({"json": {"projects": []}}, "0 projects"),
        ({"json": []}, "the answer must be an object"),
    ],
)
def test_a_useless_project_lookup_answer_is_a_clear_error(answer: dict[str, Any], words: str) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(PROJECTS_URL, status_code=200, **answer)
        instance = provider(AKSK_CONFIG)
        with pytest.raises(ApiError) as caught:
            instance.create(instance.check({}, SEED_INPUTS).inputs)

    assert words in str(caught.value) and "cts:projectId" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)
