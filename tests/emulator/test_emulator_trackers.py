"""CTS v1.0 tracker endpoints of the emulator: create, query, modify, delete and their business rules."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import SEED_REQUEST, SEED_RESPONSE_KEYS, Api, EmulatorFactory, assert_error
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET

FULL_BODY: dict[str, Any] = {
    "bucket_name": BUCKET,
    "file_prefix_name": "audit_2026.v1-x",
    "is_obs_created": False,
    "is_support_trace_files_encryption": True,
    "kms_id": KMS_KEY,
    "log_file_validate": {"is_support_validate": True},
    "lts": {"is_lts_enabled": True},
}


def test_create_with_the_seed_example_answers_the_seed_response(api: Api, emulator: Emulator) -> None:
    login = api.login()
    response = api.create(login, SEED_REQUEST)

    assert response.status_code == 201, response.text
    tracker = response.json()
    assert set(tracker) >= SEED_RESPONSE_KEYS
    assert {k: tracker[k] for k in SEED_REQUEST} == SEED_REQUEST
    assert tracker["tracker_name"] == "system" and tracker["status"] == "enabled"
    assert tracker["tracker_type"] == "system"
    assert tracker["project_id"] == login.project_id
    assert tracker["domain_id"] == login.body["token"]["user"]["domain"]["id"]
    assert tracker["lts"] == {"is_lts_enabled": False, "log_group_name": "CTS", "log_topic_name": "system-trace"}
    assert isinstance(tracker["create_time"], int) and tracker["create_time"] > 1_600_000_000_000
    assert len(tracker["id"]) == 36
    assert "detail" not in tracker
    # is_obs_created made the bucket.
    assert "obs-f1da" in [b["name"] for b in emulator.control.state()["buckets"]]


def test_create_defaults_the_optional_fields(api: Api) -> None:
    tracker = api.create(api.login(), {"bucket_name": BUCKET}).json()

    assert tracker["file_prefix_name"] == ""
    assert tracker["is_obs_created"] is False
    assert tracker["is_support_trace_files_encryption"] is False
    assert tracker["kms_id"] == ""
    assert tracker["log_file_validate"] == {"is_support_validate": False}
    assert tracker["lts"]["is_lts_enabled"] is False


def test_get_by_name_returns_the_object_and_without_name_a_list(api: Api) -> None:
    login = api.login()
    assert api.get(login, None).json() == []
    created = api.create(login, FULL_BODY).json()

    by_name = api.get(login)
    listed = api.get(login, None)

    assert by_name.status_code == 200 and by_name.json() == created
    assert listed.status_code == 200 and listed.json() == [created]


def test_get_of_a_missing_tracker_is_404(api: Api) -> None:
    login = api.login()
    assert_error(api.get(login), 404, "CTS.0214")
    api.create(login, FULL_BODY)
    assert_error(api.get(login, "other"), 404, "CTS.0214")


def test_trackers_are_per_project(api: Api) -> None:
    de, nl = api.login("eu-de"), api.login("eu-nl")
    api.create(de, FULL_BODY)

    assert api.get(nl, None).json() == []
    assert api.create(nl, FULL_BODY).status_code == 201


def test_second_create_in_a_project_is_rejected(api: Api) -> None:
    login = api.login()
    assert api.create(login, FULL_BODY).status_code == 201
    assert_error(api.create(login, {"bucket_name": OTHER_BUCKET}), 400, "CTS.0201")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"bucket_name": None}, 400, "CTS.0210"),
        ({"bucket_name": ""}, 400, "CTS.0210"),
        ({"bucket_name": 42}, 400, "CTS.0003"),
        ({"is_obs_created": "yes"}, 400, "CTS.0003"),
        ({"file_prefix_name": 7}, 400, "CTS.0003"),
        ({"log_file_validate": True}, 400, "CTS.0003"),
        ({"log_file_validate": {"is_support_validate": "true"}}, 400, "CTS.0003"),
        ({"lts": {"is_lts_enabled": 1}}, 400, "CTS.0003"),
        ({"bucket_name": "ab"}, 400, "CTS.0231"),
        ({"bucket_name": "a" * 64}, 400, "CTS.0231"),
        ({"bucket_name": "Upper-case"}, 400, "CTS.0231"),
        ({"bucket_name": "-starts-with-dash"}, 400, "CTS.0231"),
        ({"bucket_name": "192.168.1.10"}, 400, "CTS.0231"),
        ({"bucket_name": "double..dot"}, 400, "CTS.0231"),
        ({"bucket_name": "dot.-dash"}, 400, "CTS.0231"),
        ({"bucket_name": "dash-.dot"}, 400, "CTS.0231"),
        ({"bucket_name": "under_score"}, 400, "CTS.0231"),
        ({"file_prefix_name": "a" * 65}, 400, "CTS.0218"),
        ({"file_prefix_name": "with space"}, 400, "CTS.0218"),
        ({"file_prefix_name": "slash/ed"}, 400, "CTS.0218"),
        ({"kms_id": ""}, 400, "CTS.0221"),
        ({"kms_id": None}, 400, "CTS.0221"),
        ({"kms_id": "no-such-key"}, 400, "CTS.0222"),
        ({"bucket_name": "missing-bucket"}, 404, "CTS.0211"),
        ({"is_obs_created": True}, 400, "CTS.0215"),
    ],
)
def test_create_rules(api: Api, emulator: Emulator, changes: dict[str, Any], status: int, code: str) -> None:
    body = {**FULL_BODY, **changes}
    body = {k: v for k, v in body.items() if v is not None}

    error = assert_error(api.create(api.login(), body), status, code)

    if code == "CTS.0210":
        assert "bucket_name" in error["error_msg"]
    assert emulator.control.state()["trackers"] == {}


def test_valid_edge_names_are_accepted(api: Api, emulator: Emulator) -> None:
    emulator.control.add_bucket("a.b-c")
    body = {"bucket_name": "a.b-c", "file_prefix_name": "A" * 64}
    assert api.create(api.login(), body).status_code == 201


def test_kms_id_without_encryption_is_not_checked(api: Api) -> None:
    body = {**FULL_BODY, "is_support_trace_files_encryption": False, "kms_id": "not-checked"}
    assert api.create(api.login(), body).status_code == 201


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"bucket"', "application/json"),
        (b"bucket_name=x", "application/x-www-form-urlencoded"),
        (b'{"bucket_name": "audit-logs-eu"}', "text/plain"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_create_body_must_be_a_json_object(api: Api, data: bytes, content_type: str) -> None:
    login = api.login()
    response = api.session.post(
        api.tracker_url(login.project_id), data=data, headers={**login.headers, "Content-Type": content_type}
    )
    assert_error(response, 400, "CTS.0003")


def test_update_replaces_every_field(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    response = api.update(login, {"bucket_name": OTHER_BUCKET, "status": "disabled"})

    assert response.status_code == 200
    tracker = api.get(login).json()
    assert tracker["bucket_name"] == OTHER_BUCKET
    assert tracker["status"] == "disabled"
    # Fields not sent went back to their defaults: the PUT replaces, it does not merge.
    assert tracker["file_prefix_name"] == ""
    assert tracker["is_support_trace_files_encryption"] is False
    assert tracker["kms_id"] == ""
    assert tracker["log_file_validate"] == {"is_support_validate": False}
    assert tracker["lts"]["is_lts_enabled"] is False


def test_update_without_status_enables_again(api: Api) -> None:
    login = api.login()
    api.create(login, FULL_BODY)
    api.update(login, {**FULL_BODY, "status": "disabled"})

    assert api.update(login, FULL_BODY).status_code == 200
    assert api.get(login).json()["status"] == "enabled"


def test_update_keeps_identity_fields(api: Api) -> None:
    login = api.login()
    created = api.create(login, FULL_BODY).json()
    api.update(login, {**FULL_BODY, "file_prefix_name": "next"})

    tracker = api.get(login).json()
    assert tracker["file_prefix_name"] == "next"
    assert (tracker["id"], tracker["create_time"]) == (created["id"], created["create_time"])


def test_update_answers_no_body_by_default_and_the_tracker_when_configured(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    assert api.update(login, FULL_BODY).content == b""
    emulator.control.set_put_body(True)
    response = api.update(login, {**FULL_BODY, "status": "disabled"})
    assert response.status_code == 200
    assert response.json()["status"] == "disabled"


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    [
        ("audit", FULL_BODY, 400, "CTS.0204"),
        ("system", {**FULL_BODY, "status": "paused"}, 400, "CTS.0205"),
        ("system", {**FULL_BODY, "status": True}, 400, "CTS.0205"),
        ("system", {"file_prefix_name": "x"}, 400, "CTS.0210"),
        ("system", {**FULL_BODY, "bucket_name": "Bad_Name"}, 400, "CTS.0231"),
        ("system", {**FULL_BODY, "file_prefix_name": "a b"}, 400, "CTS.0218"),
        ("system", {**FULL_BODY, "kms_id": ""}, 400, "CTS.0221"),
        ("system", {**FULL_BODY, "kms_id": "unknown-key"}, 400, "CTS.0222"),
        ("system", {**FULL_BODY, "bucket_name": "missing-bucket"}, 404, "CTS.0211"),
        ("system", {**FULL_BODY, "bucket_name": OTHER_BUCKET, "is_obs_created": True}, 400, "CTS.0215"),
        ("system", {**FULL_BODY, "lts": []}, 400, "CTS.0003"),
    ],
)
def test_update_rules(api: Api, name: str, body: dict[str, Any], status: int, code: str) -> None:
    login = api.login()
    before = api.create(login, FULL_BODY).json()

    assert_error(api.update(login, body, name), status, code)
    assert api.get(login).json() == before


def test_update_of_a_missing_tracker_is_404(api: Api) -> None:
    assert_error(api.update(api.login(), FULL_BODY), 404, "CTS.0214")


def test_update_may_keep_its_own_created_bucket(api: Api) -> None:
    login = api.login()
    api.create(login, {"bucket_name": "fresh-bucket", "is_obs_created": True})

    response = api.update(login, {"bucket_name": "fresh-bucket", "is_obs_created": True, "status": "disabled"})

    assert response.status_code == 200, response.text
    assert api.get(login).json()["is_obs_created"] is True


def test_update_can_create_a_new_bucket(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    assert api.update(login, {"bucket_name": "brand-new", "is_obs_created": True}).status_code == 200
    assert "brand-new" in [b["name"] for b in emulator.control.state()["buckets"]]


def test_delete(api: Api) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    response = api.delete(login)

    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(login), 404, "CTS.0214")
    assert_error(api.delete(login), 404, "CTS.0214")


def test_delete_without_a_name_deletes_the_tracker(api: Api) -> None:
    login = api.login()
    api.create(login, FULL_BODY)
    assert_error(api.delete(login, "someone-else"), 404, "CTS.0214")
    assert api.delete(login, None).status_code == 204
    assert api.get(login, None).json() == []


def test_removed_bucket_shows_as_error_no_bucket(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    emulator.control.remove_bucket(BUCKET)
    broken = api.get(login).json()
    emulator.control.add_bucket(BUCKET)
    repaired = api.get(login).json()

    assert (broken["status"], broken["detail"]) == ("error", "noBucket")
    assert repaired["status"] == "enabled" and "detail" not in repaired


def test_obs_info_shape_nests_the_bucket_fields(make_emulator: EmulatorFactory) -> None:
    api = Api(make_emulator(response_shape="obs_info").base_url)
    login = api.login("eu-nl")

    tracker = api.create(login, {**FULL_BODY, "bucket_name": "nl-bucket", "is_obs_created": True}).json()

    assert "bucket_name" not in tracker and "is_obs_created" not in tracker
    assert tracker["obs_info"] == {
        "bucket_name": "nl-bucket",
        "file_prefix_name": FULL_BODY["file_prefix_name"],
        "is_obs_created": True,
        "is_authorized_bucket": True,
        "bucket_lifecycle": "30",
        "bucket_location": "eu-nl",
    }
    assert tracker["kms_id"] == KMS_KEY and tracker["tracker_name"] == "system"
    api.close()


def test_response_shape_can_be_switched_at_runtime(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, FULL_BODY)

    emulator.control.set_response_shape("obs_info")
    nested = api.get(login).json()
    emulator.control.set_response_shape("flat")
    flat = api.get(login).json()

    assert nested["obs_info"]["bucket_name"] == BUCKET and "bucket_name" not in nested
    assert flat["bucket_name"] == BUCKET and "obs_info" not in flat
