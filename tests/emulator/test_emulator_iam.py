"""IAM side of the emulator: password tokens, their shape and catalog, project scoping and lookup."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import pytest

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import Api, EmulatorFactory, assert_error, token_body
from tests.support import DOMAIN

ISO_MICROS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_token_answer_has_the_documented_shape(api: Api, emulator: Emulator) -> None:
    response = api.request_token(token_body("eu-de"))

    assert response.status_code == 201
    assert len(response.headers["X-Subject-Token"]) >= 32
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert ISO_MICROS_Z.fullmatch(token["expires_at"]) and ISO_MICROS_Z.fullmatch(token["issued_at"])
    assert (_parse(token["expires_at"]) - _parse(token["issued_at"])).total_seconds() == 86400
    assert token["user"]["name"] == "alice" and token["user"]["domain"]["name"] == DOMAIN
    assert re.fullmatch(r"[0-9a-f]{32}", token["user"]["domain"]["id"])
    project = token["project"]
    assert project["name"] == "eu-de"
    assert project["id"] == hashlib.sha256(b"eu-de").hexdigest()[:32]
    assert project["domain"] == {"name": DOMAIN, "id": token["user"]["domain"]["id"]}
    assert token["roles"]


def test_catalog_points_at_the_emulator(api: Api, emulator: Emulator) -> None:
    login = api.login("eu-de_audit")
    catalog = {entry["type"]: entry for entry in login.body["token"]["catalog"]}

    assert set(catalog) >= {"cts", "ctsv3", "identity"}
    cts_endpoint = catalog["cts"]["endpoints"][0]
    assert catalog["cts"]["name"] == "cts"
    assert cts_endpoint["url"] == f"{emulator.base_url}/v1.0/{login.project_id}"
    assert cts_endpoint["interface"] == "public"
    # A sub-project's region is the part of its name before the underscore.
    assert cts_endpoint["region"] == cts_endpoint["region_id"] == "eu-de"
    assert catalog["ctsv3"]["endpoints"][0]["url"] == f"{emulator.base_url}/v3/{login.project_id}"
    assert catalog["identity"]["endpoints"][0]["url"] == f"{emulator.base_url}/v3"


def test_nocatalog_leaves_the_catalog_out(api: Api) -> None:
    response = api.request_token(token_body("eu-nl"), params={"nocatalog": "1"})

    assert response.status_code == 201
    assert "catalog" not in response.json()["token"]
    assert response.json()["token"]["project"]["name"] == "eu-nl"


def test_each_login_gets_a_new_token_for_the_same_project(api: Api) -> None:
    first, second = api.login("eu-de"), api.login("eu-de")

    assert first.token != second.token
    assert first.project_id == second.project_id
    assert api.login("eu-nl").project_id != first.project_id


def test_scope_by_a_known_project_id(api: Api) -> None:
    by_name = api.login("eu-de_team")
    by_id = api.login(project_id=by_name.project_id)

    assert by_id.project_id == by_name.project_id
    assert by_id.body["token"]["project"]["name"] == "eu-de_team"


def test_scope_by_an_unknown_hex_id_registers_it(api: Api) -> None:
    project_id = "0123456789abcdef0123456789abcdef"
    login = api.login(project_id=project_id)

    assert login.project_id == project_id
    assert login.body["token"]["project"]["name"] == "eu-de_01234567"


@pytest.mark.parametrize("project_id", ["not-a-project", "0123456789ABCDEF0123456789ABCDEF", "abc"])
def test_scope_by_a_malformed_id_is_rejected(api: Api, project_id: str) -> None:
    assert_error(api.request_token(token_body(project_id=project_id)), 400, "IAM.1109")


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    body = token_body()
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"auth": "x"},
        _without(("auth", "scope")),
        _without(("auth", "identity", "password")),
        _without(("auth", "identity", "password", "user", "password")),
        _without(("auth", "identity", "password", "user", "domain")),
        {**token_body(), "auth": {**token_body()["auth"], "identity": {"methods": ["token"]}}},
    ],
    ids=["list", "auth-string", "no-scope", "no-password", "no-user-password", "no-domain", "token-method"],
)
def test_malformed_token_bodies_are_rejected(api: Api, body: Any) -> None:
    assert_error(api.request_token(body), 400, "IAM.0011")


def test_token_body_must_be_json(api: Api) -> None:
    not_json = api.session.post(
        f"{api.base_url}/v3/auth/tokens", data=b"{auth", headers={"Content-Type": "application/json"}
    )
    wrong_type = api.session.post(f"{api.base_url}/v3/auth/tokens", data=b"auth=1")

    assert_error(not_json, 400, "IAM.0011")
    assert_error(wrong_type, 400, "IAM.0011")


def test_configured_users_need_the_right_password(make_emulator: EmulatorFactory) -> None:
    api = Api(make_emulator(users={"alice": "right-password"}).base_url)

    assert_error(api.request_token(token_body(password="wrong-password")), 401, "IAM.0062")
    assert_error(api.request_token(token_body(user="mallory", password="right-password")), 401, "IAM.0062")
    assert api.request_token(token_body(password="right-password")).status_code == 201


def test_without_configured_users_any_password_works(api: Api) -> None:
    assert api.request_token(token_body(user="anyone", password="x")).status_code == 201


def test_domain_scoped_token_has_no_project_and_no_cts_access(api: Api) -> None:
    body = token_body()
    body["auth"]["scope"] = {"domain": {"name": DOMAIN}}
    response = api.request_token(body)
    assert response.status_code == 201
    token = response.json()["token"]
    assert "project" not in token and token["domain"]["name"] == DOMAIN

    project_id = api.login("eu-de").project_id
    cts = api.session.get(api.tracker_url(project_id), headers={"X-Auth-Token": response.headers["X-Subject-Token"]})
    assert_error(cts, 403, "CTS.0002")


def test_project_lookup_by_name(api: Api) -> None:
    login = api.login("eu-de")
    response = api.session.get(f"{api.base_url}/v3/projects", params={"name": "eu-de"}, headers=login.headers)

    assert response.status_code == 200
    (project,) = response.json()["projects"]
    assert project["id"] == login.project_id
    assert project["name"] == "eu-de" and project["enabled"] is True
    assert project["domain_id"] == login.body["token"]["user"]["domain"]["id"]


def test_project_lookup_needs_a_valid_token(api: Api, emulator: Emulator) -> None:
    url = f"{api.base_url}/v3/projects"
    login = api.login("eu-de")

    assert_error(api.session.get(url), 401, "IAM.0001")
    assert_error(api.session.get(url, headers={"X-Auth-Token": "not-a-token"}), 401, "IAM.0067")
    emulator.control.expire_tokens()
    assert_error(api.session.get(url, headers=login.headers), 401, "IAM.0066")
