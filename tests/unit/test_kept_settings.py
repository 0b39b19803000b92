"""The settings a program may leave to the service: `management_event_selector`,
`is_organization_tracker`, `agency_name` and `tags` of a v3 tracker, `tags` of a data tracker and
`agency_name` of a notification. Checked with the documented rules, compared only when declared,
sent in every complete PUT with the value the resource has now when undeclared."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock

from pulumi_cts import DataTrackerProvider, NotificationProvider, TrackerProvider
from pulumi_cts.errors import ApiError

from .fakes import PROJECT_ID, engine_inputs, mock_iam, provider, unknown
from .test_v3_resources import (
    DATA_ANSWER,
    DATA_INPUTS,
    NOTIFY_ANSWER,
    NOTIFY_INPUTS,
    V3,
    V3_INPUTS,
    V3_TRACKER,
    _configure_request,
    checked,
    reasons,
)

TRACKER_ID = str(V3_TRACKER["id"])
TAGS_URL = f"{V3}/cts-tracker/{TRACKER_ID}/tags"
CONSOLE = {
    "management_event_selector": {"exclude_service": ["KMS"]},
    "is_organization_tracker": True,
    "agency_name": "cts_admin_trust",
}
V3_PROGRAM = {**V3_INPUTS, "api_version": "v3"}
TRACKER_ANSWER = {**V3_TRACKER, **CONSOLE}


# -- check ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("news", "field", "words"),
    [
        (
            {"management_event_selector": {"exclude_service": ["OBS"]}},
            "management_event_selector.exclude_service",
            "'KMS'",
        ),
        (
            {"management_event_selector": {"exclude_service": ["KMS", "KMS"]}},
            "management_event_selector.exclude_service",
            "each once",
        ),
        (
            {"management_event_selector": {"exclude_service": "KMS"}},
            "management_event_selector.exclude_service",
            "only 'KMS'",
        ),
        ({"management_event_selector": {"services": ["KMS"]}}, "management_event_selector", "only 'exclude_service'"),
        ({"management_event_selector": ["KMS"]}, "management_event_selector", "an object"),
        ({"is_organization_tracker": "yes"}, "is_organization_tracker", "boolean"),
        ({"agency_name": "my_agency"}, "agency_name", "'cts_admin_trust'"),
        ({"tags": ["env"]}, "tags", "an object of tag keys"),
        ({"tags": {" env": "prod"}}, "tags", "not starting or ending with a space"),
        ({"tags": {"a" * 129: "x"}}, "tags", "1 to 128"),
        ({"tags": {"_sys_enterprise_project_id": "0"}}, "tags", "belong to the system"),
        ({"tags": {"env": "a,b"}}, "tags.env", "0 to 255"),
        ({"tags": {"env": "x" * 256}}, "tags.env", "0 to 255"),
        ({"tags": {"env": 5.0}}, "tags.env", "0 to 255"),
    ],
)
def test_tracker_rules(news: dict[str, Any], field: str, words: str) -> None:
    found = reasons(TrackerProvider(), **{**V3_PROGRAM, **news})
    assert words in found.get(field, ""), found


def test_documented_values_pass_the_check() -> None:
    good = {**V3_PROGRAM, **CONSOLE, "tags": {"env": "prod", "cost center": "4711", "Ünïcode": "", "a:b/c": "=+-@_."}}
    assert reasons(TrackerProvider(), **good) == {}
    assert reasons(TrackerProvider(), **{**V3_PROGRAM, "management_event_selector": {"exclude_service": []}}) == {}


@pytest.mark.parametrize("name", ["management_event_selector", "is_organization_tracker", "agency_name", "tags"])
def test_the_v1_api_has_none_of_them(name: str) -> None:
    value = {**CONSOLE, "tags": {"env": "prod"}}[name]
    found = reasons(TrackerProvider(), **{**V3_INPUTS, "api_version": "v1.0", name: value})
    assert "needs api_version 'v3'" in found[name]


def test_preview_placeholders_are_not_judged() -> None:
    program = {
        **V3_PROGRAM,
        "management_event_selector": {"exclude_service": [unknown()]},
        "is_organization_tracker": unknown(),
        "agency_name": unknown(),
        "tags": {"env": unknown()},
    }
    assert reasons(TrackerProvider(), **program) == {}
    assert reasons(TrackerProvider(), **{**V3_PROGRAM, "tags": unknown()}) == {}


def test_data_tracker_and_notification_rules() -> None:
    assert "belong to the system" in reasons(DataTrackerProvider(), **DATA_INPUTS, tags={"_sys_x": "1"})["tags"]
    assert reasons(DataTrackerProvider(), **DATA_INPUTS, tags={"team": "audit"}) == {}
    assert "management_event_selector" in reasons(DataTrackerProvider(), **DATA_INPUTS, management_event_selector={})
    found = reasons(NotificationProvider(), **NOTIFY_INPUTS, agency_name="other")
    assert "'cts_admin_trust'" in found["agency_name"]
    assert reasons(NotificationProvider(), **NOTIFY_INPUTS, agency_name="cts_admin_trust") == {}


# -- diff ----------------------------------------------------------------------------------------


def outputs(**extra: Any) -> dict[str, Any]:
    return engine_inputs(**checked(TrackerProvider(), V3_PROGRAM), project_id=PROJECT_ID, region="eu-de", **extra)


def test_undeclared_settings_are_never_compared() -> None:
    prov = TrackerProvider()
    olds = outputs(**CONSOLE, tags={"env": "prod"})
    assert prov.diff(f"{PROJECT_ID}/system", olds, checked(prov, V3_PROGRAM)).changes is False


def test_declared_settings_are_compared_with_what_cts_reports() -> None:
    prov = TrackerProvider()
    olds = outputs(**CONSOLE, tags={"env": "prod"})
    same = {**V3_PROGRAM, **CONSOLE, "tags": {"env": "prod"}}
    assert prov.diff("x", olds, checked(prov, same)).changes is False
    for name, value in [
        ("management_event_selector", {"exclude_service": []}),
        ("is_organization_tracker", False),
        ("tags", {"env": "test"}),
        ("tags", {}),
    ]:
        assert prov.diff("x", olds, checked(prov, {**same, name: value})).changes is True, name
    preview = prov.diff("x", olds, checked(prov, {**same, "tags": {"env": unknown()}}))
    assert preview.changes is True and preview.replaces == []


def test_nothing_reported_is_the_same_as_none() -> None:
    # OTC's answers have no selector or organization flag: declaring "none of it" is no change.
    prov = TrackerProvider()
    olds = outputs(management_event_selector=None, is_organization_tracker=None, tags={})
    news = {**V3_PROGRAM, "management_event_selector": {"exclude_service": []}, "is_organization_tracker": False}
    assert prov.diff("x", olds, checked(prov, {**news, "tags": {}})).changes is False
    assert prov.diff("x", olds, checked(prov, {**news, "agency_name": "cts_admin_trust"})).changes is True


# -- create, read, update ------------------------------------------------------------------------


def test_create_sends_the_declared_settings_and_tags_the_new_tracker() -> None:
    prov = provider()
    program = {**V3_PROGRAM, **CONSOLE, "tags": {"env": "prod", "team": "audit"}}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/tracker", status_code=201, json=TRACKER_ANSWER)
        tag = mock.post(f"{TAGS_URL}/create", status_code=204)
        listed = mock.get(TAGS_URL, json={"tags": []})
        created = prov.create(checked(prov, program))

    body = post.last_request.json()
    assert body["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert body["is_organization_tracker"] is True and body["agency_name"] == "cts_admin_trust"
    assert tag.last_request.json() == {"tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "audit"}]}
    assert listed.call_count == 0  # a new tracker has no tags to remove
    outs = created.outs or {}
    assert outs["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert outs["is_organization_tracker"] is True and outs["agency_name"] == "cts_admin_trust"
    assert outs["tags"] == {"env": "prod", "team": "audit"}


def test_create_without_them_sends_none_of_them_and_never_calls_the_tag_api() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/tracker", status_code=201, json=V3_TRACKER)
        created = prov.create(checked(prov, V3_PROGRAM))
        made = [r.url for r in mock.request_history if "/tags" in r.url]

    assert not set(post.last_request.json()) & {*CONSOLE, "tags"}
    assert made == []
    outs = created.outs or {}
    assert outs["management_event_selector"] is None and outs["agency_name"] is None and outs.get("tags") is None


def test_an_update_carries_what_the_program_leaves_undeclared_as_the_tracker_has_it_now() -> None:
    # Set in the console after the last refresh: the state knows nothing of it, the GET does.
    prov = provider()
    olds = outputs(tracker_id=TRACKER_ID)
    news = checked(prov, {**V3_PROGRAM, "file_prefix_name": "renamed"})
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        get = mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        put = mock.put(f"{V3}/tracker", status_code=200, text="")
        updated = prov.update(f"{PROJECT_ID}/system", olds, news)

    body = put.last_request.json()
    assert body["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert body["is_organization_tracker"] is True and body["agency_name"] == "cts_admin_trust"
    assert body["obs_info"]["file_prefix_name"] == "renamed"
    assert get.call_count == 1  # the GET before the PUT also stands for the read-back
    assert [r.method for r in mock.request_history if r.url.startswith(V3)] == ["GET", "PUT"]
    outs = updated.outs or {}
    assert outs["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert outs["obs_info"]["file_prefix_name"] == "renamed" and outs["tracker_id"] == TRACKER_ID


def test_declared_values_win_over_what_the_tracker_has() -> None:
    prov = provider()
    news = checked(
        prov, {**V3_PROGRAM, "management_event_selector": {"exclude_service": []}, "is_organization_tracker": False}
    )
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        put = mock.put(f"{V3}/tracker", status_code=200, text="")
        prov.update(f"{PROJECT_ID}/system", outputs(**CONSOLE), news)

    body = put.last_request.json()
    assert body["management_event_selector"] == {"exclude_service": []}
    assert body["is_organization_tracker"] is False and body["agency_name"] == "cts_admin_trust"


def test_an_update_that_declares_every_setting_needs_no_get_before_the_put() -> None:
    prov = provider()
    news = checked(prov, {**V3_PROGRAM, **CONSOLE, "file_prefix_name": "renamed"})
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.put(f"{V3}/tracker", status_code=200, text="")
        mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        prov.update(f"{PROJECT_ID}/system", outputs(), news)
        methods = [r.method for r in mock.request_history if r.url.startswith(V3)]

    assert methods == ["PUT", "GET"]


def test_a_tracker_gone_before_the_update_is_created_again() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(f"{V3}/trackers", json={"trackers": []})
        post = mock.post(f"{V3}/tracker", status_code=201, json=V3_TRACKER)
        put = mock.put(f"{V3}/tracker", status_code=200, text="")
        updated = prov.update(f"{PROJECT_ID}/system", outputs(), checked(prov, V3_PROGRAM))

    assert post.call_count == 1 and put.call_count == 0
    assert (updated.outs or {})["tracker_id"] == TRACKER_ID


def test_changed_tags_remove_what_is_not_declared_and_add_what_is_new() -> None:
    prov = provider()
    olds = outputs(**CONSOLE, tags={"env": "prod", "old": "x"}, tracker_id=TRACKER_ID)
    news = checked(prov, {**V3_PROGRAM, **CONSOLE, "tags": {"env": "test", "team": "audit"}})
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.put(f"{V3}/tracker", status_code=200, text="")
        mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        listed = mock.get(
            TAGS_URL,
            json={
                "tags": [
                    {"key": "env", "value": "prod"},
                    {"key": "old", "value": "x"},
                    {"key": "_sys_enterprise_project_id", "value": "0"},
                ]
            },
        )
        removed = mock.delete(f"{TAGS_URL}/delete", status_code=204)
        added = mock.post(f"{TAGS_URL}/create", status_code=204)
        updated = prov.update(f"{PROJECT_ID}/system", olds, news)

    assert listed.call_count == 1
    assert removed.last_request.json() == {"tags": [{"key": "env", "value": "prod"}, {"key": "old", "value": "x"}]}
    assert added.last_request.json() == {"tags": [{"key": "env", "value": "test"}, {"key": "team", "value": "audit"}]}
    assert (updated.outs or {})["tags"] == {"env": "test", "team": "audit"}


def test_unchanged_tags_cost_no_tag_call() -> None:
    prov = provider()
    olds = outputs(**CONSOLE, tags={"env": "prod"}, tracker_id=TRACKER_ID)
    news = checked(prov, {**V3_PROGRAM, **CONSOLE, "tags": {"env": "prod"}, "file_prefix_name": "renamed"})
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.put(f"{V3}/tracker", status_code=200, text="")
        mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        updated = prov.update(f"{PROJECT_ID}/system", olds, news)
        tag_calls = [r for r in mock.request_history if "/tags" in r.url]

    assert tag_calls == [] and (updated.outs or {})["tags"] == {"env": "prod"}


def test_read_reports_the_settings_and_the_tags_only_when_declared() -> None:
    prov = provider()
    listed = [{"key": "env", "value": "prod"}, {"key": "_sys_enterprise_project_id", "value": "0"}]
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(f"{V3}/trackers", json={"trackers": [TRACKER_ANSWER]})
        tag_query = mock.get(TAGS_URL, json={"tags": listed})
        tagged = prov.read(f"{PROJECT_ID}/system", outputs(tags={"env": "old"}, tracker_id=TRACKER_ID))
        untagged = prov.read(f"{PROJECT_ID}/system", outputs(tracker_id=TRACKER_ID))

    assert tag_query.call_count == 1
    assert (tagged.outs or {})["tags"] == {"env": "prod"} and (tagged.inputs or {})["tags"] == {"env": "prod"}
    outs = untagged.outs or {}
    assert (
        outs["management_event_selector"] == {"exclude_service": ["KMS"]} and outs["agency_name"] == "cts_admin_trust"
    )
    # Refreshed inputs describe the service; a program that leaves them alone still changes nothing.
    assert (untagged.inputs or {})["agency_name"] == "cts_admin_trust" and "tags" not in (untagged.inputs or {})
    assert prov.diff(f"{PROJECT_ID}/system", engine_inputs(**outs), checked(prov, V3_PROGRAM)).changes is False


# -- DataTracker and Notification ----------------------------------------------------------------


def test_data_tracker_tags_through_the_tag_api() -> None:
    prov = DataTrackerProvider()
    prov.configure(_configure_request())
    data_tags = f"{V3}/cts-tracker/{DATA_ANSWER['id']}/tags"
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(f"{V3}/tracker", status_code=201, json=DATA_ANSWER)
        mock.get(f"{V3}/trackers", json={"trackers": [DATA_ANSWER]})
        added = mock.post(f"{data_tags}/create", status_code=204)
        created = prov.create(checked(prov, {**DATA_INPUTS, "tags": {"team": "audit"}}))
        mock.get(data_tags, json={"tags": [{"key": "team", "value": "audit"}, {"key": "env", "value": "x"}]})
        read = prov.read(created.id, engine_inputs(**(created.outs or {})))
        mock.put(f"{V3}/tracker", status_code=200, text="")
        removed = mock.delete(f"{data_tags}/delete", status_code=204)
        prov.update(
            created.id, engine_inputs(**(read.outs or {})), checked(prov, {**DATA_INPUTS, "tags": {"team": "audit"}})
        )

    assert added.last_request.json() == {"tags": [{"key": "team", "value": "audit"}]}
    assert (created.outs or {})["tags"] == {"team": "audit"}
    assert (read.outs or {})["tags"] == {"team": "audit", "env": "x"}  # one added in the console
    assert removed.last_request.json() == {"tags": [{"key": "env", "value": "x"}]}
    assert added.call_count == 1


def test_notification_agency_is_sent_and_kept() -> None:
    prov = NotificationProvider()
    prov.configure(_configure_request())
    answer = {**NOTIFY_ANSWER, "agency_name": "cts_admin_trust"}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(f"{V3}/notifications", status_code=201, json=answer)
        created = prov.create(checked(prov, {**NOTIFY_INPUTS, "agency_name": "cts_admin_trust"}))
        mock.get(f"{V3}/notifications/smn", json={"notifications": [answer]})
        put = mock.put(f"{V3}/notifications", json={**answer, "status": "disabled"})
        # The next program no longer declares the agency: the update keeps the one it has.
        updated = prov.update(
            created.id, engine_inputs(**(created.outs or {})), checked(prov, {**NOTIFY_INPUTS, "status": "disabled"})
        )

    assert post.last_request.json()["agency_name"] == "cts_admin_trust"
    assert put.last_request.json()["agency_name"] == "cts_admin_trust"
    assert (updated.outs or {})["agency_name"] == "cts_admin_trust"
    diff = prov.diff(
        created.id, engine_inputs(**(updated.outs or {})), checked(prov, {**NOTIFY_INPUTS, "status": "disabled"})
    )
    assert diff.changes is False


@pytest.mark.parametrize(
    "answer",
    [
        {**V3_TRACKER, "agency_name": "x" * 65},
        {**V3_TRACKER, "is_organization_tracker": "yes"},
        {**V3_TRACKER, "management_event_selector": {"exclude_service": ["KMS", 3]}},
        {**V3_TRACKER, "management_event_selector": "KMS"},
    ],
)
def test_a_tracker_answer_with_a_malformed_setting_is_an_error_naming_it(answer: dict[str, Any]) -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(f"{V3}/trackers", json={"trackers": [answer]})
        with pytest.raises(ApiError) as raised:
            prov.read(f"{PROJECT_ID}/system", outputs(tracker_id=TRACKER_ID))

    named = [
        name
        for name in ("agency_name", "is_organization_tracker", "management_event_selector")
        if name in str(raised.value)
    ]
    assert named, str(raised.value)


@pytest.mark.parametrize(
    "tags",
    [[{"key": "k" * 129, "value": "v"}], [{"key": "k", "value": "v" * 256}], [{"value": "v"}], [{"key": 5}], ["x"]],
)
def test_a_malformed_tag_answer_is_an_error(tags: list[Any]) -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(f"{V3}/trackers", json={"trackers": [V3_TRACKER]})
        mock.get(TAGS_URL, json={"tags": tags})
        with pytest.raises(ApiError, match="tags"):
            prov.read(f"{PROJECT_ID}/system", outputs(tags={"env": "prod"}, tracker_id=TRACKER_ID))


def test_a_create_answer_without_an_id_is_looked_up_before_tagging() -> None:
    prov = provider()
    without_id = {k: v for k, v in V3_TRACKER.items() if k != "id"}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(f"{V3}/tracker", status_code=201, json=without_id)
        get = mock.get(f"{V3}/trackers", json={"trackers": [V3_TRACKER]})
        added = mock.post(f"{TAGS_URL}/create", status_code=204)
        created = prov.create(checked(prov, {**V3_PROGRAM, "tags": {"env": "prod"}}))

    assert get.call_count == 1 and added.call_count == 1
    assert (created.outs or {})["tracker_id"] == TRACKER_ID
