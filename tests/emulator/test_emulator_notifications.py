"""CTS v3 key-event notifications: create, modify, query, batch delete, and their rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pulumi_cts import notification_schema
from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import TOPIC, Api, Login, assert_error

OPERATIONS = [{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker", "updateTracker"]}]
BODY: dict[str, Any] = {
    "notification_name": "key_ops",
    "operation_type": "customized",
    "operations": OPERATIONS,
    "notify_user_list": [{"user_group": "admins", "user_list": ["alice", "bob"]}],
    "topic_id": TOPIC,
    "filter": {"condition": "OR", "is_support_filter": True, "rule": ["code != 200", "trace_rating = warning"]},
}


def _with(**changes: Any) -> dict[str, Any]:
    body = {**BODY, **changes}
    return {k: v for k, v in body.items() if v is not None}


def _created(api: Api, login: Login, body: dict[str, Any]) -> dict[str, Any]:
    response = api.create_notification(login, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_answers_the_notification(api: Api) -> None:
    login = api.login()

    notification = _created(api, login, {**BODY, "status": "disabled"})

    assert uuid.UUID(notification.pop("notification_id"))
    create_time = notification.pop("create_time")
    assert isinstance(create_time, int) and create_time > 1_600_000_000_000
    assert notification == {
        **BODY,
        "notification_type": "smn",
        # A new notification is enabled whatever the body says.
        "status": "enabled",
        "project_id": login.project_id,
        "domain_id": login.body["token"]["user"]["domain"]["id"],
        "agency_name": "",
    }


def test_complete_needs_no_operations_and_filter_is_optional(api: Api) -> None:
    notification = _created(api, api.login(), _with(operation_type="complete", operations=None, filter=None))
    assert notification["operations"] == [] and "filter" not in notification


def test_the_provider_bodies_are_accepted(api: Api) -> None:
    login = api.login()
    inputs = {"notification_name": "from_provider", "operation_type": "complete", "topic_id": TOPIC}
    created = _created(api, login, notification_schema.desired_body(notification_schema.with_defaults(inputs)))

    body = notification_schema.desired_body(
        notification_schema.with_defaults({**inputs, "status": "disabled"}), notification_id=created["notification_id"]
    )
    updated = api.update_notification(login, body)

    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "disabled"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"notification_name": "bad-name"}, "CTS.0411"),
        ({"notification_name": ""}, "CTS.0411"),
        ({"notification_name": "a" * 65}, "CTS.0411"),
        ({"notification_name": None}, "CTS.0411"),
        ({"notification_name": 5}, "CTS.0411"),
        ({"operation_type": "some"}, "CTS.0003"),
        ({"operation_type": None}, "CTS.0003"),
        ({"operations": None}, "CTS.0401"),
        ({"operations": []}, "CTS.0401"),
        ({"operation_type": "complete"}, "CTS.0401"),
        ({"operations": "all"}, "CTS.0401"),
        ({"operations": ["CTS"]}, "CTS.0401"),
        ({"operations": [{"service_type": "CTS", "resource_type": "tracker"}]}, "CTS.0401"),
        ({"operations": [{"service_type": "CTS", "resource_type": "tracker", "trace_names": []}]}, "CTS.0401"),
        ({"operations": [{"service_type": "", "resource_type": "tracker", "trace_names": ["x"]}]}, "CTS.0401"),
        ({"operations": [{"service_type": "CTS", "trace_names": ["x"]}]}, "CTS.0401"),
        ({"topic_id": None}, "CTS.0402"),
        ({"topic_id": ""}, "CTS.0402"),
        ({"topic_id": "cts_alerts"}, "CTS.0402"),
        ({"topic_id": "urn:smn:eu-de:project"}, "CTS.0402"),
        ({"topic_id": 12}, "CTS.0003"),
        ({"notify_user_list": [{"user_group": f"g{i}", "user_list": []} for i in range(11)]}, "CTS.0003"),
        ({"notify_user_list": [{"user_group": "g", "user_list": [f"u{i}" for i in range(51)]}]}, "CTS.0003"),
        ({"notify_user_list": [{"user_group": "g"}]}, "CTS.0003"),
        ({"notify_user_list": {"user_group": "g", "user_list": []}}, "CTS.0003"),
        ({"filter": {"condition": "XOR", "rule": []}}, "CTS.0003"),
        ({"filter": {"rule": ["status == 200"]}}, "CTS.0003"),
        ({"filter": {"rule": ["code > 200"]}}, "CTS.0003"),
        ({"filter": {"rule": "code != 200"}}, "CTS.0003"),
        ({"filter": {"is_support_filter": "yes"}}, "CTS.0003"),
        ({"filter": {"colour": "red"}}, "CTS.0003"),
        ({"filter": ["code != 200"]}, "CTS.0003"),
    ],
)
def test_create_rules(api: Api, emulator: Emulator, changes: dict[str, Any], code: str) -> None:
    assert_error(api.create_notification(api.login(), _with(**changes)), 400, code)
    assert emulator.control.state()["notifications"] == {}


def test_limits_are_inclusive(api: Api) -> None:
    users = [{"user_group": f"g{i}", "user_list": [f"u{i}_{j}" for j in range(5)]} for i in range(10)]
    response = api.create_notification(api.login(), _with(notify_user_list=users, notification_name="a" * 64))
    assert response.status_code == 201, response.text


def test_body_must_be_a_json_object(api: Api) -> None:
    login = api.login()
    assert_error(api.create_notification(login, [BODY]), 400, "CTS.0003")
    response = api.session.post(api.v3_url(login, "notifications"), data=b"", headers=login.headers)
    assert_error(response, 400, "CTS.0003")


def test_names_are_unique_per_project(api: Api) -> None:
    de, nl = api.login(), api.login("eu-nl")
    _created(api, de, BODY)
    assert_error(api.create_notification(de, _with(operation_type="complete", operations=None)), 400, "CTS.0400")
    assert api.create_notification(nl, BODY).status_code == 201


def test_quota_is_100_per_project(api: Api) -> None:
    login = api.login()
    for index in range(100):
        assert api.create_notification(login, _with(notification_name=f"n{index}")).status_code == 201

    assert_error(api.create_notification(login, _with(notification_name="n100")), 400, "CTS.0407")
    assert api.create_notification(api.login("eu-nl"), _with(notification_name="n100")).status_code == 201


def test_update_replaces_and_keeps_identity(api: Api) -> None:
    login = api.login()
    created = _created(api, login, BODY)
    body = {
        "notification_id": created["notification_id"],
        "notification_name": "renamed",
        "operation_type": "complete",
        "status": "disabled",
    }

    response = api.update_notification(login, body)

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["notification_id"] == created["notification_id"]
    assert updated["create_time"] == created["create_time"]
    assert (updated["notification_name"], updated["status"], updated["topic_id"]) == ("renamed", "disabled", "")
    assert updated["operations"] == [] and updated["notify_user_list"] == [] and "filter" not in updated
    assert api.notifications(login).json() == {"notifications": [updated]}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"notification_id": None}, 400, "CTS.0003"),
        ({"notification_id": "0c5b7b7e-0000-4000-8000-000000000000"}, 404, "CTS.0403"),
        ({"status": None}, 400, "CTS.0205"),
        ({"status": "paused"}, 400, "CTS.0205"),
        ({"status": "enabled", "topic_id": None}, 400, "CTS.0402"),
        ({"notification_name": "other_one"}, 400, "CTS.0400"),
        ({"notification_name": "no spaces"}, 400, "CTS.0411"),
        ({"operations": []}, 400, "CTS.0401"),
    ],
)
def test_update_rules(api: Api, changes: dict[str, Any], status: int, code: str) -> None:
    login = api.login()
    created = _created(api, login, BODY)
    _created(api, login, _with(notification_name="other_one"))
    before = api.notifications(login).json()

    body = _with(**{"notification_id": created["notification_id"], "status": "enabled", **changes})
    assert_error(api.update_notification(login, body), status, code)
    assert api.notifications(login).json() == before


def test_disabled_needs_no_topic(api: Api) -> None:
    login = api.login()
    created = _created(api, login, BODY)
    body = _with(notification_id=created["notification_id"], status="disabled", topic_id=None)
    assert api.update_notification(login, body).status_code == 200


def test_query_by_type_and_name(api: Api) -> None:
    login = api.login()
    assert api.notifications(login).json() == {"notifications": []}
    first = _created(api, login, BODY)
    second = _created(api, login, _with(notification_name="second"))

    assert api.notifications(login).json() == {"notifications": [first, second]}
    assert api.notifications(login, notification_name="second").json() == {"notifications": [second]}
    assert api.notifications(login, notification_name="nobody").json() == {"notifications": []}
    assert api.notifications(api.login("eu-nl")).json() == {"notifications": []}
    assert_error(api.notifications(login, "email"), 400, "CTS.0410")


def test_batch_delete_is_all_or_nothing(api: Api) -> None:
    login = api.login()
    ids = [_created(api, login, _with(notification_name=f"n{i}"))["notification_id"] for i in range(3)]

    assert_error(api.delete_notifications(login, ids[0], "unknown-id"), 404, "CTS.0403")
    assert len(api.notifications(login).json()["notifications"]) == 3

    response = api.delete_notifications(login, ids[0], ids[2])

    assert response.status_code == 204 and response.content == b""
    assert [n["notification_id"] for n in api.notifications(login).json()["notifications"]] == [ids[1]]
    assert_error(api.delete_notifications(login, ids[0]), 404, "CTS.0403")
    assert_error(api.v3("DELETE", login, "notifications"), 400, "CTS.0003")


def test_another_projects_notification_is_not_found(api: Api) -> None:
    de, nl = api.login(), api.login("eu-nl")
    created = _created(api, de, BODY)

    assert_error(api.delete_notifications(nl, created["notification_id"]), 404, "CTS.0403")
    body = {**BODY, "notification_id": created["notification_id"], "status": "enabled"}
    assert_error(api.update_notification(nl, body), 404, "CTS.0403")
