"""Authentication in front of the emulated CTS: tokens (missing, unknown, expired, wrong project) and AK/SK."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import Api, EmulatorFactory, FakeClock, assert_error
from tests.support import BUCKET

signing = pytest.importorskip("pulumi_cts.signing")

PROJECT_ID = "0123456789abcdef0123456789abcdef"


def test_missing_token_is_401(api: Api) -> None:
    login = api.login()
    error = assert_error(api.session.get(api.tracker_url(login.project_id)), 401, "APIGW.0301")
    assert "x-auth-token not found" in error["error_msg"]


def test_unknown_token_is_401(api: Api) -> None:
    login = api.login()
    response = api.session.get(api.tracker_url(login.project_id), headers={"X-Auth-Token": "MIIforged"})
    assert_error(response, 401, "APIGW.0301")


def test_token_of_another_project_is_403(api: Api) -> None:
    de, nl = api.login("eu-de"), api.login("eu-nl")
    response = api.session.get(api.tracker_url(nl.project_id), headers=de.headers)
    assert_error(response, 403, "CTS.0002")


def test_expired_tokens_are_rejected_and_new_ones_work(api: Api, emulator: Emulator) -> None:
    login = api.login()
    assert api.get(login, None).status_code == 200

    assert emulator.control.expire_tokens() >= 1
    error = assert_error(api.get(login, None), 401, "APIGW.0301")
    assert "token expires" in error["error_msg"]
    assert api.get(api.login(), None).status_code == 200


def test_token_ttl_sets_the_expiry(make_emulator: EmulatorFactory) -> None:
    clock = FakeClock()
    api = Api(make_emulator(token_ttl=60, clock=clock).base_url)
    login = api.login()

    assert login.body["token"]["issued_at"] == "2026-11-26T10:00:00.000000Z"
    assert login.body["token"]["expires_at"] == "2026-11-26T10:01:00.000000Z"
    clock.advance(59)
    assert api.get(login, None).status_code == 200
    clock.advance(1)
    assert_error(api.get(login, None), 401, "APIGW.0301")
    api.close()


def _signed_get(
    base_url: str, access_key: str, secret_key: str, clock_offset: timedelta = timedelta()
) -> requests.Response:
    auth = signing.AkSkAuth(
        access_key,
        secret_key,
        project_id=PROJECT_ID,
        clock=lambda: datetime.now(timezone.utc) + clock_offset,
    )
    return requests.get(f"{base_url}/v1.0/{PROJECT_ID}/tracker", params={"tracker_name": "system"}, auth=auth)


def test_aksk_is_accepted_unchecked_without_configured_keys(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.base_url}/v1.0/{PROJECT_ID}/tracker",
        headers={
            "Authorization": "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=" + "0" * 64,
            "X-Sdk-Date": "20000101T000000Z",
        },
    )
    assert response.status_code == 200 and response.json() == []


def test_aksk_signature_is_verified_with_configured_keys(make_emulator: EmulatorFactory) -> None:
    base_url = make_emulator(access_keys={"AKEXAMPLE": "sk-right"}).base_url

    assert _signed_get(base_url, "AKEXAMPLE", "sk-right").status_code == 404  # passes auth: no tracker yet
    assert_error(_signed_get(base_url, "AKEXAMPLE", "sk-wrong"), 401, "APIGW.0301")
    assert_error(_signed_get(base_url, "AKUNKNOWN", "sk-right"), 401, "APIGW.0301")
    assert_error(_signed_get(base_url, "AKEXAMPLE", "sk-right", timedelta(minutes=16)), 401, "APIGW.0303")
    assert_error(_signed_get(base_url, "AKEXAMPLE", "sk-right", -timedelta(minutes=16)), 401, "APIGW.0303")


def test_aksk_signed_create_covers_the_body(make_emulator: EmulatorFactory) -> None:
    base_url = make_emulator(access_keys={"AKEXAMPLE": "sk-right"}).base_url
    auth = signing.AkSkAuth("AKEXAMPLE", "sk-right", project_id=PROJECT_ID)
    url = f"{base_url}/v1.0/{PROJECT_ID}/tracker"

    created = requests.post(url, json={"bucket_name": BUCKET}, auth=auth)
    # A body swapped after signing no longer matches the signature.
    prepared = requests.Request("POST", url, json={"bucket_name": BUCKET}, auth=auth).prepare()
    prepared.body = b'{"bucket_name": "other-bucket"}'
    prepared.headers["Content-Length"] = str(len(prepared.body))
    with requests.Session() as session:
        tampered = session.send(prepared)

    assert created.status_code == 201, created.text
    assert created.json()["project_id"] == PROJECT_ID
    assert_error(tampered, 401, "APIGW.0301")


def test_aksk_project_header_must_match_the_path(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.base_url}/v1.0/{PROJECT_ID}/tracker",
        headers={
            "Authorization": "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=" + "0" * 64,
            "X-Project-Id": "f" * 32,
        },
    )
    assert_error(response, 403, "CTS.0002")


def test_aksk_clients_can_look_up_project_ids(make_emulator: EmulatorFactory) -> None:
    base_url = make_emulator(access_keys={"AKEXAMPLE": "sk-right"}).base_url
    auth = signing.AkSkAuth("AKEXAMPLE", "sk-right")

    response = requests.get(f"{base_url}/v3/projects", params={"name": "eu-de"}, auth=auth)
    wrong = requests.get(f"{base_url}/v3/projects", params={"name": "eu-de"}, auth=signing.AkSkAuth("AKEXAMPLE", "x"))

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["projects"]] == ["eu-de"]
    assert_error(wrong, 401, "APIGW.0301")
