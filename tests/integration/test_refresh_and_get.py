"""Refresh and `get()` of all three resources through the engine protocol against the emulator.

A refresh keeps the declared scope (`project_name`, `region`) in the refreshed inputs, since CTS
does not report it, and adds none that the program left to the provider. `get()` registers only
placeholders and an id; the engine then sends Read with those placeholders as both state and inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.dynamic import Resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config

from pulumi_cts import DataTracker, Notification, Tracker
from pulumi_cts.checks import PROVIDER_KEY
from pulumi_cts.scope import DECLARED_SCOPE, SCOPE_FIELDS
from tests.integration.conftest import CtsApi
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET, REGION
from tests.support.engine import EngineHarness

SCOPE = {"project_name": f"{REGION}_audit", "region": REGION}
TOPIC_PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def tracker_program() -> dict[str, Any]:
    return {"bucket_name": BUCKET, "is_support_trace_files_encryption": True, "kms_id": KMS_KEY}


def data_tracker_program() -> dict[str, Any]:
    return {"tracker_name": "orders-audit", "data_bucket": {"data_bucket_name": BUCKET}, "bucket_name": OTHER_BUCKET}


def notification_program() -> dict[str, Any]:
    return {
        "notification_name": "all_key_events",
        "operation_type": "complete",
        "topic_id": f"urn:smn:{REGION}:{TOPIC_PROJECT}:cts-alerts",
    }


def refreshed_inputs(engine: EngineHarness, program: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    created = engine.create(engine.check({}, {**program, **SCOPE}).inputs)
    read = engine.read(created.id, created.outputs)
    assert read.id == created.id and read.inputs is not None
    return read.inputs, read.outputs


def test_refresh_keeps_the_declared_scope_of_a_tracker(configured_engine: EngineHarness) -> None:
    inputs, outputs = refreshed_inputs(configured_engine, tracker_program())
    assert {k: inputs.get(k) for k in SCOPE} == SCOPE
    assert outputs["project_name"] == SCOPE["project_name"]


def test_refresh_keeps_the_declared_scope_of_a_data_tracker(data_engine: EngineHarness) -> None:
    inputs, _outputs = refreshed_inputs(data_engine, data_tracker_program())
    assert {k: inputs.get(k) for k in SCOPE} == SCOPE
    assert inputs["tracker_name"] == "orders-audit"


def test_refresh_keeps_the_declared_scope_of_a_notification(notification_engine: EngineHarness) -> None:
    inputs, _outputs = refreshed_inputs(notification_engine, notification_program())
    assert {k: inputs.get(k) for k in SCOPE} == SCOPE
    assert inputs["notification_name"] == "all_key_events"


@dataclass
class _Lookups(pulumi.runtime.Mocks):
    """Records what a program registers for `get()`: the id and the placeholder properties."""

    reads: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.reads.append((args.resource_id, dict(args.inputs)))
        return args.resource_id, {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"get() makes no calls, got {args.token}")


def registered_by_get(get: Callable[[], Resource]) -> tuple[str | None, dict[str, Any]]:
    """The id and properties a `get()` registers, as the engine receives them."""
    mocks = _Lookups()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="lookup", stack="test", preview=False)
    try:
        decorate: Callable[[Callable[[], Any]], Callable[[], None]] = pulumi.runtime.test
        decorate(lambda: get().urn)()
    finally:
        set_all_config({})
        runtime_settings.reset_options()
    [(resource_id, props)] = mocks.reads
    # The engine strips the secret wrapper before the provider sees the blob.
    return resource_id, {**props, PROVIDER_KEY: rpc.unwrap_rpc_secret(props[PROVIDER_KEY])}


def read_by_id(engine: EngineHarness, get: Callable[[], Resource]) -> dict[str, Any]:
    resource_id, placeholders = registered_by_get(get)
    assert resource_id is not None
    got = engine.read(resource_id, placeholders, placeholders)
    assert got.id == resource_id
    return got.outputs


def test_tracker_get_reads_by_id_alone(configured_engine: EngineHarness, cts_api: CtsApi) -> None:
    configured_engine.create(configured_engine.check({}, tracker_program()).inputs)
    outputs = read_by_id(configured_engine, lambda: Tracker.get("found", f"{cts_api.project_id}/system"))
    assert (outputs["bucket_name"], outputs["kms_id"]) == (BUCKET, KMS_KEY)


def test_data_tracker_get_reads_by_id_alone(data_engine: EngineHarness, cts_api: CtsApi) -> None:
    data_engine.create(data_engine.check({}, data_tracker_program()).inputs)
    outputs = read_by_id(data_engine, lambda: DataTracker.get("found", f"{cts_api.project_id}/orders-audit"))
    assert outputs["tracker_name"] == "orders-audit"
    assert outputs["data_bucket"]["data_bucket_name"] == BUCKET and outputs["bucket_name"] == OTHER_BUCKET


def test_notification_get_reads_by_id_alone(notification_engine: EngineHarness, cts_api: CtsApi) -> None:
    created = notification_engine.create(notification_engine.check({}, notification_program()).inputs)
    outputs = read_by_id(notification_engine, lambda: Notification.get("found", created.id))
    assert outputs["notification_id"] == created.outputs["notification_id"]
    assert outputs["notification_name"] == "all_key_events" and outputs["operation_type"] == "complete"


PROGRAMS = {
    "configured_engine": tracker_program,
    "data_engine": data_tracker_program,
    "notification_engine": notification_program,
}


@pytest.mark.parametrize("engine_name", list(PROGRAMS))
def test_refresh_invents_no_scope_the_program_left_to_the_provider(
    request: pytest.FixtureRequest, engine_name: str
) -> None:
    engine: EngineHarness = request.getfixturevalue(engine_name)
    program = PROGRAMS[engine_name]()
    created = engine.create(engine.check({}, program).inputs)
    assert created.outputs[DECLARED_SCOPE] == []
    read = engine.read(created.id, created.outputs)
    assert read.inputs is not None
    # The outputs say where the resource lives; the refreshed inputs stay what the program declared.
    assert read.outputs["region"] == REGION and read.outputs["project_id"] == created.outputs["project_id"]
    assert [key for key in SCOPE_FIELDS if key in read.inputs] == []
    assert read.outputs[DECLARED_SCOPE] == []


def test_refresh_keeps_only_the_part_of_the_scope_that_was_declared(configured_engine: EngineHarness) -> None:
    created = configured_engine.create(configured_engine.check({}, {**tracker_program(), "region": REGION}).inputs)
    assert created.outputs[DECLARED_SCOPE] == ["region"]
    read = configured_engine.read(created.id, created.outputs)
    assert read.inputs is not None
    assert {key: read.inputs.get(key) for key in SCOPE_FIELDS} == {
        "project_name": None,
        "project_id": None,
        "region": REGION,
    }


def test_a_state_written_before_the_record_keeps_every_scope_field_it_holds(
    configured_engine: EngineHarness,
) -> None:
    created = configured_engine.create(configured_engine.check({}, tracker_program()).inputs)
    older = {k: v for k, v in created.outputs.items() if k != DECLARED_SCOPE}
    read = configured_engine.read(created.id, older)
    assert read.inputs is not None
    assert read.inputs["region"] == REGION and read.inputs["project_id"] == created.outputs["project_id"]
