"""The control API: fault injection, the request log, reset, seed data and config."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import TOPIC, Api, assert_error, token_body
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET

BODY = {"bucket_name": BUCKET}


def test_respond_fault_answers_the_injected_error(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.add_fault(
        service="cts", method="GET", status=503, error_code="CTS.0001", error_msg="busy", retry_after=7
    )

    response = api.get(login)

    assert_error(response, 503, "CTS.0001")
    assert response.json()["error_msg"] == "busy"
    assert response.headers["Retry-After"] == "7"
    # Other methods are not matched.
    assert api.create(login, BODY).status_code == 201


def test_fault_with_times_fails_n_times_then_succeeds(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", method="POST", status=500, times=2)

    statuses = [api.create(login, BODY).status_code for _ in range(3)]

    assert statuses == [500, 500, 201]
    assert emulator.control.faults() == []


def test_fault_without_times_applies_until_cleared(api: Api, emulator: Emulator) -> None:
    emulator.control.add_fault(service="iam", status=429, error_code="IAM.0012")
    for _ in range(3):
        assert_error(api.request_token(token_body()), 429, "IAM.0012")
    (rule,) = emulator.control.faults()
    assert rule["hits"] == 3

    emulator.control.clear_faults()
    assert api.request_token(token_body()).status_code == 201


def test_fault_can_be_removed_by_id(api: Api, emulator: Emulator) -> None:
    fault_id = emulator.control.add_fault(service="iam", status=500)
    emulator.control.remove_fault(fault_id)
    assert api.request_token(token_body()).status_code == 201
    with pytest.raises(requests.HTTPError):
        emulator.control.remove_fault(fault_id)


def test_fault_path_is_a_regex_and_service_scopes_it(api: Api, emulator: Emulator) -> None:
    de, nl = api.login("eu-de"), api.login("eu-nl")
    emulator.control.add_fault(service="cts", path=f"/{nl.project_id}/", status=500)

    assert api.get(de, None).status_code == 200
    assert api.get(nl, None).status_code == 500
    # An IAM call does not match a CTS rule.
    assert api.request_token(token_body("eu-nl")).status_code == 201


def test_latency_fault_delays_the_real_answer(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", latency_ms=300, times=1)

    started = time.monotonic()
    slow = api.get(login, None)
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    api.get(login, None)
    fast_seconds = time.monotonic() - started

    assert slow.status_code == 200 and slow.json() == []
    assert slow_seconds >= 0.3
    assert fast_seconds < 0.3


def test_drop_closes_the_connection_before_the_handler(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", method="POST", action="drop", times=1)

    with pytest.raises(requests.ConnectionError):
        api.create(login, BODY)

    assert_error(api.get(login), 404, "CTS.0214")
    (logged,) = [r for r in emulator.control.requests("cts") if r["method"] == "POST"]
    assert logged["dropped"] is True and logged["status"] is None


def test_drop_after_runs_the_handler_but_loses_the_answer(api: Api, emulator: Emulator) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", method="POST", action="drop_after", times=1)

    with pytest.raises(requests.ConnectionError):
        api.create(login, BODY)

    # The create happened although the client saw only a connection error.
    assert api.get(login).status_code == 200
    assert_error(api.create(login, BODY), 400, "CTS.0201")
    logged = [r for r in emulator.control.requests("cts") if r["method"] == "POST"]
    assert [(r["status"], r["dropped"]) for r in logged] == [(201, True), (400, False)]


def test_dropped_iam_answer_still_issues_a_token(api: Api, emulator: Emulator) -> None:
    emulator.control.add_fault(service="iam", action="drop_after", times=1)
    with pytest.raises(requests.ConnectionError):
        api.request_token(token_body())
    assert emulator.control.state()["tokens"] == 1
    assert api.request_token(token_body()).status_code == 201


def test_control_routes_are_neither_faulted_nor_logged(api: Api, emulator: Emulator) -> None:
    emulator.control.add_fault(status=500)
    emulator.control.add_fault(action="drop")

    assert emulator.control.state()["kms_keys"] == [KMS_KEY]
    assert len(emulator.control.faults()) == 2
    assert emulator.control.requests() == []


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 99},
        {"status": "500"},
        {"times": 0},
        {"latency_ms": -1},
        {"action": "explode", "status": 500},
        {"service": "obs", "status": 500},
        {"path": "(", "status": 500},
        {"status": 500, "colour": "red"},
        {},
    ],
)
def test_invalid_fault_rules_are_rejected(emulator: Emulator, rule: dict[str, Any]) -> None:
    response = requests.post(f"{emulator.base_url}/_emulator/faults", json=rule)
    assert response.status_code == 400
    assert response.json()["error_code"] == "EMULATOR.0400"
    assert emulator.control.faults() == []


def test_request_log_records_and_masks_secrets(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, {"bucket_name": BUCKET, "file_prefix_name": "p1"})
    api.session.get(api.tracker_url(login.project_id), headers={**login.headers, "X-Security-Token": "sts-secret"})
    api.session.get(
        api.tracker_url(login.project_id),
        headers={"Authorization": "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=" + "a" * 64},
        params={"tracker_name": "system"},
    )

    entries = emulator.control.requests()
    iam, create, get, signed = entries

    assert (iam["service"], iam["method"], iam["path"], iam["status"]) == ("iam", "POST", "/v3/auth/tokens", 201)
    # IAM bodies carry the password: never logged.
    assert iam["body"] is None
    assert "s3cret-Passw0rd" not in str(entries)
    assert login.token not in str(entries)
    assert "sts-secret" not in str(entries) and "a" * 64 not in str(entries)
    assert create["headers"]["X-Auth-Token"] == "***"
    assert create["body"] == {"bucket_name": BUCKET, "file_prefix_name": "p1"}
    assert create["status"] == 201
    assert get["headers"]["X-Security-Token"] == "***"
    assert signed["headers"]["Authorization"] == "***"
    assert signed["query"] == "tracker_name=system"
    assert [e["service"] for e in emulator.control.requests("cts")] == ["cts", "cts", "cts"]
    assert len(emulator.control.requests("iam")) == 1

    emulator.control.clear_requests()
    assert emulator.control.requests() == []


def test_reset_drops_trackers_tokens_and_faults_but_keeps_seeds(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.create(login, {"bucket_name": "made-by-cts", "is_obs_created": True})
    emulator.control.remove_bucket(BUCKET)
    emulator.control.add_kms_key("extra-key")
    emulator.control.add_fault(service="cts", method="DELETE", status=500)
    emulator.control.set_put_body(True)

    emulator.control.reset()

    state = emulator.control.state()
    assert state["trackers"] == {}
    assert state["tokens"] == 0
    assert sorted(b["name"] for b in state["buckets"]) == sorted([BUCKET, OTHER_BUCKET])
    assert state["kms_keys"] == [KMS_KEY]
    assert state["config"] == {"response_shape": "flat", "put_body": False}
    assert emulator.control.faults() == [] and emulator.control.requests() == []
    assert_error(api.get(login, None), 401, "APIGW.0301")


def test_seed_data_through_the_control_api(api: Api, emulator: Emulator) -> None:
    login = api.login()
    body = {"bucket_name": "late-bucket", "is_support_trace_files_encryption": True, "kms_id": "late-key"}
    assert_error(api.create(login, body), 400, "CTS.0222")

    emulator.control.add_kms_key("late-key")
    assert_error(api.create(login, body), 404, "CTS.0211")
    emulator.control.add_bucket("late-bucket", location="eu-nl")
    assert api.create(login, body).status_code == 201

    emulator.control.remove_kms_key("late-key")
    assert "late-key" not in emulator.control.state()["kms_keys"]
    with pytest.raises(requests.HTTPError):
        emulator.control.add_bucket("Not_A_Bucket")
    with pytest.raises(requests.HTTPError):
        emulator.control.remove_bucket("never-existed")


def test_config_round_trip_and_validation(emulator: Emulator) -> None:
    assert emulator.control.config() == {"response_shape": "flat", "put_body": False}
    assert emulator.control.configure(response_shape="obs_info", put_body=True) == {
        "response_shape": "obs_info",
        "put_body": True,
    }
    bad = requests.put(f"{emulator.base_url}/_emulator/config", json={"response_shape": "nested"})
    assert bad.status_code == 400
    assert emulator.control.config()["response_shape"] == "obs_info"


def test_state_lists_trackers_by_project(api: Api, emulator: Emulator) -> None:
    login = api.login()
    created = api.create(login, BODY).json()

    state = emulator.control.state()

    assert state["trackers"] == {login.project_id: created}
    assert {"id": login.project_id, "name": "eu-de"}.items() <= state["projects"][0].items()


def test_state_lists_data_trackers_notifications_and_counts_traces(api: Api, emulator: Emulator) -> None:
    login = api.login()
    data_tracker = {
        "tracker_type": "data",
        "tracker_name": "reads",
        "data_bucket": {"data_bucket_name": OTHER_BUCKET, "data_event": ["READ"]},
    }
    tracker = api.v3_create(login, data_tracker).json()
    notification = api.create_notification(
        login, {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC}
    ).json()

    state = emulator.control.state()

    assert state["trackers"] == {}
    assert state["data_trackers"] == {login.project_id: [tracker]}
    assert state["notifications"] == {login.project_id: [notification]}
    assert state["traces"] == 3


def test_reset_drops_v3_objects_and_traces(api: Api, emulator: Emulator) -> None:
    login = api.login()
    api.v3_create(login, {"tracker_type": "system", "tracker_name": "system"})
    api.v3_create(
        login,
        {
            "tracker_type": "data",
            "tracker_name": "r",
            "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["READ"]},
        },
    )
    api.create_notification(login, {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC})
    emulator.control.seed_traces([{}])

    emulator.control.reset()

    state = emulator.control.state()
    assert (state["trackers"], state["data_trackers"], state["notifications"], state["traces"]) == ({}, {}, {}, 0)
