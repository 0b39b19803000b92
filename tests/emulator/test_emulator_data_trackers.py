"""CTS v3 data trackers (Huawei Cloud): OBS data-event trackers next to the management tracker, and their rules."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts import data_tracker_schema
from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import Api, EmulatorFactory, Login, assert_error
from tests.support import BUCKET, OTHER_BUCKET

# OTHER_BUCKET is the tracked bucket, BUCKET receives the trace files.
DATA_BODY: dict[str, Any] = {
    "tracker_type": "data",
    "tracker_name": "obs-reads",
    "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ", "WRITE"]},
    "obs_info": {"bucket_name": BUCKET, "file_prefix_name": "data", "bucket_lifecycle": 60},
    "is_lts_enabled": True,
}


def _with(**changes: Any) -> dict[str, Any]:
    """DATA_BODY with top-level changes; `obs_info__x` / `data_bucket__x` change a nested field; None removes."""
    result = {**DATA_BODY, "obs_info": dict(DATA_BODY["obs_info"]), "data_bucket": dict(DATA_BODY["data_bucket"])}
    for key, value in changes.items():
        target, _, field = key.rpartition("__")
        where = result[target] if target else result
        if value is None:
            where.pop(field, None)
        else:
            where[field] = value
    return result


def _data_trackers(api: Api, login: Login) -> list[dict[str, Any]]:
    return list(api.v3_trackers(login, tracker_type="data").json()["trackers"])


def test_create_answers_the_data_tracker(api: Api) -> None:
    login = api.login()

    response = api.v3_create(login, DATA_BODY)

    assert response.status_code == 201, response.text
    tracker = response.json()
    assert (tracker["tracker_type"], tracker["tracker_name"], tracker["status"]) == ("data", "obs-reads", "enabled")
    assert tracker["data_bucket"] == {
        "data_bucket_name": OTHER_BUCKET,
        "data_event": ["READ", "WRITE"],
        "search_enabled": False,
    }
    assert tracker["obs_info"]["bucket_name"] == BUCKET and tracker["obs_info"]["bucket_lifecycle"] == 60
    assert tracker["obs_info"]["is_authorized_bucket"] is True
    assert tracker["lts"]["is_lts_enabled"] is True
    assert tracker["project_id"] == login.project_id
    assert api.v3_tracker(login, "obs-reads") == tracker


def test_without_obs_info_there_is_no_transfer(api: Api) -> None:
    tracker = api.v3_create(api.login(), _with(obs_info=None)).json()
    assert tracker["status"] == "enabled" and "detail" not in tracker
    assert (tracker["obs_info"]["bucket_name"], tracker["obs_info"]["bucket_lifecycle"]) == ("", 0)


def test_transfer_without_a_lifecycle_keeps_30_days(api: Api) -> None:
    tracker = api.v3_create(api.login(), _with(obs_info__bucket_lifecycle=None)).json()
    assert tracker["obs_info"]["bucket_lifecycle"] == 30


def test_every_documented_lifecycle_is_accepted(api: Api) -> None:
    login = api.login()
    for days in (0, 30, 60, 90, 180, 1095):
        created = api.v3_create(login, _with(obs_info__bucket_lifecycle=days))
        assert created.status_code == 201, created.text
        assert created.json()["obs_info"]["bucket_lifecycle"] == days
        assert api.v3_delete(login, tracker_name="obs-reads").status_code == 204


@pytest.mark.parametrize("name", ["a", "A" * 32, "x_y-z", "9lives"])
def test_valid_names(api: Api, name: str) -> None:
    assert api.v3_create(api.login(), _with(tracker_name=name)).status_code == 201


def test_the_provider_body_is_accepted(api: Api) -> None:
    inputs = {
        "tracker_name": "provider-made",
        "data_bucket": {"data_bucket_name": OTHER_BUCKET},
        "bucket_name": BUCKET,
        "bucket_lifecycle": 90.0,
    }
    login = api.login()

    created = api.v3_create(
        login,
        data_tracker_schema.desired_body(
            data_tracker_schema.with_defaults(inputs), create_bucket=False, with_status=False
        ),
    )
    updated = api.v3_update(
        login,
        data_tracker_schema.desired_body(
            data_tracker_schema.with_defaults({**inputs, "status": "disabled"}), create_bucket=False, with_status=True
        ),
    )

    assert created.status_code == 201, created.text
    assert updated.status_code == 200, updated.text
    assert api.v3_tracker(login, "provider-made")["status"] == "disabled"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"tracker_name": ""}, 400, "CTS.0203"),
        ({"tracker_name": None}, 400, "CTS.0203"),
        ({"tracker_name": "_hidden"}, 400, "CTS.0203"),
        ({"tracker_name": "-dash"}, 400, "CTS.0203"),
        ({"tracker_name": "a" * 33}, 400, "CTS.0203"),
        ({"tracker_name": "with space"}, 400, "CTS.0203"),
        ({"tracker_name": "dot.ted"}, 400, "CTS.0203"),
        ({"tracker_name": "system"}, 400, "CTS.0207"),
        ({"tracker_name": "system-trace"}, 400, "CTS.0207"),
        ({"data_bucket": None}, 400, "CTS.0210"),
        ({"data_bucket": {}}, 400, "CTS.0210"),
        ({"data_bucket__data_bucket_name": ""}, 400, "CTS.0210"),
        ({"data_bucket": "bucket"}, 400, "CTS.0003"),
        ({"data_bucket__data_bucket_name": "Bad_Bucket"}, 400, "CTS.0231"),
        ({"data_bucket__data_bucket_name": "missing-bucket"}, 400, "CTS.0211"),
        ({"data_bucket__data_event": None}, 400, "CTS.0225"),
        ({"data_bucket__data_event": []}, 400, "CTS.0225"),
        ({"data_bucket__data_event": ["DELETE"]}, 400, "CTS.0225"),
        ({"data_bucket__data_event": ["read"]}, 400, "CTS.0225"),
        ({"data_bucket__data_event": ["READ", "READ"]}, 400, "CTS.0225"),
        ({"data_bucket__data_event": "READ"}, 400, "CTS.0225"),
        ({"obs_info__bucket_name": OTHER_BUCKET}, 400, "CTS.0213"),
        ({"obs_info__bucket_lifecycle": 45}, 400, "CTS.0003"),
        ({"obs_info__bucket_lifecycle": "30"}, 400, "CTS.0003"),
        ({"obs_info__bucket_lifecycle": True}, 400, "CTS.0003"),
        ({"obs_info__compress_type": "zip"}, 400, "CTS.0003"),
        ({"obs_info__file_prefix_name": "a/b"}, 400, "CTS.0218"),
        ({"obs_info__bucket_name": "missing-bucket"}, 404, "CTS.0211"),
        ({"obs_info__bucket_name": BUCKET, "obs_info__is_obs_created": True}, 400, "CTS.0215"),
        ({"is_support_trace_files_encryption": True, "kms_id": "any"}, 400, "CTS.0220"),
    ],
)
def test_create_rules(api: Api, emulator: Emulator, changes: dict[str, Any], status: int, code: str) -> None:
    assert_error(api.v3_create(api.login(), _with(**changes)), status, code)
    assert emulator.control.state()["data_trackers"] == {}


def test_names_are_unique_per_project(api: Api) -> None:
    de, nl = api.login(), api.login("eu-nl")
    assert api.v3_create(de, _with(data_bucket__data_event=["READ"])).status_code == 201

    assert_error(api.v3_create(de, _with(data_bucket__data_event=["WRITE"])), 400, "CTS.0208")
    assert api.v3_create(nl, DATA_BODY).status_code == 201


def test_an_operation_on_a_bucket_is_tracked_by_one_tracker(api: Api) -> None:
    login = api.login()
    api.v3_create(login, _with(tracker_name="reads", data_bucket__data_event=["READ"]))

    both = _with(tracker_name="both", data_bucket__data_event=["WRITE", "READ"])
    error = assert_error(api.v3_create(login, both), 400, "CTS.0209")
    assert "reads" in error["error_msg"]
    assert api.v3_create(login, _with(tracker_name="writes", data_bucket__data_event=["WRITE"])).status_code == 201
    assert_error(
        api.v3_create(login, _with(tracker_name="more-writes", data_bucket__data_event=["WRITE"])), 400, "CTS.0209"
    )
    # Another bucket is free.
    other = _with(tracker_name="others", data_bucket__data_bucket_name=BUCKET, obs_info=None)
    assert api.v3_create(login, other).status_code == 201


def test_data_tracker_quota_is_100(make_emulator: EmulatorFactory) -> None:
    buckets = [f"tracked-{i:02d}" for i in range(50)]
    api = Api(make_emulator(buckets=buckets).base_url)
    login = api.login()
    for index in range(100):
        body = {
            "tracker_type": "data",
            "tracker_name": f"t{index}",
            "data_bucket": {"data_bucket_name": buckets[index // 2], "data_event": [("READ", "WRITE")[index % 2]]},
        }
        assert api.v3_create(login, body).status_code == 201

    api.session.post(f"{api.base_url}/_emulator/buckets/one-more")
    extra = {
        "tracker_type": "data",
        "tracker_name": "t100",
        "data_bucket": {"data_bucket_name": "one-more", "data_event": ["READ"]},
    }
    assert_error(api.v3_create(login, extra), 400, "CTS.0200")
    # The management tracker has its own quota.
    assert api.v3_create(login, {"tracker_type": "system", "tracker_name": "system"}).status_code == 201
    api.close()


def test_update_replaces_the_settings_and_keeps_the_tracked_bucket(api: Api) -> None:
    login = api.login()
    created = api.v3_create(login, DATA_BODY).json()

    update = {"tracker_type": "data", "tracker_name": "obs-reads", "status": "disabled"}
    response = api.v3_update(login, update)

    assert response.status_code == 200 and response.content == b""
    tracker = api.v3_tracker(login, "obs-reads")
    assert (tracker["id"], tracker["create_time"], tracker["status"]) == (
        created["id"],
        created["create_time"],
        "disabled",
    )
    assert tracker["data_bucket"] == created["data_bucket"]
    assert tracker["obs_info"]["bucket_name"] == "" and tracker["lts"]["is_lts_enabled"] is False

    events = {**update, "status": None, "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["WRITE"]}}
    assert api.v3_update(login, events).status_code == 200
    tracker = api.v3_tracker(login, "obs-reads")
    assert tracker["data_bucket"]["data_event"] == ["WRITE"] and tracker["status"] == "enabled"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"tracker_name": "nobody"}, 404, "CTS.0214"),
        ({"data_bucket__data_bucket_name": BUCKET}, 400, "CTS.0212"),
        ({"data_bucket__data_event": []}, 400, "CTS.0225"),
        ({"data_bucket__data_bucket_name": ""}, 400, "CTS.0210"),
        ({"status": "stopped"}, 400, "CTS.0205"),
        ({"obs_info__bucket_name": OTHER_BUCKET}, 400, "CTS.0213"),
        ({"obs_info__bucket_lifecycle": 7}, 400, "CTS.0003"),
        ({"is_support_trace_files_encryption": True}, 400, "CTS.0220"),
        ({"obs_info__bucket_name": "missing-bucket"}, 404, "CTS.0211"),
    ],
)
def test_update_rules(api: Api, changes: dict[str, Any], status: int, code: str) -> None:
    login = api.login()
    before = api.v3_create(login, DATA_BODY).json()

    assert_error(api.v3_update(login, _with(**changes)), status, code)
    assert api.v3_tracker(login, "obs-reads") == before


def test_update_cannot_take_an_operation_another_tracker_tracks(api: Api) -> None:
    login = api.login()
    api.v3_create(login, _with(tracker_name="reads", data_bucket__data_event=["READ"]))
    api.v3_create(login, _with(tracker_name="writes", data_bucket__data_event=["WRITE"]))

    assert_error(api.v3_update(login, _with(tracker_name="writes")), 400, "CTS.0209")
    assert api.v3_update(login, _with(tracker_name="writes", data_bucket__data_event=["WRITE"])).status_code == 200


def test_query_and_delete_by_name_and_type(api: Api) -> None:
    login = api.login()
    api.v3_create(login, {"tracker_type": "system", "tracker_name": "system"})
    api.v3_create(login, _with(tracker_name="reads", data_bucket__data_event=["READ"]))
    api.v3_create(login, _with(tracker_name="writes", data_bucket__data_event=["WRITE"]))

    assert [t["tracker_name"] for t in api.v3_trackers(login).json()["trackers"]] == ["system", "reads", "writes"]
    assert [t["tracker_name"] for t in _data_trackers(api, login)] == ["reads", "writes"]
    assert api.v3_tracker(login, "writes")["data_bucket"]["data_event"] == ["WRITE"]
    assert api.v3_trackers(login, tracker_name="reads", tracker_type="system").json() == {"trackers": []}

    assert api.v3_delete(login, tracker_name="reads").status_code == 204
    assert_error(api.v3_delete(login, tracker_name="reads"), 404, "CTS.0214")
    assert api.v3_delete(login, tracker_type="data").status_code == 204
    assert [t["tracker_name"] for t in api.v3_trackers(login).json()["trackers"]] == ["system"]
    assert_error(api.v3_delete(login, tracker_type="data"), 404, "CTS.0214")


def test_delete_without_a_name_deletes_every_tracker(api: Api) -> None:
    login = api.login()
    api.v3_create(login, {"tracker_type": "system", "tracker_name": "system"})
    api.v3_create(login, DATA_BODY)

    assert api.v3_delete(login).status_code == 204

    assert api.v3_trackers(login).json() == {"trackers": []}
    assert_error(api.v3_delete(login), 404, "CTS.0214")


def test_v1_sees_only_the_management_tracker(api: Api) -> None:
    login = api.login()
    api.v3_create(login, DATA_BODY)
    assert api.get(login, None).json() == []
    assert_error(api.get(login, "obs-reads"), 404, "CTS.0214")

    api.create(login, {"bucket_name": BUCKET})
    assert [t["tracker_name"] for t in api.get(login, None).json()] == ["system"]
    assert api.delete(login, None).status_code == 204
    assert [t["tracker_name"] for t in _data_trackers(api, login)] == ["obs-reads"]


def test_removed_transfer_bucket_shows_as_error(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.v3_create(login, DATA_BODY)
    emulator.control.remove_bucket(BUCKET)
    tracker = api.v3_tracker(login, "obs-reads")
    assert (tracker["status"], tracker["detail"]) == ("error", "noBucket")
