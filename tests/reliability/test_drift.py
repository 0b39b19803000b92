"""Drift: changes made outside Pulumi are seen by `read` (refresh) and undone by the next update or create.

Each test follows the engine's order: refresh (`read` with the stored outputs), then `up` (`check`,
`diff` against the refreshed outputs, then `update` or, for a resource dropped from state, `create`).
"""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts import TrackerProvider
from pulumi_cts.emulator import Emulator
from tests.reliability.conftest import Console, checked, program, requests_of, trackers, with_provider
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET

DECLARED: dict[str, Any] = {
    "bucket_name": BUCKET,
    "file_prefix_name": "declared",
    "is_support_trace_files_encryption": True,
    "kms_id": KMS_KEY,
    "log_file_validate": {"is_support_validate": True},
    "lts": {"is_lts_enabled": False},
    "status": "enabled",
}

DRIFTS: dict[str, dict[str, Any]] = {
    "disabled": {"status": "disabled"},
    "re-pointed to another bucket": {"bucket_name": OTHER_BUCKET, "file_prefix_name": "elsewhere"},
    "prefix changed": {"file_prefix_name": "someone-else"},
    "validation off": {"log_file_validate": {"is_support_validate": False}},
    "encryption off": {"is_support_trace_files_encryption": False, "kms_id": ""},
    "lts on": {"lts": {"is_lts_enabled": True}},
}


def service_settings(console: Console) -> dict[str, Any]:
    tracker = console.tracker()
    assert tracker is not None
    return {
        "bucket_name": tracker["bucket_name"],
        "file_prefix_name": tracker["file_prefix_name"],
        "is_support_trace_files_encryption": tracker["is_support_trace_files_encryption"],
        "kms_id": tracker["kms_id"],
        "log_file_validate": tracker["log_file_validate"],
        "lts": {"is_lts_enabled": tracker["lts"]["is_lts_enabled"]},
        "status": tracker["status"],
    }


@pytest.mark.parametrize("drift", list(DRIFTS.values()), ids=list(DRIFTS))
def test_a_change_outside_pulumi_is_detected_by_read_and_undone_by_update(
    emulator: Emulator, provider: TrackerProvider, console: Console, drift: dict[str, Any]
) -> None:
    inputs = checked(provider, program(**DECLARED))
    created = provider.create(inputs)
    assert service_settings(console) == DECLARED
    console.update(**drift)

    refreshed = provider.read(created.id, with_provider(created.outs))

    assert refreshed.id == created.id
    outs, refreshed_inputs = refreshed.outs, refreshed.inputs
    assert outs is not None and refreshed_inputs is not None
    for key, value in drift.items():
        if key == "kms_id":
            assert outs[key] == (value or None)
        elif key == "lts":
            assert outs[key]["is_lts_enabled"] == value["is_lts_enabled"]
            assert refreshed_inputs[key] == value
        else:
            assert outs[key] == value, key
            assert refreshed_inputs[key] == value, key
    diff = provider.diff(created.id, with_provider(refreshed.outs), inputs)
    assert diff.changes is True
    assert diff.replaces == []

    updated = provider.update(created.id, with_provider(refreshed.outs), inputs)

    assert service_settings(console) == DECLARED
    assert updated.outs is not None and updated.outs["status"] == "enabled"
    settled = provider.read(created.id, with_provider(updated.outs))
    assert provider.diff(created.id, with_provider(settled.outs), inputs).changes is False


def test_a_re_pointed_tracker_whose_bucket_cts_created_is_restored(
    emulator: Emulator, provider: TrackerProvider, console: Console
) -> None:
    inputs = checked(provider, program(bucket_name="reliability-created-by-cts", is_obs_created=True))
    created = provider.create(inputs)
    console.update(bucket_name=OTHER_BUCKET)
    refreshed = provider.read(created.id, with_provider(created.outs))
    assert provider.diff(created.id, with_provider(refreshed.outs), inputs).changes is True

    provider.update(created.id, with_provider(refreshed.outs), inputs)

    tracker = console.tracker()
    assert tracker is not None and tracker["bucket_name"] == "reliability-created-by-cts"


def test_a_tracker_deleted_outside_pulumi_is_dropped_by_read_and_created_again(
    emulator: Emulator, provider: TrackerProvider, console: Console
) -> None:
    inputs = checked(provider, program(**{**DECLARED, "status": "disabled"}))
    created = provider.create(inputs)
    console.delete()

    refreshed = provider.read(created.id, with_provider(created.outs))

    # An empty id tells the engine that the resource is gone, so `up` creates it again.
    assert refreshed.id == ""
    assert refreshed.outs == {}
    recreated = provider.create(checked(provider, program(**{**DECLARED, "status": "disabled"})))
    assert recreated.id == created.id
    assert service_settings(console) == {**DECLARED, "status": "disabled"}
    assert len(trackers(emulator)) == 1


def test_a_tracker_deleted_outside_pulumi_is_recreated_by_an_update_without_refresh(
    emulator: Emulator, provider: TrackerProvider, console: Console
) -> None:
    created = provider.create(checked(provider, program(**DECLARED)))
    console.delete()
    news = checked(provider, program(**{**DECLARED, "file_prefix_name": "changed", "status": "disabled"}))

    updated = provider.update(created.id, with_provider(created.outs), news)

    assert service_settings(console) == {**DECLARED, "file_prefix_name": "changed", "status": "disabled"}
    assert updated.outs is not None
    assert updated.outs["file_prefix_name"] == "changed" and updated.outs["status"] == "disabled"
    assert len(trackers(emulator)) == 1


def test_a_tracker_deleted_twice_is_not_an_error(
    emulator: Emulator, provider: TrackerProvider, console: Console
) -> None:
    created = provider.create(checked(provider, program()))
    state = with_provider(created.outs)
    console.delete()
    emulator.control.clear_requests()

    provider.delete(created.id, state)
    provider.delete(created.id, state)

    assert trackers(emulator) == {}
    deletes = requests_of(emulator, "cts", "DELETE")
    assert [r["status"] for r in deletes] == [404, 404]
    assert console.tracker() is None
