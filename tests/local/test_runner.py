"""The local runner end to end: a program under the real SDK runtime, its dynamic resources through a real
`python -m pulumi.dynamic` process, the CTS emulator behind the tracker."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable

import pytest

from pulumi_cts.emulator import Emulator
from pulumi_cts.local import LocalRunError, LocalStack, stand_in_id
from pulumi_cts.local.state import state_path
from pulumi_cts.local.wire import is_secret
from tests.local.conftest import CallLog

Features = Callable[..., LocalStack]
TRACKER_TYPE = "pulumi-python:dynamic/cts:Tracker"
RECORD_TYPE = "pulumi-python:dynamic/test:Record"


def ops(summary: dict[str, object]) -> dict[str, str]:
    """`{resource name: op}` of a summary's steps."""
    steps = summary["steps"]
    assert isinstance(steps, list)
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in steps}


def trackers(emulator: Emulator) -> dict[str, dict[str, object]]:
    return dict(emulator.control.state()["trackers"])


def test_an_output_of_one_dynamic_resource_feeds_the_tracker(
    features: Features, call_log: CallLog, cts_emulator: Emulator
) -> None:
    stack = features()

    preview = stack.preview()
    assert preview["operation"] == "preview"
    assert preview["changes"] == {"create": 3, "update": 0, "delete": 0, "replace": 0, "same": 0}
    # Computed by the provider at create time: Unknown in a preview, as with the Pulumi engine.
    assert preview["outputs"]["recordName"] == "[unknown]"
    assert preview["outputs"]["trackerBucket"] == "[unknown]"
    assert preview["outputs"]["trackerId"] == "[unknown]"
    # An output that echoes a known input is known.
    assert preview["outputs"]["recordLabel"] == "audit-trail"
    assert call_log.lines() == []
    assert trackers(cts_emulator) == {}
    assert not state_path(stack.state_dir, "test").exists()

    up = stack.up()
    assert ops(up) == {"features-test": "create", "source": "create", "audit-trail": "create"}
    assert up["outputs"]["trackerBucket"] == "audit-trail-bucket"
    assert str(up["outputs"]["trackerId"]).endswith("/system")
    assert up["outputs"]["secretNote"] == "[secret]"
    assert call_log.lines() == ["create audit-trail"]
    [tracker] = trackers(cts_emulator).values()
    assert tracker["bucket_name"] == "audit-trail-bucket"

    assert stack.outputs()["secretNote"] == "only-in-state"
    state_file = state_path(stack.state_dir, "test")
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    text = state_file.read_text(encoding="utf-8")
    assert "emulator-accepts-any-password" not in text
    assert is_secret(json.loads(text)["outputs"]["secretNote"])

    again = stack.preview(expect_no_changes=True)
    assert set(ops(again).values()) == {"same"}
    assert again["outputs"]["trackerBucket"] == "audit-trail-bucket"


def test_replace_creates_before_deleting_and_ignore_changes_keeps_the_old_input(
    features: Features, call_log: CallLog
) -> None:
    features(tracker=False, label="first-label").up()
    replaced = features(tracker=False, label="second-label").up()
    assert ops(replaced)["source"] == "replace"
    assert replaced["steps"][1]["diffs"] == ["label"]
    assert call_log.lines() == ["create first-label", "create second-label", "delete first-label"]
    assert replaced["outputs"]["recordName"] == "second-label-bucket"

    ignored = features(tracker=False, label="second-label", note="changed", ignoreNote=True)
    ignored.preview(expect_no_changes=True)
    updated = features(tracker=False, label="second-label", note="changed").up()
    assert ops(updated)["source"] == "update"
    assert updated["steps"][1]["diffs"] == ["note"]
    assert call_log.lines()[-1] == "update second-label"


def test_a_protected_resource_is_not_deleted(features: Features, call_log: CallLog) -> None:
    features(tracker=False, protect=True).up()
    with pytest.raises(LocalRunError) as failure:
        features(tracker=False, protect=True).destroy()
    assert "source" in str(failure.value)
    assert "protected" in str(failure.value)
    assert "delete audit-trail" not in call_log.lines()
    assert [r.name for r in features().state().resources if r.custom] == ["source"]

    features(tracker=False, protect=False).up()
    features(tracker=False).destroy()
    assert call_log.lines()[-1] == "delete audit-trail"
    assert features().state().resources == []


def test_resources_that_left_the_program_are_deleted_after_it_dependents_first(
    features: Features, call_log: CallLog, cts_emulator: Emulator
) -> None:
    features(groupSize=2).up()
    assert len(trackers(cts_emulator)) == 1
    # The SDK registers the two group members at the same time, so either may come first.
    lines = call_log.lines()
    assert lines[0] == "create audit-trail" and sorted(lines[1:]) == ["create group-0", "create group-1"]

    removed = features(tracker=False, groupSize=0).up()
    deleted = [step["urn"].rsplit("::", 1)[-1] for step in removed["steps"] if step["op"] == "delete"]
    # Children before their component; the tracker (which depends on `source`) is gone from the emulator.
    assert deleted.index("group-0") < deleted.index("group")
    assert deleted.index("group-1") < deleted.index("group")
    assert set(deleted) == {"audit-trail", "group", "group-0", "group-1"}
    assert removed["changes"]["delete"] == 4
    assert trackers(cts_emulator) == {}
    assert "trackerId" not in removed["outputs"]
    assert sorted(call_log.lines()[3:]) == ["delete group-0", "delete group-1"]


def test_retain_on_delete_drops_the_resource_without_deleting_it(features: Features, call_log: CallLog) -> None:
    features(tracker=False, groupSize=1, retainGroup=True).up()
    features(tracker=False, groupSize=0).up()
    assert call_log.lines() == ["create audit-trail", "create group-0"]
    assert [r.name for r in features().state().resources] == ["features-test", "source"]


def test_a_failed_create_keeps_what_the_run_did(features: Features, call_log: CallLog, cts_emulator: Emulator) -> None:
    cts_emulator.control.add_fault(
        service="cts", method="POST", status=400, error_code="CTS.0001", error_msg="injected by the test"
    )
    result = features().run("up")
    assert result.exit_code == 1
    assert "audit-trail" in result.error
    assert TRACKER_TYPE in result.error
    assert "CTS.0001" in result.error
    assert "Traceback" not in result.error
    # The resource created before the failure is in the state; the tracker is not.
    state = features().state()
    assert [r.name for r in state.resources if r.custom] == ["source"]
    assert call_log.lines() == ["create audit-trail"]

    cts_emulator.control.clear_faults()
    retried = features().up()
    assert ops(retried)["source"] == "same"
    assert ops(retried)["audit-trail"] == "create"
    assert call_log.lines() == ["create audit-trail"]


def test_a_foreign_type_needs_a_stand_in(features: Features) -> None:
    result = features(tracker=False, foreign=True).run("up")
    assert result.exit_code == 1
    assert "huaweicloud:Obs/bucket:Bucket" in result.error
    assert "Pulumi CLI" in result.error
    assert "--stand-in" in result.error

    up = features(tracker=False, foreign=True, stand_ins=("huaweicloud:Obs/bucket:Bucket",)).up()
    urn = next(step["urn"] for step in up["steps"] if step["type"] == "huaweicloud:Obs/bucket:Bucket")
    assert up["outputs"]["foreignBucketId"] == stand_in_id(urn)


def test_a_stack_reference_reads_another_stack_of_the_state_folder(features: Features) -> None:
    missing = features("app", tracker=False, baseStack="organization/features/base").run("up")
    assert missing.exit_code == 1
    assert "no stack 'base'" in missing.error

    features("base", tracker=False, label="base-label").up()
    app = features("app", tracker=False, baseStack="organization/features/base").up()
    assert app["outputs"]["baseRecordName"] == "base-label-bucket"
