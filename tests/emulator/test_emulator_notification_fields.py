"""Key-event notifications: the agency CTS acts through, and FunctionGraph targets (`fun`) next to SMN topics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import TOPIC, Api, Login, assert_error

FUNCTION = "urn:fss:eu-de:0123456789abcdef0123456789abcdef:function:default:on_delete:latest"
BASE: dict[str, Any] = {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC}


@pytest.fixture
def login(api: Api) -> Login:
    return api.login()


def test_agency_name_is_stored_and_answered(api: Api, login: Login) -> None:
    created = api.create_notification(login, {**BASE, "agency_name": "cts_admin_trust"}).json()
    assert created["agency_name"] == "cts_admin_trust"
    (listed,) = api.notifications(login).json()["notifications"]
    assert listed["agency_name"] == "cts_admin_trust"


def test_a_put_replaces_the_agency(api: Api, login: Login) -> None:
    created = api.create_notification(login, {**BASE, "agency_name": "cts_admin_trust"}).json()
    update = {**BASE, "notification_id": created["notification_id"], "status": "enabled"}
    assert api.update_notification(login, update).json()["agency_name"] == ""


def test_agency_name_defaults_to_empty(api: Api, login: Login) -> None:
    assert api.create_notification(login, BASE).json()["agency_name"] == ""


@pytest.mark.parametrize("agency", [3, "a" * 65])
def test_invalid_agency_name_is_refused(api: Api, login: Login, agency: Any) -> None:
    error = assert_error(api.create_notification(login, {**BASE, "agency_name": agency}), 400, "CTS.0003")
    assert "agency_name" in error["error_msg"]


def test_a_function_urn_makes_a_fun_notification(api: Api, login: Login) -> None:
    api.create_notification(login, BASE)
    created = api.create_notification(login, {**BASE, "notification_name": "to_function", "topic_id": FUNCTION})
    assert created.status_code == 201, created.text
    assert created.json()["notification_type"] == "fun"

    fun = api.notifications(login, "fun").json()["notifications"]
    smn = api.notifications(login, "smn").json()["notifications"]
    assert [n["notification_name"] for n in fun] == ["to_function"]
    assert [n["notification_name"] for n in smn] == ["ops"]


def test_a_put_can_move_a_notification_to_a_function(api: Api, login: Login) -> None:
    created = api.create_notification(login, BASE).json()
    update = {**BASE, "notification_id": created["notification_id"], "status": "enabled", "topic_id": FUNCTION}
    assert api.update_notification(login, update).json()["notification_type"] == "fun"
    assert api.notifications(login, "smn").json()["notifications"] == []


@pytest.mark.parametrize(
    "topic", ["urn:fss:eu-de:0123456789abcdef0123456789abcdef", "urn:fss:eu-de:proj:function:default:na me"]
)
def test_malformed_function_urns_are_refused(api: Api, login: Login, topic: str) -> None:
    assert_error(api.create_notification(login, {**BASE, "topic_id": topic}), 400, "CTS.0402")


def test_other_notification_types_are_refused(api: Api, login: Login) -> None:
    error = assert_error(api.notifications(login, "email"), 400, "CTS.0410")
    assert "smn" in error["error_msg"] and "fun" in error["error_msg"]
