"""`otcextensions` (openstacksdk, password login) against the emulator: every call of its `cts` (v1.0), `ctsv2`
and `ctsv3` proxies, unmodified. Where the client fails on its own, a strict xfail names the bug, so a fixed
release turns the test red and the marker gets removed."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import openstack
import pytest
import requests

from pulumi_cts.emulator import Emulator
from tests.conformance.conftest import BUCKET, OTHER_BUCKET, REGION, SMN_TOPIC, OtcCloud, otc_connection

# openstacksdk warns about its own deprecated internals that otcextensions still calls; not this project's concern.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack.*")

SMN = {
    "is_support_smn": True,
    "topic_id": SMN_TOPIC,
    "is_send_all_key_operation": False,
    "operations": ["delete", "create", "login"],
    "need_notify_user_list": ["alice", "bob"],
}
# Installed openstacksdk 4.x has no `Resource.has_body`; otcextensions' v1 Tracker still reads it.
HAS_BODY_BUG = (
    f"otcextensions cts.v1 Tracker._translate_response reads self.has_body, which openstacksdk "
    f"{version('openstacksdk')} removed from Resource: every GET of a v1.0 tracker raises AttributeError"
)
EMPTY_BODY_BUG = (
    "otcextensions cts.v1 Tracker._translate_response decodes a body from every answer but 204, so it cannot read "
    "the documented v1.0 PUT answer (200 without a body): JSONDecodeError"
)
UPDATE_SIGNATURE_BUG = (
    "otcextensions ctsv3 Proxy.update_tracker calls openstack Proxy._update(Tracker, base_path=...) without the "
    "positional `value` argument: TypeError before any request"
)


def v1_tracker(otc: OtcCloud) -> dict[str, Any]:
    """The v1.0 tracker as the emulator answers it, read through the client's own authenticated session."""
    response = otc.cts.get("/tracker", params={"tracker_name": "system"})
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- login and catalog ---


def test_password_login_discovers_the_identity_version(otc: OtcCloud, emulator: Emulator) -> None:
    assert otc.current_project_id and len(otc.current_project_id) == 32
    answered = [(r["method"], r["path"], r["status"]) for r in emulator.control.requests(service="iam")]
    assert ("GET", "/v3", 200) in answered
    assert ("POST", "/v3/auth/tokens", 201) in answered


def test_every_cts_proxy_finds_its_endpoint_in_the_catalog(otc: OtcCloud, emulator: Emulator) -> None:
    project_id = otc.current_project_id
    assert otc.endpoint_for("cts") == f"{emulator.base_url}/v1.0/{project_id}"
    assert otc.endpoint_for("ctsv2") == f"{emulator.base_url}/v2.0/{project_id}"
    assert otc.endpoint_for("ctsv3") == f"{emulator.base_url}/v3/{project_id}"


def test_token_by_project_id_then_by_region_name_is_one_project(emulator: Emulator) -> None:
    # The id the region's project has everywhere, learned from another emulator so that this one is fresh.
    with Emulator() as probe:
        probe_connection = otc_connection(probe)
        region_project_id = probe_connection.current_project_id
        probe_connection.close()
    by_id = otc_connection(emulator, project_name=None, project_id=region_project_id)
    by_name = otc_connection(emulator)
    try:
        assert by_id.current_project_id == by_name.current_project_id == region_project_id
        assert [p["name"] for p in emulator.control.state()["projects"]] == [REGION]
    finally:
        by_id.close()
        by_name.close()


# --- v1.0 trackers ---


def test_v1_create_tracker_stores_smn(otc: OtcCloud) -> None:
    tracker = otc.cts.create_tracker(bucket_name=BUCKET, file_prefix_name="audit", smn=SMN)
    assert (tracker.name, tracker.status) == ("system", "enabled")
    assert (tracker.bucket_name, tracker.file_prefix_name) == (BUCKET, "audit")
    assert tracker.smn.enabled is True and tracker.smn.topic_id == SMN_TOPIC
    assert tracker.smn.operations == SMN["operations"] and tracker.smn.notify_users == ["alice", "bob"]
    assert v1_tracker(otc)["smn"] == SMN


@pytest.mark.xfail(raises=AttributeError, strict=True, reason=HAS_BODY_BUG)
def test_v1_get_tracker(otc: OtcCloud) -> None:
    otc.cts.create_tracker(bucket_name=BUCKET, file_prefix_name="audit")
    tracker = otc.cts.get_tracker("system")
    assert tracker.bucket_name == BUCKET


@pytest.mark.xfail(raises=requests.exceptions.JSONDecodeError, strict=True, reason=EMPTY_BODY_BUG)
def test_v1_update_tracker_with_the_documented_answer(otc: OtcCloud) -> None:
    otc.cts.create_tracker(bucket_name=BUCKET, file_prefix_name="audit")
    otc.cts.update_tracker("system", bucket_name=BUCKET, file_prefix_name="renamed")


def test_v1_update_tracker_with_the_update_echoed(otc: OtcCloud, emulator: Emulator) -> None:
    # The other answer shape the emulator offers: the updated tracker in the body.
    emulator.control.configure(put_body=True)
    otc.cts.create_tracker(bucket_name=BUCKET, file_prefix_name="audit", smn=SMN)
    tracker = otc.cts.update_tracker(
        "system",
        bucket_name=OTHER_BUCKET,
        file_prefix_name="renamed",
        status="disabled",
        smn={**SMN, "operations": ["login"]},
    )
    assert (tracker.bucket_name, tracker.file_prefix_name, tracker.status) == (OTHER_BUCKET, "renamed", "disabled")
    assert tracker.smn.operations == ["login"]
    stored = v1_tracker(otc)
    assert (stored["bucket_name"], stored["status"], stored["smn"]["operations"]) == (
        OTHER_BUCKET,
        "disabled",
        ["login"],
    )


def test_v1_delete_tracker(otc: OtcCloud) -> None:
    otc.cts.create_tracker(bucket_name=BUCKET)
    otc.cts.delete_tracker("system")
    assert list(otc.ctsv3.trackers()) == []


def test_v1_duplicate_create_is_a_bad_request(otc: OtcCloud) -> None:
    otc.cts.create_tracker(bucket_name=BUCKET)
    with pytest.raises(openstack.exceptions.BadRequestException):
        otc.cts.create_tracker(bucket_name=BUCKET)


# --- v1.0 and v2.0 traces ---


@pytest.mark.parametrize("proxy", ["cts", "ctsv2"])
def test_v1_and_v2_trace_queries(otc: OtcCloud, proxy: str) -> None:
    otc.cts.create_tracker(bucket_name=BUCKET, file_prefix_name="audit")
    otc.ctsv3.create_key_event(notification_name="n1", operation_type="complete", topic_id=SMN_TOPIC)
    found = list(getattr(otc, proxy).traces(limit=10))
    assert [t.name for t in found] == ["createNotification", "createTracker", "login"]
    assert all(t.id and t.time and t.user for t in found)
    (tracker_trace,) = getattr(otc, proxy).traces(res_type="tracker")
    assert tracker_trace.resource_name == "system" and tracker_trace.service_type == "CTS"
    (login,) = getattr(otc, proxy).traces(service_type="IAM", level="normal")
    assert login.name == "login"
    # v2.0 types request and response as strings; v1.0 keeps them as JSON.
    request = tracker_trace.request
    assert isinstance(request, str if proxy == "ctsv2" else dict)


# --- v3 trackers ---


def test_v3_tracker_create_list_delete(otc: OtcCloud) -> None:
    created = otc.ctsv3.create_tracker(
        tracker_type="system",
        tracker_name="system",
        is_lts_enabled=True,
        obs_info={"bucket_name": BUCKET, "file_prefix_name": "audit", "is_obs_created": False},
    )
    assert created.status == "enabled" and created.lts.is_lts_enabled is True
    (listed,) = otc.ctsv3.trackers(tracker_name="system")
    assert listed.id == created.id
    assert listed.obs_info.bucket_name == BUCKET and listed.obs_info.file_prefix_name == "audit"
    assert listed.group_id and listed.stream_id
    otc.ctsv3.delete_tracker(listed)
    assert list(otc.ctsv3.trackers()) == []


@pytest.mark.xfail(raises=TypeError, strict=True, reason=UPDATE_SIGNATURE_BUG)
def test_v3_update_tracker(otc: OtcCloud) -> None:
    otc.ctsv3.create_tracker(tracker_type="system", tracker_name="system")
    otc.ctsv3.update_tracker(tracker_type="system", tracker_name="system", status="disabled")


# --- v3 key events, traces, quotas ---


def test_v3_key_event_lifecycle(otc: OtcCloud) -> None:
    created = otc.ctsv3.create_key_event(
        notification_name="tracker_changes",
        operation_type="customized",
        operations=[{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["updateTracker"]}],
        notify_user_list=[{"user_group": "admin", "user_list": ["alice"]}],
        topic_id=SMN_TOPIC,
        filter={"condition": "AND", "is_support_filter": True, "rule": ["code = 200"]},
    )
    assert created.notification_type == "smn" and created.status == "enabled"
    updated = otc.ctsv3.update_key_event(
        notification_id=created.notification_id,
        notification_name="tracker_changes",
        operation_type="complete",
        status="disabled",
        topic_id=SMN_TOPIC,
    )
    assert updated.status == "disabled" and updated.operation_type == "complete"
    (listed,) = otc.ctsv3.key_events("smn", notification_name="tracker_changes")
    assert listed.notification_id == created.notification_id and listed.status == "disabled"
    otc.ctsv3.delete_key_event(listed)
    assert list(otc.ctsv3.key_events("smn")) == []


def test_v3_traces_with_filters(otc: OtcCloud) -> None:
    otc.ctsv3.create_tracker(tracker_type="system", tracker_name="system")
    every = list(otc.ctsv3.traces(trace_type="system"))
    assert [t.trace_name for t in every] == ["createTracker", "login"]
    (login,) = otc.ctsv3.traces(trace_type="system", service_type="IAM")
    assert login.user.name == "conformance-user" and login.user.domain.name
    assert login.endpoint and login.resource_url is not None and login.location_info == ""
    (by_id,) = otc.ctsv3.traces(trace_id=login.trace_id)
    assert by_id.trace_id == login.trace_id


def test_v3_quotas(otc: OtcCloud) -> None:
    otc.ctsv3.create_tracker(tracker_type="system", tracker_name="system")
    quotas = {q.type: (q.used, q.quota) for q in otc.ctsv3.quotas()}
    assert quotas["system_tracker"] == (1, 1)
    assert quotas["smn_notification"] == (0, 100)
