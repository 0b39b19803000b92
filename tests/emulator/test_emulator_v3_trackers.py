"""CTS v3 management tracker endpoints: create, query, modify, delete, the tracker v1.0 shares, and quotas."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pulumi_cts import tracker_schema
from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import TOPIC, Api, assert_error
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET

SYSTEM: dict[str, Any] = {"tracker_type": "system", "tracker_name": "system"}
FULL_BODY: dict[str, Any] = {
    **SYSTEM,
    "obs_info": {
        "bucket_name": BUCKET,
        "file_prefix_name": "audit",
        "is_obs_created": False,
        "compress_type": "json",
        "is_sort_by_service": False,
    },
    "is_lts_enabled": True,
    "is_support_validate": True,
}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`body` with top-level changes; `obs_info__x=v` changes obs_info's x; None removes a key."""
    result = {**body, "obs_info": dict(body.get("obs_info") or {})}
    for key, value in changes.items():
        target, _, field = key.rpartition("__")
        where = result["obs_info"] if target == "obs_info" else result
        if value is None:
            where.pop(field, None)
        else:
            where[field] = value
    return result


def test_create_answers_the_v3_tracker_object(api: Api) -> None:
    login = api.login()

    response = api.v3_create(login, FULL_BODY)

    assert response.status_code == 201, response.text
    tracker = response.json()
    assert uuid.UUID(tracker["id"])
    assert isinstance(tracker["create_time"], int) and tracker["create_time"] > 1_600_000_000_000
    assert tracker["project_id"] == login.project_id
    assert tracker["domain_id"] == login.body["token"]["user"]["domain"]["id"]
    assert (tracker["tracker_type"], tracker["tracker_name"], tracker["status"]) == ("system", "system", "enabled")
    assert tracker["is_support_validate"] is True
    assert tracker["lts"] == {"is_lts_enabled": True, "log_group_name": "CTS", "log_topic_name": "system-trace"}
    assert tracker["obs_info"] == {
        "bucket_name": BUCKET,
        "file_prefix_name": "audit",
        "is_obs_created": False,
        "is_authorized_bucket": True,
        "bucket_lifecycle": 30,
        "compress_type": "json",
        "is_sort_by_service": False,
        "bucket_location": "eu-de",
    }
    assert (tracker["is_support_trace_files_encryption"], tracker["kms_id"]) == (False, "")
    assert "detail" not in tracker and "data_bucket" not in tracker
    assert api.v3_tracker(login) == tracker


def test_create_defaults_the_optional_fields(api: Api) -> None:
    tracker = api.v3_create(api.login(), {**SYSTEM, "obs_info": {"bucket_name": BUCKET}}).json()

    obs = tracker["obs_info"]
    assert (obs["file_prefix_name"], obs["is_obs_created"]) == ("", False)
    assert (obs["compress_type"], obs["is_sort_by_service"]) == ("gzip", True)
    assert tracker["lts"]["is_lts_enabled"] is False and tracker["is_support_validate"] is False


def test_create_without_obs_info_transfers_nowhere(api: Api) -> None:
    tracker = api.v3_create(api.login(), SYSTEM).json()

    assert tracker["status"] == "enabled" and "detail" not in tracker
    obs = tracker["obs_info"]
    assert (obs["bucket_name"], obs["is_authorized_bucket"], obs["bucket_lifecycle"]) == ("", False, 0)


def test_create_ignores_a_status(api: Api) -> None:
    assert api.v3_create(api.login(), {**FULL_BODY, "status": "disabled"}).json()["status"] == "enabled"


def test_create_with_kms_encryption_as_on_huawei_cloud(api: Api) -> None:
    body = {**FULL_BODY, "is_support_trace_files_encryption": True, "kms_id": KMS_KEY}
    tracker = api.v3_create(api.login(), body).json()
    assert (tracker["is_support_trace_files_encryption"], tracker["kms_id"]) == (True, KMS_KEY)


def test_the_provider_body_is_accepted(api: Api) -> None:
    inputs = {"api_version": "v3", "bucket_name": "made-by-put", "is_obs_created": True}
    login = api.login()

    created = api.v3_create(
        login, tracker_schema.desired_body(tracker_schema.with_defaults(inputs), create_bucket=True)
    )

    assert created.status_code == 201, created.text
    assert created.json()["obs_info"]["is_obs_created"] is True


def test_a_second_management_tracker_is_rejected(api: Api) -> None:
    login = api.login()
    assert api.v3_create(login, FULL_BODY).status_code == 201
    assert_error(api.v3_create(login, FULL_BODY), 400, "CTS.0201")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"tracker_type": None}, 400, "CTS.0202"),
        ({"tracker_type": "audit"}, 400, "CTS.0202"),
        ({"tracker_type": 1}, 400, "CTS.0202"),
        ({"tracker_name": "audit"}, 400, "CTS.0204"),
        ({"tracker_name": None}, 400, "CTS.0204"),
        ({"tracker_name": 7}, 400, "CTS.0003"),
        ({"data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]}}, 400, "CTS.0206"),
        ({"obs_info__bucket_lifecycle": 30}, 400, "CTS.0003"),
        ({"obs_info__compress_type": "zip"}, 400, "CTS.0003"),
        ({"obs_info__is_sort_by_service": "no"}, 400, "CTS.0003"),
        ({"obs_info__bucket_name": None}, 400, "CTS.0210"),
        ({"obs_info__bucket_name": "ab"}, 400, "CTS.0231"),
        ({"obs_info__bucket_name": "Upper_Case"}, 400, "CTS.0231"),
        ({"obs_info__file_prefix_name": "a b"}, 400, "CTS.0218"),
        ({"is_support_trace_files_encryption": True}, 400, "CTS.0221"),
        ({"is_support_trace_files_encryption": True, "kms_id": "unknown"}, 400, "CTS.0222"),
        ({"obs_info__bucket_name": "missing-bucket"}, 404, "CTS.0211"),
        ({"obs_info__bucket_name": OTHER_BUCKET, "obs_info__is_obs_created": True}, 400, "CTS.0215"),
        ({"obs_info": []}, 400, "CTS.0003"),
        ({"is_lts_enabled": "yes"}, 400, "CTS.0003"),
    ],
)
def test_create_rules(api: Api, emulator: Emulator, changes: dict[str, Any], status: int, code: str) -> None:
    assert_error(api.v3_create(api.login(), _with(FULL_BODY, **changes)), status, code)
    assert emulator.control.state()["trackers"] == {}


def test_create_body_must_be_a_json_object(api: Api) -> None:
    login = api.login()
    assert_error(api.v3_create(login, ["system"]), 400, "CTS.0003")
    response = api.session.post(api.v3_url(login, "tracker"), data=b"{", headers=login.headers)
    assert_error(response, 400, "CTS.0003")


def test_v1_and_v3_share_the_management_tracker(api: Api) -> None:
    login = api.login()
    created = api.v3_create(login, FULL_BODY).json()

    v1 = api.get(login).json()
    assert (v1["id"], v1["create_time"], v1["bucket_name"]) == (created["id"], created["create_time"], BUCKET)
    assert v1["log_file_validate"] == {"is_support_validate": True} and v1["file_prefix_name"] == "audit"
    assert_error(api.create(login, {"bucket_name": BUCKET}), 400, "CTS.0201")

    assert api.delete(login).status_code == 204
    assert api.v3_trackers(login).json() == {"trackers": []}

    from_v1 = api.create(login, {"bucket_name": OTHER_BUCKET, "lts": {"is_lts_enabled": True}}).json()
    v3 = api.v3_tracker(login)
    assert (v3["id"], v3["obs_info"]["bucket_name"], v3["lts"]["is_lts_enabled"]) == (from_v1["id"], OTHER_BUCKET, True)
    assert (v3["obs_info"]["compress_type"], v3["obs_info"]["is_sort_by_service"]) == ("gzip", True)
    assert_error(api.v3_create(login, FULL_BODY), 400, "CTS.0201")


def test_changes_through_one_version_show_in_the_other(api: Api) -> None:
    login = api.login()
    api.create(login, {"bucket_name": BUCKET})

    assert api.v3_update(login, {**FULL_BODY, "status": "disabled"}).status_code == 200
    assert (api.get(login).json()["status"], api.get(login).json()["file_prefix_name"]) == ("disabled", "audit")

    assert api.update(login, {"bucket_name": OTHER_BUCKET}).status_code == 200
    tracker = api.v3_tracker(login)
    assert (tracker["status"], tracker["obs_info"]["bucket_name"]) == ("enabled", OTHER_BUCKET)
    # v1.0 knows no compress_type, and a PUT replaces everything: the default again.
    assert tracker["obs_info"]["compress_type"] == "gzip"


def test_update_replaces_every_field(api: Api) -> None:
    login = api.login()
    created = api.v3_create(login, FULL_BODY).json()

    response = api.v3_update(login, {**SYSTEM, "obs_info": {"bucket_name": OTHER_BUCKET}, "status": "disabled"})

    assert response.status_code == 200 and response.content == b""
    tracker = api.v3_tracker(login)
    assert (tracker["id"], tracker["create_time"]) == (created["id"], created["create_time"])
    assert tracker["status"] == "disabled"
    assert tracker["obs_info"] | {"bucket_location": "", "is_authorized_bucket": False} == {
        "bucket_name": OTHER_BUCKET,
        "file_prefix_name": "",
        "is_obs_created": False,
        "compress_type": "gzip",
        "is_sort_by_service": True,
        "bucket_lifecycle": 30,
        "bucket_location": "",
        "is_authorized_bucket": False,
    }
    assert tracker["lts"]["is_lts_enabled"] is False and tracker["is_support_validate"] is False


def test_update_without_status_enables_and_put_body_answers_the_tracker(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.v3_create(login, FULL_BODY)
    api.v3_update(login, {**FULL_BODY, "status": "disabled"})

    emulator.control.set_put_body(True)
    response = api.v3_update(login, FULL_BODY)

    assert response.status_code == 200
    assert response.json()["status"] == "enabled"
    assert response.json() == api.v3_tracker(login)


def test_update_without_obs_info_stops_the_transfer(api: Api) -> None:
    login = api.login()
    api.v3_create(login, FULL_BODY)
    assert api.v3_update(login, SYSTEM).status_code == 200
    assert api.v3_tracker(login)["obs_info"]["bucket_name"] == ""


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"status": "paused"}, 400, "CTS.0205"),
        ({"status": False}, 400, "CTS.0205"),
        ({"tracker_name": "audit"}, 400, "CTS.0204"),
        ({"tracker_type": "other"}, 400, "CTS.0202"),
        ({"data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]}}, 400, "CTS.0206"),
        ({"obs_info__bucket_name": "missing-bucket"}, 404, "CTS.0211"),
        ({"obs_info__bucket_name": OTHER_BUCKET, "obs_info__is_obs_created": True}, 400, "CTS.0215"),
        ({"obs_info__compress_type": "bz2"}, 400, "CTS.0003"),
        ({"is_support_trace_files_encryption": True, "kms_id": "unknown"}, 400, "CTS.0222"),
    ],
)
def test_update_rules(api: Api, changes: dict[str, Any], status: int, code: str) -> None:
    login = api.login()
    before = api.v3_create(login, FULL_BODY).json()

    assert_error(api.v3_update(login, _with(FULL_BODY, **changes)), status, code)
    assert api.v3_tracker(login) == before


def test_update_of_a_missing_tracker_is_404(api: Api) -> None:
    assert_error(api.v3_update(api.login(), FULL_BODY), 404, "CTS.0214")


def test_query_always_answers_a_list(api: Api) -> None:
    login = api.login()
    assert api.v3_trackers(login).json() == {"trackers": []}
    assert api.v3_trackers(login, tracker_name="system").json() == {"trackers": []}
    created = api.v3_create(login, FULL_BODY).json()

    assert api.v3_trackers(login).json() == {"trackers": [created]}
    assert api.v3_trackers(login, tracker_name="system", tracker_type="system").json() == {"trackers": [created]}
    assert api.v3_trackers(login, tracker_name="other").json() == {"trackers": []}
    assert api.v3_trackers(login, tracker_type="data").json() == {"trackers": []}
    assert_error(api.v3_trackers(login, tracker_type="management"), 400, "CTS.0202")


def test_delete(api: Api) -> None:
    login = api.login()
    assert_error(api.v3_delete(login, tracker_name="system"), 404, "CTS.0214")
    api.v3_create(login, FULL_BODY)
    assert_error(api.v3_delete(login, tracker_name="other"), 404, "CTS.0214")
    assert_error(api.v3_delete(login, tracker_name="system", tracker_type="data"), 404, "CTS.0214")

    response = api.v3_delete(login, tracker_name="system")

    assert response.status_code == 204 and response.content == b""
    assert api.v3_trackers(login).json() == {"trackers": []}
    assert_error(api.get(login), 404, "CTS.0214")


def test_removed_bucket_shows_as_error_no_bucket(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.v3_create(login, FULL_BODY)

    emulator.control.remove_bucket(BUCKET)
    broken = api.v3_tracker(login)

    assert (broken["status"], broken["detail"]) == ("error", "noBucket")
    assert (broken["obs_info"]["is_authorized_bucket"], broken["obs_info"]["bucket_location"]) == (False, "")


def test_quotas_count_what_the_project_has(api: Api) -> None:
    login, other = api.login(), api.login("eu-nl")

    def used() -> dict[str, tuple[int, int]]:
        response = api.quotas(login)
        assert response.status_code == 200
        return {r["type"]: (r["used"], r["quota"]) for r in response.json()["resources"]}

    assert used() == {"system_tracker": (0, 1), "data_tracker": (0, 100), "smn_notification": (0, 100)}
    api.v3_create(login, FULL_BODY)
    data_bucket = {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]}
    api.v3_create(login, {"tracker_type": "data", "tracker_name": "reads", "data_bucket": data_bucket})
    api.create_notification(login, {"notification_name": "n1", "operation_type": "complete", "topic_id": TOPIC})
    api.v3_create(other, FULL_BODY)

    assert used() == {"system_tracker": (1, 1), "data_tracker": (1, 100), "smn_notification": (1, 100)}
