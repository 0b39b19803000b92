"""The provider as the Pulumi engine sees it: gRPC calls to `python -m pulumi.dynamic`, backed by the
emulator. Shapes follow the engine: Diff/Update/Read/Delete get the previous *outputs*, numbers
arrive as floats, preview values may be unknown, `__provider` travels in every property bag.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
import requests
from pulumi.runtime import rpc

from pulumi_cts.emulator import Emulator
from tests.integration.conftest import CtsApi
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET, REGION
from tests.support.engine import PROVIDER_KEY, EngineCallError, EngineHarness

PROGRAM: dict[str, Any] = {
    "bucket_name": BUCKET,
    "file_prefix_name": "audit",
    "is_support_trace_files_encryption": True,
    "kms_id": KMS_KEY,
    "log_file_validate": {"is_support_validate": True},
    "lts": {"is_lts_enabled": False},
    "status": "enabled",
    # Read-only outputs are registered as None placeholders, as `Tracker` does.
    "tracker_name": None,
    "detail": None,
    "create_time": None,
    "domain_id": None,
}


def _assert_secret_absent(engine: EngineHarness, secret: str) -> None:
    transcript = "\n".join(engine.transcript)
    assert engine.transcript, "no engine call was recorded"
    assert secret not in transcript, "the password appears in a provider response"
    assert secret not in engine.stderr_text(), "the password appears in the provider's log output"
    assert secret not in engine.stdout_text()


def _settings(outputs: dict[str, Any]) -> dict[str, Any]:
    keys = ("bucket_name", "file_prefix_name", "status", "kms_id", "is_support_trace_files_encryption")
    return {k: outputs.get(k) for k in keys} | {
        "validate": outputs["log_file_validate"]["is_support_validate"],
        "lts": outputs["lts"]["is_lts_enabled"],
    }


def test_configure_takes_the_stack_config(engine: EngineHarness, stack_config: dict[str, Any]) -> None:
    result = engine.configure(stack_config, secret_keys=("cts:password",))
    # Secrets reach the provider unwrapped; the server does not claim to keep them.
    assert result.accept_secrets is False
    assert engine.get_plugin_info() == "0.1.0"
    assert engine.is_running()


def test_harness_stops_the_provider_process() -> None:
    with EngineHarness() as harness:
        assert harness.is_running()
        assert harness.get_plugin_info() == "0.1.0"
    assert not harness.is_running()
    with pytest.raises(RuntimeError, match="not started"):
        harness.get_plugin_info()


def test_check_accepts_valid_inputs_as_sent(configured_engine: EngineHarness) -> None:
    checked = configured_engine.check({}, PROGRAM)

    assert checked.failures == []
    inputs = checked.inputs
    assert inputs["bucket_name"] == BUCKET
    assert inputs["is_support_trace_files_encryption"] is True
    assert inputs["log_file_validate"] == {"is_support_validate": True}
    assert inputs["lts"] == {"is_lts_enabled": False}
    # Defaults are filled in, the read-only placeholders are dropped and the blob is kept.
    assert inputs["is_obs_created"] is False
    assert "tracker_name" not in inputs
    assert inputs[PROVIDER_KEY] == configured_engine.blob


def test_check_names_each_bad_field_without_raising(configured_engine: EngineHarness) -> None:
    bad = dict(PROGRAM, bucket_name="Bad_Bucket!", is_obs_created=1.0, status="paused", colour="blue")
    bad.pop("kms_id")

    checked = configured_engine.check({}, bad)

    failed = checked.failed_properties
    assert "bucket_name" in failed
    # Numbers arrive as floats: 1.0 is not a boolean.
    assert "is_obs_created" in failed
    assert "status" in failed
    assert "colour" in failed
    assert "kms_id" in failed  # encryption on without a key
    reasons = dict(checked.failures)
    assert "bucket_name" in reasons["bucket_name"]


def test_check_passes_preview_unknowns_through(configured_engine: EngineHarness) -> None:
    checked = configured_engine.check({}, dict(PROGRAM, bucket_name=rpc.UNKNOWN, kms_id=rpc.UNKNOWN))

    assert checked.failures == []
    assert checked.inputs["bucket_name"] == rpc.UNKNOWN
    assert checked.inputs["kms_id"] == rpc.UNKNOWN


def test_tracker_lifecycle(
    configured_engine: EngineHarness, emulator: Emulator, cts_api: CtsApi, password: str
) -> None:
    engine = configured_engine
    inputs = engine.check({}, PROGRAM).inputs

    # -- up: create -------------------------------------------------------------------------------
    created = engine.create(inputs)
    outputs = created.outputs
    assert created.id == f"{cts_api.project_id}/system"
    assert outputs["project_id"] == cts_api.project_id
    assert outputs["tracker_name"] == "system"
    assert outputs["status"] == "enabled"
    assert outputs["region"] == REGION
    assert outputs[PROVIDER_KEY] == engine.blob
    assert _settings(outputs) == {
        "bucket_name": BUCKET,
        "file_prefix_name": "audit",
        "status": "enabled",
        "kms_id": KMS_KEY,
        "is_support_trace_files_encryption": True,
        "validate": True,
        "lts": False,
    }
    remote = cts_api.tracker()
    assert remote["bucket_name"] == BUCKET
    assert remote["file_prefix_name"] == "audit"
    posts = [r for r in emulator.control.requests(service="cts") if r["method"] == "POST"]
    assert len(posts) == 1

    # -- refresh: nothing changed ---------------------------------------------------------------
    refreshed = engine.read(created.id, outputs, inputs)
    assert refreshed.id == created.id
    assert refreshed.outputs == outputs
    assert refreshed.inputs is not None
    assert _settings(refreshed.inputs) == _settings(inputs)

    # -- preview of the same program: no changes ---------------------------------------------------
    same = engine.diff(created.id, outputs, engine.check(inputs, PROGRAM).inputs)
    assert same.changes == "DIFF_NONE"
    assert same.replaces == []

    # -- preview with a bucket that is not known yet (e.g. from another resource) -------------------
    preview_news = engine.check(inputs, dict(PROGRAM, bucket_name=rpc.UNKNOWN)).inputs
    unknown = engine.diff(created.id, outputs, preview_news)
    assert unknown.changes == "DIFF_SOME"
    assert unknown.replaces == []

    # -- drift: someone disables the tracker and changes the prefix in the console --------------
    cts_api.update_tracker(
        {
            "bucket_name": BUCKET,
            "file_prefix_name": "console",
            "is_support_trace_files_encryption": True,
            "kms_id": KMS_KEY,
            "log_file_validate": {"is_support_validate": True},
            "status": "disabled",
        }
    )
    drifted = engine.read(created.id, outputs, inputs)
    assert drifted.id == created.id
    assert drifted.outputs["status"] == "disabled"
    assert drifted.outputs["file_prefix_name"] == "console"
    assert drifted.inputs is not None
    assert drifted.inputs["status"] == "disabled"
    assert drifted.inputs["file_prefix_name"] == "console"
    assert drifted.inputs[PROVIDER_KEY] == engine.blob

    # The unchanged program now differs from what CTS has: the next `up` puts it back.
    back = engine.diff(created.id, drifted.outputs, engine.check(drifted.inputs, PROGRAM).inputs)
    assert back.changes == "DIFF_SOME"
    assert back.replaces == []

    # -- a changed program: switch LTS on ------------------------------------------------------------
    changed_program = dict(PROGRAM, lts={"is_lts_enabled": True})
    changed_inputs = engine.check(drifted.inputs, changed_program).inputs
    changed = engine.diff(created.id, drifted.outputs, changed_inputs)
    assert changed.changes == "DIFF_SOME"
    assert changed.replaces == []

    updated = engine.update(created.id, drifted.outputs, changed_inputs, old_inputs=drifted.inputs)
    new_outputs = updated.outputs
    assert new_outputs["lts"]["is_lts_enabled"] is True
    assert new_outputs["status"] == "enabled"
    assert new_outputs["file_prefix_name"] == "audit"
    assert new_outputs["project_id"] == cts_api.project_id
    assert new_outputs[PROVIDER_KEY] == engine.blob
    remote = cts_api.tracker()
    assert remote["status"] == "enabled"
    assert remote["file_prefix_name"] == "audit"
    # A PUT carries the complete desired state, never a sparse body.
    puts = [r for r in emulator.control.requests(service="cts") if r["method"] == "PUT"]
    assert puts[-1]["body"]["kms_id"] == KMS_KEY
    assert puts[-1]["body"]["log_file_validate"] == {"is_support_validate": True}

    after_update = engine.read(created.id, new_outputs, changed_inputs)
    assert after_update.id == created.id
    assert _settings(after_update.outputs) == _settings(new_outputs)
    assert engine.diff(created.id, after_update.outputs, changed_inputs).changes == "DIFF_NONE"

    # -- destroy ---------------------------------------------------------------------------------
    engine.delete(created.id, after_update.outputs, old_inputs=changed_inputs)
    with pytest.raises(requests.HTTPError):
        cts_api.tracker()
    gone = engine.read(created.id, after_update.outputs, changed_inputs)
    assert gone.id == ""
    # Deleting again (e.g. a retried destroy) is not an error.
    engine.delete(created.id, after_update.outputs)

    _assert_secret_absent(engine, password)


def test_create_disabled_tracker(configured_engine: EngineHarness, cts_api: CtsApi, password: str) -> None:
    program = dict(PROGRAM, status="disabled", is_support_trace_files_encryption=False)
    program.pop("kms_id")
    inputs = configured_engine.check({}, program).inputs
    assert inputs["status"] == "disabled"

    created = configured_engine.create(inputs)

    assert created.outputs["status"] == "disabled"
    assert cts_api.tracker()["status"] == "disabled"
    refreshed = configured_engine.read(created.id, created.outputs, inputs)
    assert refreshed.outputs["status"] == "disabled"
    assert configured_engine.diff(created.id, refreshed.outputs, inputs).changes == "DIFF_NONE"
    _assert_secret_absent(configured_engine, password)


def test_moving_the_tracker_to_another_region_is_a_replacement(configured_engine: EngineHarness) -> None:
    inputs = configured_engine.check({}, PROGRAM).inputs
    created = configured_engine.create(inputs)

    moved = configured_engine.check(inputs, dict(PROGRAM, region="eu-nl")).inputs
    diff = configured_engine.diff(created.id, created.outputs, moved)

    assert diff.changes == "DIFF_SOME"
    assert "region" in diff.replaces
    # Moving to another bucket is an in-place update, not a replacement.
    other = configured_engine.check(inputs, dict(PROGRAM, bucket_name=OTHER_BUCKET)).inputs
    assert configured_engine.diff(created.id, created.outputs, other).replaces == []


def test_provider_errors_carry_grpc_details(configured_engine: EngineHarness, password: str) -> None:
    program = dict(PROGRAM, bucket_name="no-such-bucket-here")
    inputs = configured_engine.check({}, program).inputs

    with pytest.raises(EngineCallError) as caught:
        configured_engine.create(inputs)

    error = caught.value
    assert error.method == "Create"
    assert error.code == grpc.StatusCode.UNKNOWN
    assert "CTS.0211" in error.details
    assert "no-such-bucket-here" in str(error) or "bucket" in str(error).lower()
    _assert_secret_absent(configured_engine, password)


def test_an_existing_tracker_is_refused_unless_adopted(
    configured_engine: EngineHarness, cts_api: CtsApi, emulator: Emulator
) -> None:
    first = configured_engine.check({}, PROGRAM).inputs
    configured_engine.create(first)

    with pytest.raises(EngineCallError) as caught:
        configured_engine.create(first)
    assert "adopt_existing" in caught.value.details

    adopted_inputs = configured_engine.check({}, dict(PROGRAM, adopt_existing=True, file_prefix_name="adopted")).inputs
    adopted = configured_engine.create(adopted_inputs)
    assert adopted.id == f"{cts_api.project_id}/system"
    assert cts_api.tracker()["file_prefix_name"] == "adopted"
    assert len(emulator.control.state()["trackers"]) == 1


def test_responses_are_plain_json(configured_engine: EngineHarness) -> None:
    """Outputs must serialize as the engine stores them: JSON-compatible values only."""
    inputs = configured_engine.check({}, PROGRAM).inputs
    created = configured_engine.create(inputs)

    text = json.dumps(created.outputs)
    assert "system" in text
    # Integers such as create_time come back as JSON numbers (floats on the wire).
    assert isinstance(created.outputs["create_time"], float)
    assert created.outputs["create_time"] > 0


def test_get_reads_a_tracker_by_id_alone(configured_engine: EngineHarness, cts_api: CtsApi) -> None:
    # `Tracker.get(name, id)` registers only placeholders; the engine then sends Read with the
    # program's props as both state and inputs.
    created = configured_engine.create(configured_engine.check({}, PROGRAM).inputs)
    placeholders = {"bucket_name": "", "tracker_name": None, "detail": None, PROVIDER_KEY: configured_engine.blob}
    got = configured_engine.read(f"{cts_api.project_id}/system", placeholders, placeholders)
    assert got.id == created.id
    assert got.outputs["bucket_name"] == BUCKET
    assert got.outputs["kms_id"] == KMS_KEY
    assert got.outputs["project_id"] == cts_api.project_id
