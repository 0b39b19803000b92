"""Tracker fields beyond the bucket: agency, organization tracker, management event selector, LTS ids (v3),
key-event notification via SMN (v1.0), and what a PUT of one API version does to the other version's fields."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import TOPIC, Api, Login, assert_error
from tests.support import BUCKET, OTHER_BUCKET

SYSTEM: dict[str, Any] = {
    "tracker_type": "system",
    "tracker_name": "system",
    "agency_name": "cts_admin_trust",
    "is_organization_tracker": True,
    "management_event_selector": {"exclude_service": ["KMS"]},
    "is_lts_enabled": True,
    "obs_info": {"bucket_name": BUCKET, "file_prefix_name": "audit", "compress_type": "json"},
}
DATA: dict[str, Any] = {
    "tracker_type": "data",
    "tracker_name": "reads",
    "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]},
}
SMN: dict[str, Any] = {
    "is_support_smn": True,
    "topic_id": TOPIC,
    "is_send_all_key_operation": False,
    "operations": ["delete", "create", "login"],
    "need_notify_user_list": ["alice", "bob"],
}


@pytest.fixture
def login(api: Api) -> Login:
    return api.login()


def test_v3_create_stores_and_answers_every_field(api: Api, login: Login) -> None:
    created = api.v3_create(login, SYSTEM)
    assert created.status_code == 201, created.text
    listed = api.v3_tracker(login)

    for tracker in (created.json(), listed):
        assert tracker["agency_name"] == "cts_admin_trust"
        assert tracker["is_organization_tracker"] is True
        assert tracker["management_event_selector"] == {"exclude_service": ["KMS"]}
        assert tracker["group_id"] and tracker["stream_id"] and tracker["group_id"] != tracker["stream_id"]
    assert (listed["group_id"], listed["stream_id"]) == (created.json()["group_id"], created.json()["stream_id"])


def test_defaults_of_the_new_fields(api: Api, login: Login) -> None:
    tracker = api.v3_create(login, {"tracker_type": "system", "tracker_name": "system"}).json()

    assert tracker["agency_name"] == "" and tracker["is_organization_tracker"] is False
    assert tracker["management_event_selector"] == {"exclude_service": []}
    # No LTS transfer, no log group or stream.
    assert (tracker["group_id"], tracker["stream_id"]) == ("", "")


def test_data_trackers_have_an_agency_but_no_management_fields(api: Api, login: Login) -> None:
    tracker = api.v3_create(login, {**DATA, "agency_name": "cts_admin_trust"}).json()

    assert tracker["agency_name"] == "cts_admin_trust"
    assert "management_event_selector" not in tracker and tracker["is_organization_tracker"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"management_event_selector": {"exclude_service": ["OBS"]}}, "exclude_service"),
        ({"management_event_selector": {"exclude_service": "KMS"}}, "exclude_service"),
        ({"management_event_selector": ["KMS"]}, "management_event_selector"),
        ({"management_event_selector": {"exclude_service": ["KMS"], "include": []}}, "management_event_selector"),
        ({"is_organization_tracker": "yes"}, "is_organization_tracker"),
        ({"agency_name": 7}, "agency_name"),
        ({"agency_name": "a" * 65}, "agency_name"),
    ],
)
def test_invalid_new_fields_are_refused(api: Api, login: Login, change: dict[str, Any], field: str) -> None:
    error = assert_error(api.v3_create(login, {**SYSTEM, **change}), 400, "CTS.0003")
    assert field in error["error_msg"]
    assert api.v3_trackers(login).json()["trackers"] == []


@pytest.mark.parametrize(
    "change",
    [{"management_event_selector": {"exclude_service": ["KMS"]}}, {"is_organization_tracker": True}],
)
def test_management_only_fields_are_refused_for_data_trackers(api: Api, login: Login, change: dict[str, Any]) -> None:
    error = assert_error(api.v3_create(login, {**DATA, **change}), 400, "CTS.0003")
    assert next(iter(change)) in error["error_msg"]


def test_v3_put_replaces_the_new_fields_too(api: Api, login: Login) -> None:
    api.v3_create(login, SYSTEM)
    update = {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}}
    assert api.v3_update(login, update).status_code == 200

    tracker = api.v3_tracker(login)
    assert tracker["agency_name"] == "" and tracker["is_organization_tracker"] is False
    assert tracker["management_event_selector"] == {"exclude_service": []}
    assert tracker["lts"]["is_lts_enabled"] is False and tracker["group_id"] == ""


def test_a_v1_put_resets_what_only_v3_can_say(api: Api, login: Login) -> None:
    api.v3_create(login, SYSTEM)
    assert api.update(login, {"bucket_name": OTHER_BUCKET, "file_prefix_name": "v1"}).status_code == 200

    tracker = api.v3_tracker(login)
    assert tracker["obs_info"]["bucket_name"] == OTHER_BUCKET and tracker["obs_info"]["file_prefix_name"] == "v1"
    # A PUT replaces the whole configuration, also what its API version has no words for.
    assert tracker["agency_name"] == "" and tracker["is_organization_tracker"] is False
    assert tracker["management_event_selector"] == {"exclude_service": []}
    assert tracker["obs_info"]["compress_type"] == "gzip"


def test_a_v3_put_resets_the_v1_smn_settings(api: Api, login: Login) -> None:
    api.create(login, {"bucket_name": BUCKET, "smn": SMN})
    api.v3_update(login, {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}})
    assert "smn" not in api.get(login).json()


# --- v1.0 ---


def test_v1_create_and_get_carry_smn_and_lts_ids(api: Api, login: Login) -> None:
    created = api.create(login, {"bucket_name": BUCKET, "smn": SMN, "lts": {"is_lts_enabled": True}})
    assert created.status_code == 201, created.text
    fetched = api.get(login).json()

    for tracker in (created.json(), fetched):
        assert tracker["smn"] == SMN
        assert tracker["group_id"] and tracker["stream_id"]


def test_v1_tracker_without_smn_has_none(api: Api, login: Login) -> None:
    assert "smn" not in api.create(login, {"bucket_name": BUCKET}).json()


def test_v1_put_replaces_smn(api: Api, login: Login) -> None:
    api.create(login, {"bucket_name": BUCKET, "smn": SMN})
    api.update(login, {"bucket_name": BUCKET, "smn": {**SMN, "operations": ["login"]}})
    assert api.get(login).json()["smn"]["operations"] == ["login"]
    api.update(login, {"bucket_name": BUCKET})
    assert "smn" not in api.get(login).json()


@pytest.mark.parametrize(
    "smn",
    [
        "on",
        {**SMN, "is_support_smn": "true"},
        {**SMN, "topic_id": "not-a-topic"},
        {**SMN, "operations": "login"},
        {**SMN, "operations": ["login", 3]},
        {**SMN, "operations": ["reboot"]},
        {**SMN, "operations": []},
        {**SMN, "is_send_all_key_operation": True},
        {**SMN, "need_notify_user_list": [f"user{i}" for i in range(51)]},
        {**SMN, "unknown": 1},
    ],
    ids=[
        "not-object",
        "flag-type",
        "topic",
        "operations-type",
        "operation-type",
        "operation-name",
        "typical-without-operations",
        "all-with-operations",
        "too-many-users",
        "unknown-field",
    ],
)
def test_invalid_smn_is_refused(api: Api, login: Login, smn: Any) -> None:
    error = assert_error(api.create(login, {"bucket_name": BUCKET, "smn": smn}), 400, "CTS.0003")
    assert "smn" in error["error_msg"]


def test_smn_switched_off_needs_no_topic(api: Api, login: Login) -> None:
    response = api.create(login, {"bucket_name": BUCKET, "smn": {"is_support_smn": False}})
    assert response.status_code == 201, response.text


def test_all_key_operations_need_no_list(api: Api, login: Login) -> None:
    smn = {"is_support_smn": True, "topic_id": TOPIC, "is_send_all_key_operation": True}
    assert api.create(login, {"bucket_name": BUCKET, "smn": smn}).status_code == 201


# --- the v1.0 PUT answer ---


def test_v1_put_answers_200_without_a_body_by_default(api: Api, login: Login) -> None:
    api.create(login, {"bucket_name": BUCKET})
    response = api.update(login, {"bucket_name": BUCKET, "file_prefix_name": "renamed"})

    assert response.status_code == 200 and response.content == b""
    assert api.get(login).json()["file_prefix_name"] == "renamed"


@pytest.mark.parametrize("shape", ["flat", "obs_info"])
def test_v1_put_echoes_the_tracker_when_configured(api: Api, login: Login, emulator: Emulator, shape: str) -> None:
    emulator.control.configure(put_body=True, response_shape=shape)
    api.create(login, {"bucket_name": BUCKET, "smn": SMN})
    response = api.update(login, {"bucket_name": OTHER_BUCKET, "status": "disabled", "smn": SMN})

    assert response.status_code == 200
    assert response.json() == api.get(login).json()
    assert response.json()["status"] == "disabled" and response.json()["smn"] == SMN


def test_the_echo_switch_is_reset(api: Api, login: Login, emulator: Emulator) -> None:
    emulator.control.configure(put_body=True)
    emulator.control.reset()
    assert emulator.control.config()["put_body"] is False
