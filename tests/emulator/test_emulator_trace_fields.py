"""Every documented trace field, who the trace names as the user (token or access key), the access-key and
enterprise-project filters, the default trace type, the v1.0/v2.0 trace queries, and the queries built on
traces (users, resource types) and on the catalog of traced operations."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from pulumi_cts.emulator import Emulator
from pulumi_cts.signing import AkSkAuth
from tests.emulator.helpers import TOPIC, Api, EmulatorFactory, Login, assert_error
from tests.support import BUCKET, DOMAIN, OTHER_BUCKET

SYSTEM: dict[str, Any] = {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}}
TRACE_FIELDS = {
    "trace_id",
    "trace_name",
    "trace_rating",
    "trace_type",
    "request",
    "response",
    "code",
    "api_version",
    "message",
    "record_time",
    "time",
    "user",
    "service_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "source_ip",
    "request_id",
    "location_info",
    "endpoint",
    "resource_url",
    "enterprise_project_id",
    "resource_account_id",
    "read_only",
    "operation_id",
}
USER_FIELDS = {
    "id",
    "name",
    "user_name",
    "domain",
    "account_id",
    "access_key_id",
    "principal_urn",
    "principal_id",
    "principal_is_root_user",
    "type",
    "invoked_by",
    "session_context",
}


def one_trace(api: Api, login: Login, **params: str) -> dict[str, Any]:
    response = api.traces(login, **params)
    assert response.status_code == 200, response.text
    (trace,) = response.json()["traces"]
    return dict(trace)


def test_a_token_call_in_full(api: Api, emulator: Emulator) -> None:
    login = api.login()
    created = api.v3_create(login, SYSTEM)

    trace = one_trace(api, login, trace_name="createTracker")

    assert set(trace) == TRACE_FIELDS
    assert json.loads(trace["request"]) == SYSTEM
    assert json.loads(trace["response"]) == created.json()
    assert (trace["message"], trace["location_info"], trace["resource_account_id"]) == ("", "", "")
    assert trace["endpoint"] == emulator.base_url
    assert trace["resource_url"] == f"/v3/{login.project_id}/trackers?tracker_name=system"
    assert (trace["enterprise_project_id"], trace["read_only"], trace["operation_id"]) == ("0", False, "CreateTracker")
    user = trace["user"]
    token_user = login.body["token"]["user"]
    assert set(user) == USER_FIELDS
    assert (user["id"], user["name"], user["user_name"]) == (token_user["id"], "alice", "alice")
    assert user["domain"] == {"id": token_user["domain"]["id"], "name": DOMAIN}
    assert user["account_id"] == token_user["domain"]["id"] and user["access_key_id"] == ""
    assert user["principal_urn"] == f"iam::{token_user['domain']['id']}:user:alice"
    assert (user["principal_id"], user["principal_is_root_user"], user["type"]) == (token_user["id"], "false", "User")
    assert user["invoked_by"] == []
    assert user["session_context"] == {
        "attributes": {"created_at": login.body["token"]["issued_at"], "mfa_authenticated": "false"}
    }


def test_the_account_itself_is_the_root_user(api: Api) -> None:
    login = api.login(user=DOMAIN)
    assert one_trace(api, login, trace_name="login")["user"]["principal_is_root_user"] == "true"


def test_a_login_trace_holds_no_password(api: Api) -> None:
    login = api.login(password="Very-Secret-Passw0rd")
    trace = one_trace(api, login, trace_name="login")
    assert "Very-Secret-Passw0rd" not in json.dumps(trace)
    assert trace["request"] == "" and trace["operation_id"] == "Login"


def test_a_signed_call_names_its_access_key_apart_from_the_user(emulator: Emulator, api: Api) -> None:
    login = api.login()
    auth = AkSkAuth("AKEXAMPLE", "secret", project_id=login.project_id)
    created = requests.post(api.v3_url(login, "tracker"), json=SYSTEM, auth=auth, timeout=5)
    assert created.status_code == 201, created.text

    user = one_trace(api, login, trace_name="createTracker")["user"]

    assert user["access_key_id"] == "AKEXAMPLE"
    assert "AKEXAMPLE" not in (user["name"], user["user_name"], user["id"], user["principal_id"])
    # The key's owner: the emulator does not model who holds a key, so it names the account itself.
    assert user["name"] == DOMAIN and user["principal_is_root_user"] == "true"
    assert user["domain"] == {"id": created.json()["domain_id"], "name": DOMAIN}


def test_seeded_traces_get_every_field(api: Api, emulator: Emulator) -> None:
    login = api.login()
    (trace_id,) = emulator.control.seed_traces(
        [{"project_id": login.project_id, "user": {"name": "carol", "access_key_id": "AKSEED"}}]
    )
    trace = one_trace(api, login, trace_id=trace_id)
    assert set(trace) == TRACE_FIELDS and set(trace["user"]) == USER_FIELDS
    assert (trace["user"]["name"], trace["user"]["access_key_id"]) == ("carol", "AKSEED")
    assert (trace["enterprise_project_id"], trace["read_only"]) == ("0", False)


# --- filters ---


@pytest.fixture
def seeded(api: Api, emulator: Emulator) -> Login:
    login = api.login()
    api.v3_create(
        login,
        {
            "tracker_type": "data",
            "tracker_name": "reads",
            "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]},
        },
    )
    emulator.control.seed_traces(
        [
            {"project_id": login.project_id, "trace_name": "a", "user": {"name": "u", "access_key_id": "AK1"}},
            {"project_id": login.project_id, "trace_name": "b", "enterprise_project_id": "ep-1"},
            {"project_id": login.project_id, "trace_name": "c", "tracker_name": "reads", "trace_type": "ObsSDK"},
        ]
    )
    return login


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"access_key_id": "AK1"}, ["a"]),
        ({"access_key_id": "AK2"}, []),
        ({"enterprise_project_id": "ep-1"}, ["b"]),
        ({"enterprise_project_id": "0", "trace_name": "a"}, ["a"]),
        ({}, ["b", "a", "createTracker", "login"]),
        ({"trace_type": "system"}, ["b", "a", "createTracker", "login"]),
        ({"trace_type": "data"}, ["c"]),
        ({"trace_type": "data", "tracker_name": "reads"}, ["c"]),
        # Without a trace type the default (system) applies, and a data tracker's name then matches nothing.
        ({"tracker_name": "reads"}, []),
    ],
)
def test_filters(api: Api, seeded: Login, params: dict[str, str], names: list[str]) -> None:
    assert api.trace_names(seeded, **params) == names


# --- v1.0 and v2.0 trace queries ---


def old_traces(api: Api, login: Login, version: str, tracker: str = "system", **params: str) -> requests.Response:
    return api.session.get(
        f"{api.base_url}/{version}/{login.project_id}/{tracker}/trace", params=params, headers=login.headers, timeout=5
    )


@pytest.mark.parametrize("version", ["v1.0", "v2.0"])
def test_old_trace_queries_answer_the_same_traces(api: Api, version: str) -> None:
    login = api.login()
    api.v3_create(login, SYSTEM)
    api.create_notification(login, {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC})

    response = old_traces(api, login, version, limit="2")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["trace_name"] for t in body["traces"]] == ["createNotification", "createTracker"]
    assert body["meta_data"] == {"count": 2, "marker": body["traces"][-1]["trace_id"]}
    rest = old_traces(api, login, version, next=body["meta_data"]["marker"]).json()
    assert [t["trace_name"] for t in rest["traces"]] == ["login"]
    assert [t["trace_name"] for t in old_traces(api, login, version, service_type="IAM").json()["traces"]] == ["login"]


def test_v1_keeps_request_and_response_as_json_and_v2_as_strings(api: Api) -> None:
    login = api.login()
    api.v3_create(login, SYSTEM)
    (v1,) = old_traces(api, login, "v1.0", trace_name="createTracker").json()["traces"]
    (v2,) = old_traces(api, login, "v2.0", trace_name="createTracker").json()["traces"]
    assert v1["request"] == SYSTEM and isinstance(v1["response"], dict)
    assert json.loads(v2["request"]) == SYSTEM and isinstance(v2["response"], str)


def test_old_trace_queries_by_data_tracker_name(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.seed_traces([{"project_id": login.project_id, "tracker_name": "reads", "trace_name": "GetObject"}])
    names = [t["trace_name"] for t in old_traces(api, login, "v2.0", "reads").json()["traces"]]
    assert names == ["GetObject"]


def test_old_trace_queries_check_their_parameters(api: Api) -> None:
    login = api.login()
    assert_error(old_traces(api, login, "v1.0", limit="0"), 400, "CTS.0003")
    assert_error(old_traces(api, login, "v2.0", trace_rating="fatal"), 400, "CTS.0003")


def test_old_trace_queries_need_access_to_the_project(api: Api) -> None:
    de, nl = api.login("eu-de"), api.login("eu-nl")
    response = api.session.get(f"{api.base_url}/v1.0/{nl.project_id}/system/trace", headers=de.headers, timeout=5)
    assert_error(response, 403, "CTS.0002")


# --- operations, users and resource types ---


def test_operations_catalog(api: Api) -> None:
    login = api.login()
    every = api.v3("GET", login, "operations").json()["operations"]
    by_resource = {(o["service_type"], o["resource_type"]): o["operation_list"] for o in every}
    assert by_resource[("CTS", "tracker")] == [
        "createTracker",
        "updateTracker",
        "deleteTracker",
        "batchCreateResourceTags",
        "batchDeleteResourceTags",
    ]
    assert "login" in by_resource[("IAM", "user")]

    only = api.v3("GET", login, "operations", service_type="CTS", resource_type="notification").json()
    assert [(o["service_type"], o["resource_type"]) for o in only["operations"]] == [("CTS", "notification")]
    assert api.v3("GET", login, "operations", service_type="NOPE").json() == {"operations": []}


def test_user_resources_are_the_users_of_the_last_7_days(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.login(user="bob")
    emulator.control.seed_traces([{"project_id": login.project_id, "user": {"name": "carol"}}, {}])
    response = api.v3("GET", login, "user-resources")
    assert response.status_code == 200
    assert response.json() == {"users": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}


def test_trace_resources_of_an_account(api: Api) -> None:
    login = api.login()
    api.login("eu-nl")
    api.v3_create(login, SYSTEM)
    domain_id = login.body["token"]["user"]["domain"]["id"]

    response = api.session.get(f"{api.base_url}/v3/{domain_id}/resources", headers=login.headers, timeout=5)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "resources": [{"service_type": "CTS", "resource": ["tracker"]}, {"service_type": "IAM", "resource": ["user"]}]
    }


def test_account_calls_need_the_callers_account(api: Api) -> None:
    login = api.login()
    other = "f" * 32
    response = api.session.get(f"{api.base_url}/v3/{other}/resources", headers=login.headers, timeout=5)
    assert_error(response, 403, "CTS.0002")
    checked = api.session.post(f"{api.base_url}/v3/{other}/checkbucket", json={"buckets": []}, headers=login.headers)
    assert_error(checked, 403, "CTS.0002")


def test_check_buckets(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator()
    api = Api(emulator.base_url)
    login = api.login()
    domain_id = login.body["token"]["user"]["domain"]["id"]
    buckets = [
        {"bucket_name": BUCKET, "bucket_location": "eu-de"},
        {"bucket_name": "missing-bucket", "bucket_location": "eu-de"},
        {"bucket_name": BUCKET, "bucket_location": "eu-nl"},
        {"bucket_name": BUCKET, "is_support_trace_files_encryption": True, "kms_id": "no-such-key"},
    ]

    response = api.session.post(
        f"{api.base_url}/v3/{domain_id}/checkbucket", json={"buckets": buckets}, headers=login.headers, timeout=5
    )

    assert response.status_code == 200, response.text
    checked = response.json()["buckets"]
    results = [
        (c["bucket_name"], c["check_bucket_response"]["success"], c["check_bucket_response"]["error_code"])
        for c in checked
    ]
    assert results == [
        (BUCKET, True, ""),
        ("missing-bucket", False, "CTS.0211"),
        (BUCKET, False, "CTS.0211"),
        (BUCKET, False, "CTS.0222"),
    ]
    assert checked[0]["bucket_location"] == "eu-de" and checked[0]["check_bucket_response"]["response_code"] == 200
    assert checked[1]["check_bucket_response"]["response_code"] == 404
    api.close()


@pytest.mark.parametrize("body", [{}, {"buckets": "x"}, {"buckets": [{"bucket_location": "eu-de"}]}])
def test_check_buckets_needs_a_list_of_named_buckets(api: Api, body: Any) -> None:
    login = api.login()
    domain_id = login.body["token"]["user"]["domain"]["id"]
    response = api.session.post(f"{api.base_url}/v3/{domain_id}/checkbucket", json=body, headers=login.headers)
    assert_error(response, 400, "CTS.0003")
