"""One identity per project, whichever way a client names it first; the IAM version document; the catalog."""

from __future__ import annotations

import hashlib

import pytest
import requests

from pulumi_cts.emulator import Emulator
from pulumi_cts.signing import AkSkAuth
from tests.emulator.helpers import Api
from tests.support import DOMAIN

EU_DE_ID = hashlib.sha256(b"eu-de").hexdigest()[:32]


def test_a_region_project_named_by_id_first_is_the_region(api: Api, emulator: Emulator) -> None:
    by_id = api.login(project_id=EU_DE_ID)
    by_name = api.login("eu-de")

    assert by_id.body["token"]["project"]["name"] == "eu-de"
    assert by_name.project_id == EU_DE_ID
    assert [(p["id"], p["name"]) for p in emulator.control.state()["projects"]] == [(EU_DE_ID, "eu-de")]


def test_a_sub_project_named_by_id_first_takes_its_name_when_named(api: Api, emulator: Emulator) -> None:
    team_id = hashlib.sha256(b"eu-de_team").hexdigest()[:32]
    first = api.login(project_id=team_id)
    assert first.body["token"]["project"]["name"] == f"eu-de_{team_id[:8]}"

    by_name = api.login("eu-de_team")
    again = api.login(project_id=team_id)

    assert by_name.project_id == team_id
    assert again.body["token"]["project"]["name"] == "eu-de_team"
    assert [p["name"] for p in emulator.control.state()["projects"]] == ["eu-de_team"]


def test_a_signed_call_by_id_then_a_project_lookup_by_name(emulator: Emulator) -> None:
    auth = AkSkAuth("AKEXAMPLE", "secret", project_id=EU_DE_ID)
    tracker = requests.get(f"{emulator.base_url}/v3/{EU_DE_ID}/trackers", auth=auth, timeout=5)
    assert tracker.status_code == 200, tracker.text

    lookup = requests.get(f"{emulator.base_url}/v3/projects", params={"name": "eu-de"}, auth=auth, timeout=5)

    assert lookup.status_code == 200, lookup.text
    assert [(p["id"], p["name"]) for p in lookup.json()["projects"]] == [(EU_DE_ID, "eu-de")]


def test_a_region_lookup_then_a_token_by_id(api: Api) -> None:
    login = api.login("eu-nl")
    assert api.login(project_id=login.project_id).body["token"]["project"]["name"] == "eu-nl"


def test_identity_version_document(emulator: Emulator) -> None:
    response = requests.get(f"{emulator.base_url}/v3", timeout=5)

    assert response.status_code == 200
    version = response.json()["version"]
    assert version["status"] == "stable" and version["id"].startswith("v3.")
    assert version["links"] == [{"rel": "self", "href": f"{emulator.base_url}/v3/"}]
    assert {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"} in version["media-types"]
    assert version["updated"].endswith("Z")
    assert [r["service"] for r in emulator.control.requests()] == ["iam"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_the_version_document_is_read_only(emulator: Emulator, method: str) -> None:
    response = requests.request(method, f"{emulator.base_url}/v3", timeout=5)
    assert response.status_code == 405


def test_catalog_names_every_cts_version(api: Api, emulator: Emulator) -> None:
    login = api.login("eu-de", user="bob")
    catalog = {entry["type"]: entry["endpoints"][0]["url"] for entry in login.body["token"]["catalog"]}

    assert catalog["cts"] == f"{emulator.base_url}/v1.0/{login.project_id}"
    assert catalog["ctsv2"] == f"{emulator.base_url}/v2.0/{login.project_id}"
    assert catalog["ctsv3"] == f"{emulator.base_url}/v3/{login.project_id}"
    assert login.body["token"]["user"]["domain"]["name"] == DOMAIN
