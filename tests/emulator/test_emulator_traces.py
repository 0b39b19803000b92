"""CTS v3 traces: what the emulator records for the calls it serves, the query filters, paging and retention."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import TOPIC, Api, EmulatorFactory, FakeClock, Login, assert_error, token_body
from tests.support import BUCKET, DOMAIN

SYSTEM_BODY: dict[str, Any] = {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}}
NOTIFICATION: dict[str, Any] = {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC}


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _ago(**delta: float) -> int:
    return int((datetime.now(timezone.utc) - timedelta(**delta)).timestamp() * 1000)


def _page(api: Api, login: Login, **params: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = api.traces(login, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"traces", "meta_data"}
    assert body["meta_data"]["count"] == len(body["traces"])
    return body["traces"], body["meta_data"]


def test_every_mutating_call_is_recorded_newest_first(api: Api) -> None:
    login = api.login()
    api.v3_create(login, SYSTEM_BODY)
    api.update(login, {"bucket_name": BUCKET})
    notification = api.create_notification(login, NOTIFICATION).json()
    update = {**NOTIFICATION, "notification_id": notification["notification_id"], "status": "disabled"}
    api.update_notification(login, update)
    api.delete_notifications(login, notification["notification_id"])
    api.v3_delete(login, tracker_name="system")
    # Reads are not recorded.
    api.v3_trackers(login)
    api.notifications(login)
    api.quotas(login)

    assert api.trace_names(login) == [
        "deleteTracker",
        "deleteNotification",
        "updateNotification",
        "createNotification",
        "updateTracker",
        "createTracker",
        "login",
    ]


def test_a_tracker_trace_in_detail(api: Api) -> None:
    login = api.login()
    before = _ago()
    response = api.v3_create(login, SYSTEM_BODY)
    after = _ago()

    (trace,) = _page(api, login, trace_name="createTracker")[0]

    assert uuid.UUID(trace.pop("trace_id"))
    moment, recorded = trace.pop("time"), trace.pop("record_time")
    assert before <= moment <= after and recorded == moment
    user = login.body["token"]["user"]
    assert json.loads(trace.pop("request")) == SYSTEM_BODY
    assert json.loads(trace.pop("response")) == response.json()
    assert trace.pop("user") == {
        "id": user["id"],
        "name": "alice",
        "user_name": "alice",
        "domain": {"id": user["domain"]["id"], "name": DOMAIN},
        "account_id": user["domain"]["id"],
        "access_key_id": "",
        "principal_urn": f"iam::{user['domain']['id']}:user:alice",
        "principal_id": user["id"],
        "principal_is_root_user": "false",
        "type": "User",
        "invoked_by": [],
        "session_context": {
            "attributes": {"created_at": login.body["token"]["issued_at"], "mfa_authenticated": "false"}
        },
    }
    assert trace == {
        "trace_name": "createTracker",
        "trace_rating": "normal",
        "trace_type": "ApiCall",
        "service_type": "CTS",
        "resource_type": "tracker",
        "resource_id": response.json()["id"],
        "resource_name": "system",
        "source_ip": "127.0.0.1",
        "request_id": response.headers["X-Request-Id"],
        "code": "201",
        "api_version": "v3",
        "message": "",
        "location_info": "",
        "endpoint": api.base_url,
        "resource_url": f"/v3/{login.project_id}/trackers?tracker_name=system",
        "enterprise_project_id": "0",
        "resource_account_id": "",
        "read_only": False,
        "operation_id": "CreateTracker",
    }


def test_login_and_delete_traces(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, {"bucket_name": BUCKET})
    api.delete(login)
    domain_scoped = {**token_body(), "auth": {**token_body()["auth"], "scope": {"domain": {"name": DOMAIN}}}}
    assert api.request_token(domain_scoped).status_code == 201

    deleted, created, logged_in = _page(api, login)[0]

    assert (logged_in["trace_name"], logged_in["service_type"], logged_in["resource_type"]) == ("login", "IAM", "user")
    assert (logged_in["resource_id"], logged_in["resource_name"]) == (login.body["token"]["user"]["id"], "alice")
    assert (logged_in["code"], logged_in["api_version"]) == ("201", "v3")
    assert (created["api_version"], created["trace_rating"]) == ("v1.0", "normal")
    assert (deleted["trace_name"], deleted["trace_rating"], deleted["code"]) == ("deleteTracker", "warning", "204")
    # A domain-scoped token has no project to record into.
    assert emulator.control.state()["traces"] == 3


def test_failed_and_faulted_calls_leave_no_trace(api: Api, emulator: Emulator) -> None:
    login = api.login()
    assert_error(api.v3_create(login, {**SYSTEM_BODY, "tracker_name": "other"}), 400, "CTS.0204")
    emulator.control.add_fault(service="cts", method="POST", status=500, times=1)
    assert api.create_notification(login, NOTIFICATION).status_code == 500

    assert api.trace_names(login) == ["login"]


def test_a_signed_call_names_its_access_key(api: Api) -> None:
    login = api.login()
    headers = {"Authorization": "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=host, Signature=" + "0" * 64}
    response = api.session.post(api.v3_url(login, "tracker"), json=SYSTEM_BODY, headers=headers)
    assert response.status_code == 201, response.text

    (trace,) = _page(api, login, trace_name="createTracker")[0]
    user = trace["user"]
    assert user["access_key_id"] == "AKEXAMPLE" and user["name"] != "AKEXAMPLE"
    assert user["domain"]["id"] == response.json()["domain_id"]


def test_traces_are_per_project(api: Api) -> None:
    de, nl = api.login(), api.login("eu-nl")
    api.v3_create(nl, SYSTEM_BODY)
    assert api.trace_names(de) == ["login"]
    assert api.trace_names(nl) == ["createTracker", "login"]


def test_paging_walks_back_in_time_with_the_marker(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.clear_requests()
    seeded = emulator.control.seed_traces(
        [{"project_id": login.project_id, "trace_name": f"t{i}", "time": _ago(seconds=60 + i)} for i in range(25)]
    )

    first, meta = _page(api, login, limit="10", trace_name="")
    assert [t["trace_name"] for t in first] == ["login"] + [f"t{i}" for i in range(9)]
    assert meta["marker"] == first[-1]["trace_id"] == seeded[8]
    second, meta = _page(api, login, limit="10", next=meta["marker"])
    assert [t["trace_name"] for t in second] == [f"t{i}" for i in range(9, 19)]
    third, meta = _page(api, login, limit="10", next=meta["marker"])
    assert [t["trace_name"] for t in third] == [f"t{i}" for i in range(19, 25)]
    assert meta == {"count": 6, "marker": None}


def test_paging_is_stable_for_traces_of_the_same_millisecond(api: Api, emulator: Emulator) -> None:
    login = api.login()
    moment = _ago(minutes=5)
    emulator.control.seed_traces(
        [{"project_id": login.project_id, "trace_name": f"t{i}", "time": moment} for i in range(5)]
    )

    names: list[str] = []
    params = {"limit": "2", "trace_name": ""}
    while True:
        page, meta = _page(api, login, **params)
        names += [t["trace_name"] for t in page if t["trace_name"] != "login"]
        if meta["marker"] is None:
            break
        params["next"] = meta["marker"]

    assert names == ["t4", "t3", "t2", "t1", "t0"]


def test_paging_keeps_the_filters(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.seed_traces(
        [
            {"project_id": login.project_id, "trace_rating": "warning" if i % 2 else "normal", "trace_name": f"t{i}"}
            for i in range(6)
        ]
    )
    first, meta = _page(api, login, limit="2", trace_rating="warning")
    second, meta = _page(api, login, limit="2", trace_rating="warning", next=meta["marker"])
    assert [t["trace_name"] for t in first + second] == ["t5", "t3", "t1"]
    assert meta["marker"] is None


@pytest.fixture
def varied(api: Api, emulator: Emulator) -> Login:
    """A project with three seeded traces of different services, users, resources and trackers."""
    login = api.login()
    domain = {"id": "d1", "name": DOMAIN}
    emulator.control.seed_traces(
        [
            {
                "project_id": login.project_id,
                "trace_name": "createTracker",
                "service_type": "CTS",
                "resource_type": "tracker",
                "resource_id": "r1",
                "resource_name": "system",
                "user": {"id": "u1", "name": "alice", "domain": domain},
            },
            {
                "project_id": login.project_id,
                "trace_name": "deleteBucket",
                "service_type": "OBS",
                "resource_type": "bucket",
                "resource_id": "r2",
                "resource_name": "logs",
                "trace_rating": "warning",
                "user": {"id": "u2", "name": "bob", "domain": domain},
            },
            {
                "project_id": login.project_id,
                "tracker_name": "obs-reads",
                "trace_name": "GetObject",
                "service_type": "OBS",
                "resource_type": "object",
                "resource_id": "r3",
                "resource_name": "logs/a.json",
                "trace_rating": "incident",
                "user": {"id": "u3", "name": "carol", "domain": domain},
            },
        ]
    )
    return login


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"service_type": "OBS"}, ["deleteBucket"]),
        ({"trace_type": "data", "service_type": "OBS"}, ["GetObject"]),
        ({"user": "bob"}, ["deleteBucket"]),
        ({"resource_id": "r3"}, []),
        ({"trace_type": "data", "resource_id": "r3"}, ["GetObject"]),
        ({"resource_name": "system"}, ["createTracker"]),
        ({"resource_type": "bucket"}, ["deleteBucket"]),
        ({"trace_name": "createTracker"}, ["createTracker"]),
        ({"trace_rating": "incident"}, []),
        ({"trace_type": "data", "trace_rating": "incident"}, ["GetObject"]),
        ({"trace_type": "data", "tracker_name": "obs-reads"}, ["GetObject"]),
        ({"trace_type": "data"}, ["GetObject"]),
        ({"trace_type": "system", "service_type": "OBS"}, ["deleteBucket"]),
        ({"service_type": "CTS", "user": "bob"}, []),
        ({"service_type": "IAM"}, ["login"]),
    ],
)
def test_filters(api: Api, varied: Login, params: dict[str, str], names: list[str]) -> None:
    assert api.trace_names(varied, **params) == names


def test_trace_id_overrides_every_other_filter(api: Api, emulator: Emulator) -> None:
    login = api.login()
    (old,) = emulator.control.seed_traces([{"project_id": login.project_id, "time": _ago(days=3)}])

    (found,) = _page(api, login, trace_id=old, service_type="NOPE", trace_rating="incident")[0]

    assert found["trace_id"] == old
    assert api.trace_names(login, trace_id="unknown") == []


def test_time_window(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.seed_traces(
        [
            {"project_id": login.project_id, "trace_name": "two_hours_ago", "time": _ago(hours=2)},
            {"project_id": login.project_id, "trace_name": "half_an_hour_ago", "time": _ago(minutes=30)},
            {"project_id": login.project_id, "trace_name": "eight_days_ago", "time": _ago(days=8)},
        ]
    )
    now = datetime.now(timezone.utc)

    assert api.trace_names(login) == ["login", "half_an_hour_ago"]
    assert api.trace_names(login, to=_ms(now - timedelta(minutes=90))) == ["two_hours_ago"]
    window = {"from": _ms(now - timedelta(days=9)), "to": _ms(now + timedelta(seconds=5))}
    # Older than 7 days: gone.
    assert api.trace_names(login, **window) == ["login", "half_an_hour_ago", "two_hours_ago"]
    assert api.trace_names(login, **{"from": _ms(now - timedelta(hours=3)), "to": _ms(now - timedelta(hours=1))}) == [
        "two_hours_ago"
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"from": "123"},
        {"to": "2026-11-26"},
        {"from": "1700000000000", "to": "1600000000000"},
        {"trace_rating": "bad"},
        {"trace_type": "other"},
        {"next": "no-such-trace"},
    ],
)
def test_invalid_queries_are_400(api: Api, params: dict[str, str]) -> None:
    assert_error(api.traces(api.login(), **params), 400, "CTS.0003")


def test_the_largest_page_is_200(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.seed_traces([{"project_id": login.project_id} for _ in range(205)])
    page, meta = _page(api, login, limit="200")
    assert len(page) == 200 and meta["marker"] == page[-1]["trace_id"]
    assert len(_page(api, login)[0]) == 10


def test_traces_expire_after_7_days(make_emulator: EmulatorFactory) -> None:
    clock = FakeClock()
    api = Api(make_emulator(clock=clock).base_url)
    start = clock.now
    api.v3_create(api.login(), SYSTEM_BODY)
    window = {"from": _ms(start - timedelta(minutes=1))}

    clock.advance(6 * 86400)
    assert api.trace_names(api.login(), **window, to=_ms(start + timedelta(minutes=1))) == ["createTracker", "login"]
    clock.advance(2 * 86400)
    # The first login and the create are 8 days old now; the logins of day 6 and day 8 remain.
    assert api.trace_names(api.login(), **window, to=_ms(clock.now)) == ["login", "login"]
    api.close()


def test_seeded_traces_get_defaults(api: Api, emulator: Emulator) -> None:
    login = api.login()
    before = _ago()
    (trace_id,) = emulator.control.seed_traces([{}])

    (trace,) = _page(api, login, trace_id=trace_id)[0]

    assert before <= trace["time"] == trace["record_time"]
    assert (trace["trace_rating"], trace["trace_type"], trace["service_type"]) == ("normal", "ApiCall", "CTS")
    assert (trace["source_ip"], trace["code"], trace["api_version"]) == ("127.0.0.1", "200", "v3")
    assert "project_id" not in trace and "tracker_name" not in trace


@pytest.mark.parametrize(
    "traces",
    [
        [{"time": "yesterday"}],
        [{"record_time": True}],
        [{"trace_id": ""}],
        [42],
        [{"project_id": "not-a-project"}],
        [{"tracker_name": ""}],
        [{"trace_id": "same"}, {"trace_id": "same"}],
    ],
)
def test_invalid_seeds_store_nothing(emulator: Emulator, traces: list[Any]) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        emulator.control.seed_traces([{}, *traces])
    assert caught.value.response.status_code == 400
    assert emulator.control.state()["traces"] == 0


def test_seed_body_must_be_a_list(emulator: Emulator) -> None:
    url = f"{emulator.base_url}/_emulator/traces"
    assert requests.post(url, json={"trace": []}, timeout=5).status_code == 400
    assert requests.post(url, json={"traces": [{}]}, timeout=5).status_code == 201


def test_seeding_before_the_first_login_lands_in_the_eu_de_project(api: Api, emulator: Emulator) -> None:
    (trace_id,) = emulator.control.seed_traces([{"trace_name": "seeded"}])

    login = api.login("eu-de")
    tracker = api.v3_create(login, SYSTEM_BODY).json()

    assert api.trace_names(login, trace_name="seeded") == ["seeded"]
    # The project took its domain from the login, not from the seed.
    assert tracker["domain_id"] == login.body["token"]["user"]["domain"]["id"]
    assert emulator.control.state()["projects"] == [
        {"id": login.project_id, "name": "eu-de", "domain_id": tracker["domain_id"], "domain_name": DOMAIN}
    ]
    assert trace_id
