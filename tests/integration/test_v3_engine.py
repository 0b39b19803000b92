"""API v3 through the engine protocol against the emulator: the tracker over v3, `DataTracker`,
`Notification`, and `get_traces` finding what the lifecycle recorded."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from pulumi_cts import get_traces
from pulumi_cts.emulator import Emulator
from tests.integration.conftest import CtsApi
from tests.support import BUCKET, OTHER_BUCKET
from tests.support.engine import EngineHarness


def test_tracker_over_v3_and_switching_back_to_v1_in_place(
    configured_engine: EngineHarness, cts_api: CtsApi, password: str
) -> None:
    engine = configured_engine
    program = {"bucket_name": BUCKET, "api_version": "v3", "compress_type": "json", "tracker_id": None}
    inputs = engine.check({}, program).inputs
    created = engine.create(inputs)
    outs = created.outputs
    assert created.id == f"{cts_api.project_id}/system"
    assert outs["api_version"] == "v3" and outs["compress_type"] == "json"
    assert isinstance(outs["tracker_id"], str) and len(outs["tracker_id"]) >= 32
    assert outs["obs_info"]["is_authorized_bucket"] is True
    assert cts_api.tracker()["bucket_name"] == BUCKET  # the same tracker, seen through v1.0

    assert engine.diff(created.id, outs, engine.check(inputs, program).inputs).changes == "DIFF_NONE"
    back = engine.check(inputs, {"bucket_name": BUCKET, "api_version": "v1.0"}).inputs
    diff = engine.diff(created.id, outs, back)
    assert diff.changes == "DIFF_SOME" and diff.replaces == []
    updated = engine.update(created.id, outs, back).outputs
    assert updated["api_version"] == "v1.0" and updated["bucket_name"] == BUCKET
    assert cts_api.tracker()["status"] == "enabled"

    engine.delete(created.id, updated)
    assert engine.read(created.id, updated).id == ""
    assert password not in "\n".join(engine.transcript)


def test_data_tracker_lifecycle(data_engine: EngineHarness, emulator: Emulator, password: str) -> None:
    engine = data_engine
    program = {
        "tracker_name": "orders-audit",
        "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["WRITE"]},
        "bucket_name": OTHER_BUCKET,
        "bucket_lifecycle": 30,
        "tracker_id": None,
    }
    bad = engine.check({}, {**program, "tracker_name": "system"})
    assert bad.failed_properties == ["tracker_name"]

    inputs = engine.check({}, program).inputs
    assert inputs["bucket_lifecycle"] == 30
    created = engine.create(inputs)
    outs = created.outputs
    assert created.id.endswith("/orders-audit")
    assert [t["tracker_name"] for t in emulator.control.state()["data_trackers"][created.id.split("/")[0]]] == [
        "orders-audit"
    ]
    assert outs["data_bucket"]["data_event"] == ["WRITE"]
    assert outs["bucket_lifecycle"] == 30 and outs["status"] == "enabled"
    assert engine.read(created.id, outs).outputs["tracker_id"] == outs["tracker_id"]

    both = engine.check(inputs, {**program, "data_bucket": {"data_bucket_name": BUCKET}}).inputs
    diff = engine.diff(created.id, outs, both)
    assert diff.changes == "DIFF_SOME" and diff.replaces == []
    updated = engine.update(created.id, outs, {**both, "status": "disabled"}).outputs
    assert updated["data_bucket"]["data_event"] == ["READ", "WRITE"] and updated["status"] == "disabled"

    moved = engine.check(inputs, {**program, "data_bucket": {"data_bucket_name": "another-bucket"}}).inputs
    assert engine.diff(created.id, updated, moved).replaces == ["data_bucket"]
    preview = engine.check(inputs, {**program, "tracker_name": rpc.UNKNOWN}).inputs
    assert "tracker_name" in engine.diff(created.id, updated, preview).replaces

    engine.delete(created.id, updated)
    engine.delete(created.id, updated)  # a tracker deleted twice is not an error
    assert engine.read(created.id, updated).id == ""
    remaining = emulator.control.state()["data_trackers"]
    assert not any(remaining.values())
    assert password not in "\n".join(engine.transcript)


def test_notification_lifecycle(notification_engine: EngineHarness, cts_api: CtsApi, password: str) -> None:
    engine = notification_engine
    topic = f"urn:smn:eu-de:{cts_api.project_id}:cts-alerts"
    program = {
        "notification_name": "tracker_changes",
        "operation_type": "customized",
        "operations": [{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}],
        "topic_id": topic,
        "notification_id": None,
    }
    assert engine.check({}, {**program, "topic_id": None}).failed_properties == ["topic_id"]
    inputs = engine.check({}, program).inputs
    created = engine.create(inputs)
    outs = created.outputs
    assert created.id == f"{cts_api.project_id}/{outs['notification_id']}"
    assert outs["status"] == "enabled" and outs["notification_type"] == "smn"

    disabled = engine.check(inputs, {**program, "status": "disabled"}).inputs
    assert engine.diff(created.id, outs, disabled).changes == "DIFF_SOME"
    updated = engine.update(created.id, outs, disabled).outputs
    assert updated["status"] == "disabled" and updated["notification_id"] == outs["notification_id"]
    assert engine.read(created.id, updated).outputs["status"] == "disabled"
    assert engine.diff(created.id, updated, disabled).changes == "DIFF_NONE"

    engine.delete(created.id, updated)
    assert engine.read(created.id, updated).id == ""
    assert password not in "\n".join(engine.transcript)


def test_get_traces_finds_what_the_lifecycle_recorded(
    configured_engine: EngineHarness, stack_config: dict[str, Any]
) -> None:
    created = configured_engine.create(configured_engine.check({}, {"bucket_name": BUCKET}).inputs)
    configured_engine.delete(created.id, created.outputs)

    result = get_traces(service_type="CTS", limit=5, config=stack_config.get)
    names = [t["trace_name"] for t in result.traces]
    assert names[:2] == ["deleteTracker", "createTracker"]  # newest first
    assert result.latest is not None and result.latest["resource_type"] == "tracker"
    assert len(get_traces(service_type="CTS", limit=1, config=stack_config.get).traces) == 1
