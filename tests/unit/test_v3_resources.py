"""API v3: the tracker over v3, data trackers, key-event notifications and the trace query."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests_mock

from pulumi_cts import DataTrackerProvider, NotificationProvider, TrackerProvider, get_traces

from .fakes import CONFIG, CTS_ROOT, PROJECT_ID, SEED_REQUEST, engine_inputs, mock_iam, provider, unknown

V3 = f"{CTS_ROOT}/v3/{PROJECT_ID}"
V3_TRACKER = {
    "id": "ebf8d1c3-762b-4ce3-b316-6b1aa32f8be3",
    "create_time": 1587958482923,
    "domain_id": "d1",
    "project_id": PROJECT_ID,
    "tracker_type": "system",
    "tracker_name": "system",
    "status": "enabled",
    "is_support_validate": True,
    "lts": {"is_lts_enabled": False, "log_group_name": "CTS", "log_topic_name": "system-trace"},
    "obs_info": {
        "bucket_name": "obs-f1da",
        "file_prefix_name": "yO8Q",
        "is_obs_created": False,
        "is_authorized_bucket": True,
        "bucket_lifecycle": 30,
        "compress_type": "gzip",
        "is_sort_by_service": True,
        "bucket_location": "eu-de",
    },
}
V3_INPUTS = {"bucket_name": "obs-f1da", "file_prefix_name": "yO8Q", "log_file_validate": {"is_support_validate": True}}


def checked(prov: Any, news: dict[str, Any]) -> dict[str, Any]:
    result = prov.check({}, engine_inputs(**news))
    assert result.failures == [], result.failures
    return dict(result.inputs)


def reasons(prov: Any, **news: Any) -> dict[str, str]:
    return {f.property: f.reason for f in prov.check({}, engine_inputs(**news)).failures}


# -- Tracker over v3 -----------------------------------------------------------------------------


def test_v3_create_maps_fields_into_obs_info_and_exposes_the_uuid() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/tracker", status_code=201, json=V3_TRACKER)
        result = prov.create(checked(prov, {**V3_INPUTS, "api_version": "v3"}))

    assert post.last_request.json() == {
        "tracker_type": "system",
        "tracker_name": "system",
        "obs_info": {
            "bucket_name": "obs-f1da",
            "file_prefix_name": "yO8Q",
            "is_obs_created": False,
            "compress_type": "gzip",
            "is_sort_by_service": True,
        },
        "is_lts_enabled": False,
        "is_support_validate": True,
    }
    outs = result.outs or {}
    assert outs["tracker_id"] == V3_TRACKER["id"]
    assert "id" not in outs
    assert outs["obs_info"]["is_authorized_bucket"] is True
    assert outs["create_time"] == 1587958482923
    assert outs["lts"]["log_group_name"] == "CTS"
    assert result.id == f"{PROJECT_ID}/system"


def test_v3_disabled_tracker_is_disabled_by_a_follow_up_put_with_the_full_body() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(f"{V3}/tracker", status_code=201, json=V3_TRACKER)
        put = mock.put(f"{V3}/tracker", status_code=200, text="")
        get = mock.get(f"{V3}/trackers", json={"trackers": [{**V3_TRACKER, "status": "disabled"}]})
        outs = prov.create(checked(prov, {**V3_INPUTS, "api_version": "v3", "status": "disabled"})).outs or {}

    # The PUT answered without a body: the create's answer plus the complete PUT body is the state.
    assert get.call_count == 0
    assert outs["obs_info"]["is_authorized_bucket"] is True and outs["tracker_id"] == V3_TRACKER["id"]
    assert outs["lts"] == {"is_lts_enabled": False, "log_group_name": "CTS", "log_topic_name": "system-trace"}

    body = put.last_request.json()
    assert body["status"] == "disabled" and body["tracker_type"] == "system"
    assert body["obs_info"]["bucket_name"] == "obs-f1da" and body["is_support_validate"] is True
    assert outs["status"] == "disabled"


def test_v3_read_and_delete_use_the_plural_paths() -> None:
    prov = provider()
    olds = engine_inputs(**V3_INPUTS, api_version="v3", project_id=PROJECT_ID, region="eu-de")
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        get = mock.get(f"{V3}/trackers", json={"trackers": [V3_TRACKER]})
        read = prov.read(f"{PROJECT_ID}/system", olds)
        delete = mock.delete(f"{V3}/trackers", status_code=204)
        prov.delete(f"{PROJECT_ID}/system", olds)
        mock.get(f"{V3}/trackers", json={"trackers": []})
        gone = prov.read(f"{PROJECT_ID}/system", olds)

    assert get.call_count == 1 and get.last_request.qs == {"tracker_name": ["system"]}
    assert read.outs is not None and read.outs["compress_type"] == "gzip"
    assert delete.last_request.qs == {"tracker_name": ["system"]}
    assert gone.id == ""


def test_switching_api_version_is_an_in_place_update() -> None:
    prov = TrackerProvider()
    olds = engine_inputs(**SEED_REQUEST, api_version="v1.0", project_id=PROJECT_ID, project_name="eu-de")
    diff = prov.diff(f"{PROJECT_ID}/system", olds, checked(prov, {**SEED_REQUEST, "api_version": "v3"}))
    assert diff.changes is True and diff.replaces == []


def test_version_specific_fields_are_refused_by_the_other_version() -> None:
    prov = TrackerProvider()
    assert "needs api_version 'v3'" in reasons(prov, bucket_name="abc", compress_type="json")["compress_type"]
    assert "api_version" in reasons(prov, bucket_name="abc", api_version="v2")
    assert "compress_type" in reasons(prov, bucket_name="abc", api_version="v3", compress_type="zip")
    assert reasons(prov, bucket_name="abc", api_version="v3", compress_type="json", is_sort_by_service=False) == {}


def test_the_stack_wide_api_version_is_the_default() -> None:
    prov = provider({**CONFIG, "cts:apiVersion": "v3"})
    inputs = checked(prov, {"bucket_name": "abc"})
    assert inputs["api_version"] == "v3" and inputs["compress_type"] == "gzip"


# -- DataTracker ---------------------------------------------------------------------------------

DATA_INPUTS = {
    "tracker_name": "orders-audit",
    "data_bucket": {"data_bucket_name": "orders-data", "data_event": ["WRITE", "READ"]},
    "bucket_name": "orders-trace",
    "bucket_lifecycle": 30.0,  # numbers arrive from the engine as floats
}
DATA_ANSWER = {
    "id": "5b5b1e4a-6f1e-4f3a-9b86-0a9f0e0e0e0e",
    "tracker_type": "data",
    "tracker_name": "orders-audit",
    "status": "enabled",
    "data_bucket": {"data_bucket_name": "orders-data", "data_event": ["READ", "WRITE"], "search_enabled": False},
    "obs_info": {
        "bucket_name": "orders-trace",
        "file_prefix_name": "",
        "bucket_lifecycle": 30,
        "compress_type": "gzip",
    },
}


@pytest.mark.parametrize(
    ("news", "field", "words"),
    [
        ({"tracker_name": "system"}, "tracker_name", "reserved"),
        ({"tracker_name": "-bad"}, "tracker_name", "1 to 32"),
        (
            {"data_bucket": {"data_bucket_name": "orders-data", "data_event": ["DELETE"]}},
            "data_bucket.data_event",
            "READ",
        ),
        ({"data_bucket": {"data_event": ["READ"]}}, "data_bucket.data_bucket_name", "required"),
        ({"bucket_lifecycle": 31.0}, "bucket_lifecycle", "1095"),
        ({"bucket_name": "orders-data"}, "bucket_name", "cannot be the tracked bucket"),
        ({"bucket_name": None, "file_prefix_name": "x"}, "file_prefix_name", "needs bucket_name"),
    ],
)
def test_data_tracker_rules(news: dict[str, Any], field: str, words: str) -> None:
    found = reasons(DataTrackerProvider(), **{**DATA_INPUTS, **news})
    assert words in found[field]


def test_data_tracker_lifecycle() -> None:
    prov = DataTrackerProvider()
    prov.configure(_configure_request())
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/tracker", status_code=201, json=DATA_ANSWER)
        get = mock.get(f"{V3}/trackers", json={"trackers": [DATA_ANSWER]})
        created = prov.create(checked(prov, DATA_INPUTS))
        delete = mock.delete(f"{V3}/trackers", status_code=204)
        prov.delete(created.id, engine_inputs(**(created.outs or {})))

    body = post.last_request.json()
    assert body["tracker_type"] == "data" and body["tracker_name"] == "orders-audit"
    assert body["data_bucket"] == {"data_bucket_name": "orders-data", "data_event": ["READ", "WRITE"]}
    assert body["obs_info"]["bucket_lifecycle"] == 30 and isinstance(body["obs_info"]["bucket_lifecycle"], int)
    assert get.last_request.qs == {"tracker_name": ["orders-audit"], "tracker_type": ["data"]}
    assert created.id == f"{PROJECT_ID}/orders-audit"
    assert (created.outs or {})["tracker_id"] == DATA_ANSWER["id"]
    assert delete.last_request.qs == {"tracker_name": ["orders-audit"], "tracker_type": ["data"]}


def test_data_tracker_replaces_on_a_new_tracked_bucket_or_name_only() -> None:
    prov = DataTrackerProvider()
    olds = engine_inputs(**{**DATA_INPUTS, "bucket_lifecycle": 30}, project_id=PROJECT_ID, project_name="eu-de")
    same = prov.diff(f"{PROJECT_ID}/orders-audit", olds, checked(prov, DATA_INPUTS))
    assert same.changes is False and same.replaces == []
    moved = {**DATA_INPUTS, "data_bucket": {"data_bucket_name": "other-data"}}
    assert prov.diff("x", olds, checked(prov, moved)).replaces == ["data_bucket"]
    renamed = prov.diff("x", olds, checked(prov, {**DATA_INPUTS, "tracker_name": "renamed"}))
    assert renamed.replaces == ["tracker_name"]
    transfer = prov.diff("x", olds, checked(prov, {**DATA_INPUTS, "bucket_name": "new-trace"}))
    assert transfer.changes is True and transfer.replaces == []
    preview = prov.diff("x", olds, checked(prov, {**DATA_INPUTS, "tracker_name": unknown()}))
    assert preview.replaces == ["tracker_name"]


# -- Notification --------------------------------------------------------------------------------

TOPIC = f"urn:smn:eu-de:{PROJECT_ID}:cts-alerts"
NOTIFY_INPUTS = {
    "notification_name": "tracker_changes",
    "operation_type": "customized",
    "operations": [{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}],
    "topic_id": TOPIC,
}
NOTIFY_ANSWER = {**NOTIFY_INPUTS, "notification_id": "n-1", "notification_type": "smn", "status": "enabled"}


@pytest.mark.parametrize(
    ("news", "field", "words"),
    [
        ({"notification_name": "has space"}, "notification_name", "letters"),
        ({"operation_type": "complete"}, "operations", "only with operation_type 'customized'"),
        ({"operations": []}, "operations", "at least one"),
        ({"topic_id": None}, "topic_id", "required while the notification is enabled"),
        ({"topic_id": "arn:aws:sns:x"}, "topic_id", "urn:smn"),
        ({"filter": {"condition": "XOR"}}, "filter.condition", "'AND' or 'OR'"),
        ({"filter": {"rule": ["code > 200"]}}, "filter.rule[0]", "FIELD = VALUE"),
        ({"notify_user_list": [{"user_group": "g", "user_list": ["u"] * 51}]}, "notify_user_list", "50 users"),
        (
            {"operations": [{"service_type": "cts", "resource_type": "tracker", "trace_names": ["x"]}]},
            "operations[0].service_type",
            "upper-case",
        ),
    ],
)
def test_notification_rules(news: dict[str, Any], field: str, words: str) -> None:
    found = reasons(NotificationProvider(), **{**NOTIFY_INPUTS, **news})
    assert words in found[field], found


def test_disabled_notification_needs_no_topic() -> None:
    assert reasons(NotificationProvider(), **{**NOTIFY_INPUTS, "topic_id": None, "status": "disabled"}) == {}


def test_notification_lifecycle() -> None:
    prov = NotificationProvider()
    prov.configure(_configure_request())
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/notifications", status_code=201, json=NOTIFY_ANSWER)
        created = prov.create(checked(prov, NOTIFY_INPUTS))
        # The update reads the notification first: a setting left to the service keeps its value.
        mock.get(f"{V3}/notifications/smn", json={"notifications": [NOTIFY_ANSWER]})
        put = mock.put(f"{V3}/notifications", json={**NOTIFY_ANSWER, "status": "disabled"})
        updated = prov.update(
            created.id, engine_inputs(**(created.outs or {})), checked(prov, {**NOTIFY_INPUTS, "status": "disabled"})
        )
        mock.get(f"{V3}/notifications/smn", json={"notifications": [{**NOTIFY_ANSWER, "notification_id": "other"}]})
        gone = prov.read(created.id, engine_inputs(**(updated.outs or {})))
        delete = mock.delete(f"{V3}/notifications", status_code=404, json={"error_code": "CTS.0403", "error_msg": "x"})
        prov.delete(created.id, engine_inputs(**(updated.outs or {})))

    assert "status" not in post.last_request.json()
    assert created.id == f"{PROJECT_ID}/n-1"
    assert put.last_request.json()["notification_id"] == "n-1" and put.last_request.json()["status"] == "disabled"
    assert (updated.outs or {})["status"] == "disabled"
    assert gone.id == ""
    assert delete.last_request.qs == {"notification_id": ["n-1"]}


# -- get_traces ----------------------------------------------------------------------------------


def _configure_request() -> Any:
    from pulumi.dynamic import Config, ConfigureRequest

    return ConfigureRequest(Config(dict(CONFIG), "demo"))


def test_get_traces_pages_until_the_limit_with_the_marker() -> None:
    pages = [
        {"traces": [{"trace_id": f"t{i}"} for i in range(200)], "meta_data": {"count": 200, "marker": "t199"}},
        {"traces": [{"trace_id": "t200"}, {"trace_id": "t201"}], "meta_data": {"count": 2, "marker": None}},
    ]
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        route = mock.get(f"{V3}/traces", [{"json": page} for page in pages])
        result = get_traces(limit=250, service_type="CTS", trace_rating="warning", config=CONFIG.get)

    assert [t["trace_id"] for t in result.traces][-2:] == ["t200", "t201"]
    assert len(result.traces) == 202 and result.marker is None
    first, second = route.request_history
    assert first.qs["limit"] == ["200"] and "service_type=CTS" in first.url and "next" not in first.qs
    assert second.qs["next"] == ["t199"] and second.qs["limit"] == ["50"]
    assert result.latest == {"trace_id": "t0"}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"limit": 0}, "limit"),
        ({"trace_rating": "bad"}, "trace_rating"),
        ({"trace_type": "bogus"}, r"trace_type must be one of system, data, got 'bogus'"),
        ({"from_time": 1700000000000}, "together"),
        ({"from_time": "yesterday"}, r"from_time must be a timezone-aware datetime or a 13-digit .*'yesterday'"),
        ({"from_time": "yesterday", "to_time": 1700000000000}, r"from_time must be"),
        ({"from_time": 1700000000000, "to_time": 1700000000}, r"to_time must be .*13-digit.*1700000000"),
        ({"from_time": datetime(2026, 11, 1), "to_time": 1700000000000}, "from_time must be a timezone-aware"),
        ({"from_time": 1700000000001, "to_time": 1700000000000}, "from_time must be before to_time"),
    ],
)
def test_get_traces_refuses_bad_arguments_before_any_call(kwargs: dict[str, Any], words: str) -> None:
    with requests_mock.Mocker() as mock, pytest.raises(ValueError, match=words):
        get_traces(config=CONFIG.get, **kwargs)
    assert mock.request_history == []


def test_get_traces_sends_valid_times_as_milliseconds() -> None:
    start = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        route = mock.get(f"{V3}/traces", json={"traces": [], "meta_data": {"count": 0}})
        get_traces(trace_type="data", from_time=start, to_time=1796000400000, config=CONFIG.get)
    (request,) = route.request_history
    assert request.qs["trace_type"] == ["data"]
    assert request.qs["from"] == ["1795996800000"] and request.qs["to"] == ["1796000400000"]
