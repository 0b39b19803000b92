"""Through the engine protocol against the emulator: `management_event_selector`,
`is_organization_tracker`, `agency_name` and `tags` of a v3 tracker, `tags` of a data tracker and
`agency_name` of a notification go through check, diff, create, read and update; and what a
program leaves undeclared survives an update although it was set in the console."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from tests.integration.conftest import CtsApi
from tests.support import BUCKET, OTHER_BUCKET
from tests.support.engine import EngineHarness

SETTINGS = {
    "management_event_selector": {"exclude_service": ["KMS"]},
    "is_organization_tracker": True,
    "agency_name": "cts_admin_trust",
}
PROGRAM = {"bucket_name": BUCKET, "api_version": "v3", "tracker_id": None}


def console_put(cts_api: CtsApi, **changes: Any) -> None:
    """A complete v3 PUT as the console sends it: the tracker as it is, plus `changes`."""
    now = cts_api.v3_tracker()
    obs = now["obs_info"]
    body = {
        "tracker_type": "system",
        "tracker_name": "system",
        "status": now["status"],
        "obs_info": {
            "bucket_name": obs["bucket_name"],
            "file_prefix_name": obs["file_prefix_name"],
            "is_obs_created": False,
            "compress_type": obs["compress_type"],
            "is_sort_by_service": obs["is_sort_by_service"],
        },
        "is_lts_enabled": now["lts"]["is_lts_enabled"],
        "is_support_validate": now["is_support_validate"],
        **{name: now[name] for name in SETTINGS if now.get(name)},
        **changes,
    }
    cts_api.v3("PUT", "/tracker", body)


def test_every_new_tracker_setting_round_trips(configured_engine: EngineHarness, cts_api: CtsApi) -> None:
    engine = configured_engine
    program = {**PROGRAM, **SETTINGS, "tags": {"env": "prod", "cost center": "4711"}}
    bad = engine.check({}, {**program, "agency_name": "other", "tags": {"_sys_x": "1"}})
    assert sorted(bad.failed_properties) == ["agency_name", "tags"]

    inputs = engine.check({}, program).inputs
    created = engine.create(inputs)
    outs = created.outputs
    for name, value in SETTINGS.items():
        assert outs[name] == value, name
    assert outs["tags"] == {"env": "prod", "cost center": "4711"}
    stored = cts_api.v3_tracker()
    assert stored["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert stored["is_organization_tracker"] is True and stored["agency_name"] == "cts_admin_trust"
    assert cts_api.tags(outs["tracker_id"]) == {"env": "prod", "cost center": "4711"}

    read = engine.read(created.id, outs, inputs)
    assert {name: read.outputs[name] for name in SETTINGS} == SETTINGS
    assert read.outputs["tags"] == {"env": "prod", "cost center": "4711"}
    assert engine.diff(created.id, read.outputs, engine.check(inputs, program).inputs).changes == "DIFF_NONE"

    changed = {
        **program,
        "management_event_selector": {"exclude_service": []},
        "is_organization_tracker": False,
        "tags": {"env": "test", "team": "audit"},
    }
    news = engine.check(inputs, changed).inputs
    assert engine.diff(created.id, read.outputs, news).changes == "DIFF_SOME"
    preview = engine.check(inputs, {**changed, "tags": {"env": rpc.UNKNOWN}}).inputs
    assert engine.diff(created.id, read.outputs, preview).changes == "DIFF_SOME"
    updated = engine.update(created.id, read.outputs, news).outputs
    assert updated["management_event_selector"] == {"exclude_service": []}
    assert updated["is_organization_tracker"] is False and updated["agency_name"] == "cts_admin_trust"
    stored = cts_api.v3_tracker()
    assert stored["management_event_selector"] == {"exclude_service": []} and stored["is_organization_tracker"] is False
    assert cts_api.tags(outs["tracker_id"]) == {"env": "test", "team": "audit"}

    again = engine.read(created.id, updated, news)
    assert again.outputs["tags"] == {"env": "test", "team": "audit"}
    assert engine.diff(created.id, again.outputs, news).changes == "DIFF_NONE"
    engine.delete(created.id, again.outputs)
    assert engine.read(created.id, again.outputs).id == ""


def test_settings_made_in_the_console_survive_an_update_that_never_declared_them(
    configured_engine: EngineHarness, cts_api: CtsApi
) -> None:
    engine = configured_engine
    inputs = engine.check({}, PROGRAM).inputs
    created = engine.create(inputs)
    outs = created.outputs
    assert outs["management_event_selector"] == {"exclude_service": []} and outs.get("agency_name") is None

    # Behind the stack's back, after its last refresh: an exclusion list, the agency, the
    # organization switch, and a tag.
    console_put(cts_api, **SETTINGS)
    cts_api.v3("POST", f"/cts-tracker/{outs['tracker_id']}/tags/create", {"tags": [{"key": "owner", "value": "sec"}]})

    news = engine.check(inputs, {**PROGRAM, "bucket_name": OTHER_BUCKET}).inputs
    diff = engine.diff(created.id, outs, news)
    assert diff.changes == "DIFF_SOME" and diff.replaces == []
    updated = engine.update(created.id, outs, news).outputs

    stored = cts_api.v3_tracker()
    assert stored["obs_info"]["bucket_name"] == OTHER_BUCKET
    assert stored["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert stored["is_organization_tracker"] is True and stored["agency_name"] == "cts_admin_trust"
    assert cts_api.tags(outs["tracker_id"]) == {"owner": "sec"}
    assert {name: updated[name] for name in SETTINGS} == SETTINGS

    # A refresh reports them; the program still leaves them alone, so nothing is to change.
    read = engine.read(created.id, updated, news)
    assert read.outputs["management_event_selector"] == {"exclude_service": ["KMS"]}
    assert (read.inputs or {})["agency_name"] == "cts_admin_trust"
    assert engine.diff(created.id, read.outputs, news).changes == "DIFF_NONE"


def test_data_tracker_tags_round_trip(data_engine: EngineHarness, cts_api: CtsApi) -> None:
    engine = data_engine
    program = {
        "tracker_name": "orders-audit",
        "data_bucket": {"data_bucket_name": BUCKET},
        "tags": {"team": "audit"},
        "tracker_id": None,
    }
    inputs = engine.check({}, program).inputs
    created = engine.create(inputs)
    tracker_id = created.outputs["tracker_id"]
    assert created.outputs["tags"] == {"team": "audit"} and cts_api.tags(tracker_id) == {"team": "audit"}

    cts_api.v3("POST", f"/cts-tracker/{tracker_id}/tags/create", {"tags": [{"key": "extra", "value": "x"}]})
    read = engine.read(created.id, created.outputs, inputs)
    assert read.outputs["tags"] == {"team": "audit", "extra": "x"}
    assert engine.diff(created.id, read.outputs, inputs).changes == "DIFF_SOME"  # declared: the set is complete

    updated = engine.update(created.id, read.outputs, inputs).outputs
    assert updated["tags"] == {"team": "audit"} and cts_api.tags(tracker_id) == {"team": "audit"}
    assert engine.diff(created.id, engine.read(created.id, updated, inputs).outputs, inputs).changes == "DIFF_NONE"
    engine.delete(created.id, updated)


def test_notification_agency_round_trips_and_survives_when_undeclared(
    notification_engine: EngineHarness, cts_api: CtsApi
) -> None:
    engine = notification_engine
    program = {
        "notification_name": "tracker_changes",
        "operation_type": "complete",
        "topic_id": f"urn:smn:eu-de:{cts_api.project_id}:cts-alerts",
        "notification_id": None,
    }
    assert engine.check({}, {**program, "agency_name": "mine"}).failed_properties == ["agency_name"]
    inputs = engine.check({}, {**program, "agency_name": "cts_admin_trust"}).inputs
    created = engine.create(inputs)
    assert created.outputs["agency_name"] == "cts_admin_trust"
    read = engine.read(created.id, created.outputs, inputs)
    assert read.outputs["agency_name"] == "cts_admin_trust"
    assert engine.diff(created.id, read.outputs, inputs).changes == "DIFF_NONE"

    # The next program no longer mentions the agency and disables the notification.
    news = engine.check(inputs, {**program, "status": "disabled"}).inputs
    assert engine.diff(created.id, read.outputs, news).changes == "DIFF_SOME"
    updated = engine.update(created.id, read.outputs, news).outputs
    stored = cts_api.v3("GET", "/notifications/smn").json()["notifications"]
    assert [(n["status"], n["agency_name"]) for n in stored] == [("disabled", "cts_admin_trust")]
    assert updated["agency_name"] == "cts_admin_trust"
    engine.delete(created.id, updated)
