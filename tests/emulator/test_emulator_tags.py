"""Tracker tags: CTS's batch create/delete (`.../{resource_type}/{resource_id}/tags/create|delete`) and the
per-resource query, for management and data trackers."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.helpers import Api, Login, assert_error
from tests.support import BUCKET, OTHER_BUCKET

SYSTEM: dict[str, Any] = {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}}
DATA: dict[str, Any] = {
    "tracker_type": "data",
    "tracker_name": "reads",
    "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]},
}


def tags_path(tracker: dict[str, Any], action: str = "", resource_type: str = "cts-tracker") -> str:
    path = f"{resource_type}/{tracker['id']}/tags"
    return f"{path}/{action}" if action else path


def add(api: Api, login: Login, tracker: dict[str, Any], *tags: dict[str, Any]) -> requests.Response:
    return api.v3("POST", login, tags_path(tracker, "create"), {"tags": list(tags)})


def remove(api: Api, login: Login, tracker: dict[str, Any], *tags: dict[str, Any]) -> requests.Response:
    return api.v3("DELETE", login, tags_path(tracker, "delete"), {"tags": list(tags)})


def listed(api: Api, login: Login, tracker: dict[str, Any]) -> list[dict[str, str]]:
    response = api.v3("GET", login, tags_path(tracker))
    assert response.status_code == 200, response.text
    return list(response.json()["tags"])


@pytest.fixture
def login(api: Api) -> Login:
    return api.login()


@pytest.fixture
def tracker(api: Api, login: Login) -> dict[str, Any]:
    return dict(api.v3_create(login, SYSTEM).json())


def test_add_list_and_remove(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    response = add(api, login, tracker, {"key": "owner", "value": "audit"}, {"key": "env", "value": "prod"})
    assert response.status_code == 204 and response.content == b""
    assert listed(api, login, tracker) == [{"key": "env", "value": "prod"}, {"key": "owner", "value": "audit"}]

    assert remove(api, login, tracker, {"key": "env", "value": "prod"}).status_code == 204
    assert listed(api, login, tracker) == [{"key": "owner", "value": "audit"}]


def test_adding_a_known_key_replaces_its_value(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    add(api, login, tracker, {"key": "env", "value": "test"})
    add(api, login, tracker, {"key": "env", "value": "prod"}, {"key": "team"})
    assert listed(api, login, tracker) == [{"key": "env", "value": "prod"}, {"key": "team", "value": ""}]


def test_remove_by_key_or_by_key_and_value(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    add(api, login, tracker, {"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"})
    # By key alone; by key and its value; a value that differs leaves the tag; an unknown key is no error.
    response = remove(
        api, login, tracker, {"key": "a"}, {"key": "b", "value": "2"}, {"key": "c", "value": "9"}, {"key": "x"}
    )
    assert response.status_code == 204
    assert listed(api, login, tracker) == [{"key": "c", "value": "3"}]


def test_data_trackers_have_tags_of_their_own(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    data = api.v3_create(login, DATA).json()
    add(api, login, data, {"key": "team", "value": "storage"})
    assert listed(api, login, data) == [{"key": "team", "value": "storage"}]
    assert listed(api, login, tracker) == []


def test_deleting_a_tracker_deletes_its_tags(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    add(api, login, tracker, {"key": "env", "value": "prod"})
    api.v3_delete(login, tracker_name="system")
    assert_error(api.v3("GET", login, tags_path(tracker)), 404, "CTS.0214")
    again = api.v3_create(login, SYSTEM).json()
    assert listed(api, login, again) == []


def test_tags_survive_a_put(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    add(api, login, tracker, {"key": "env", "value": "prod"})
    api.v3_update(login, {**SYSTEM, "status": "disabled"})
    assert listed(api, login, tracker) == [{"key": "env", "value": "prod"}]


def test_an_unknown_tracker_is_404(api: Api, login: Login) -> None:
    ghost = {"id": "00000000-0000-4000-8000-000000000000"}
    assert_error(add(api, login, ghost, {"key": "k", "value": "v"}), 404, "CTS.0214")
    assert_error(remove(api, login, ghost, {"key": "k"}), 404, "CTS.0214")
    assert_error(api.v3("GET", login, tags_path(ghost)), 404, "CTS.0214")


def test_another_projects_tracker_is_404(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    other = api.login("eu-nl")
    assert_error(add(api, other, tracker, {"key": "k", "value": "v"}), 404, "CTS.0214")


def test_only_trackers_have_tags(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    response = api.v3("POST", login, tags_path(tracker, "create", "cts-notification"), {"tags": []})
    error = assert_error(response, 400, "CTS.0003")
    assert "cts-tracker" in error["error_msg"]


@pytest.mark.parametrize(
    ("tag", "field"),
    [
        ({"value": "v"}, "key"),
        ({"key": "", "value": "v"}, "key"),
        ({"key": "k" * 129, "value": "v"}, "key"),
        ({"key": " padded", "value": "v"}, "key"),
        ({"key": "_sys_enterprise_project_id", "value": "0"}, "key"),
        ({"key": "semi;colon", "value": "v"}, "key"),
        ({"key": "k", "value": "v" * 256}, "value"),
        ({"key": "k", "value": "padded "}, "value"),
        ({"key": "k", "value": 3}, "value"),
        ("k=v", "tags[1]"),
    ],
)
def test_invalid_tags_are_refused_and_nothing_is_stored(
    api: Api, login: Login, tracker: dict[str, Any], tag: Any, field: str
) -> None:
    error = assert_error(add(api, login, tracker, {"key": "fine", "value": "ok"}, tag), 400, "CTS.0003")
    assert field in error["error_msg"]
    assert listed(api, login, tracker) == []


def test_unicode_letters_and_the_allowed_signs(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    tag = {"key": "Kostenstelle äöü_.:/=+-@ 1", "value": "Zürich @ 42"}
    assert add(api, login, tracker, tag).status_code == 204
    assert listed(api, login, tracker) == [tag]


def test_at_most_20_tags_per_tracker(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    assert add(api, login, tracker, *({"key": f"k{i}", "value": "v"} for i in range(20))).status_code == 204
    error = assert_error(add(api, login, tracker, {"key": "one-more", "value": "v"}), 400, "CTS.0003")
    assert "20" in error["error_msg"]
    # Replacing a value is no new tag.
    assert add(api, login, tracker, {"key": "k0", "value": "w"}).status_code == 204


@pytest.mark.parametrize("body", [[], {"tags": "k"}, {"tags": {"key": "k"}}])
def test_the_body_must_hold_a_list(api: Api, login: Login, tracker: dict[str, Any], body: Any) -> None:
    error = assert_error(api.v3("POST", login, tags_path(tracker, "create"), body), 400, "CTS.0003")
    assert "tags" in error["error_msg"] or "object" in error["error_msg"]


def test_tags_are_optional(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    assert api.v3("POST", login, tags_path(tracker, "create"), {}).status_code == 204
    assert listed(api, login, tracker) == []


def test_tag_changes_are_traced(api: Api, login: Login, tracker: dict[str, Any]) -> None:
    add(api, login, tracker, {"key": "env", "value": "prod"})
    remove(api, login, tracker, {"key": "env"})
    names = api.trace_names(login, resource_id=tracker["id"])
    assert names == ["batchDeleteResourceTags", "batchCreateResourceTags", "createTracker"]
