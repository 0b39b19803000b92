"""Engine semantics of the local runner: component resources, `depends_on`, `Resource.get` of a dynamic
type and a function call (invoke), through the `semantics` program against the CTS emulator.

Each run starts the program and a provider process, so each test strings its scenarios through few runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_cts.cli import main
from pulumi_cts.emulator import Emulator
from pulumi_cts.local import LocalStack
from tests.emulator.helpers import Api
from tests.local.conftest import PROGRAMS, CallLog

SEMANTICS = PROGRAMS / "semantics"
PREFIX = "urn:pulumi:test::semantics::"
TRACKER_TYPE = "pulumi-python:dynamic/cts:Tracker"
STEP_TYPE = "pulumi-python:dynamic/test:Step"
COMPONENT_TRACKER_URN = f"{PREFIX}test:index:AuditSetup$test:index:TrackerGroup${TRACKER_TYPE}::audit-trail"
INVOKE_TOKEN = "huaweicloud:Obs/getBucket:getBucket"

Semantics = Callable[..., LocalStack]


@pytest.fixture
def semantics(cts_local_stack: Callable[..., LocalStack], call_log: CallLog) -> Semantics:
    """`semantics(**config)`: the `semantics` program with that config, stack `test`."""

    def make(**config: Any) -> LocalStack:
        values = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in config.items()}
        return cts_local_stack(SEMANTICS, config={"logFile": str(call_log.path), **values})

    return make


def ops(summary: dict[str, Any]) -> dict[str, str]:
    """`{urn: op}` of a summary's steps, in step order."""
    return {step["urn"]: step["op"] for step in summary["steps"]}


def order(summary: dict[str, Any], op: str) -> list[str]:
    """The names of the resources with that op, in step order."""
    return [step["urn"].rsplit("::", 1)[-1] for step in summary["steps"] if step["op"] == op]


def before(items: list[str], first: str, second: str) -> bool:
    return items.index(first) < items.index(second)


def test_components_and_depends_on_order_creates_and_deletes(
    semantics: Semantics, call_log: CallLog, cts_emulator: Emulator
) -> None:
    created = semantics(component=True, ordering=True, early=True).up()

    # URNs as the engine makes them: the parents' whole type chain, the root stack's type left out.
    assert ops(created) == {
        f"{PREFIX}pulumi:pulumi:Stack::semantics-test": "create",
        f"{PREFIX}test:index:AuditSetup::audit": "create",
        f"{PREFIX}test:index:AuditSetup$test:index:TrackerGroup::audit-trackers": "create",
        COMPONENT_TRACKER_URN: "create",
        f"{PREFIX}{STEP_TYPE}::slow": "create",
        f"{PREFIX}{STEP_TYPE}::upstream": "create",
        f"{PREFIX}{STEP_TYPE}::downstream": "create",
        f"{PREFIX}{STEP_TYPE}::early": "create",
    }
    assert created["outputs"]["componentTrackerUrn"] == COMPONENT_TRACKER_URN
    [tracker] = cts_emulator.control.state()["trackers"].values()
    assert created["outputs"]["componentTrackerId"] == f"{tracker['project_id']}/system"
    # `downstream` takes no input from `upstream`: only depends_on holds its create back.
    creates = call_log.lines()
    assert before(creates, "create slow", "create upstream")
    assert before(creates, "create upstream", "create downstream")
    state = semantics().state()
    downstream = next(resource for resource in state.resources if resource.name == "downstream")
    assert f"{PREFIX}{STEP_TYPE}::upstream" in downstream.dependencies

    # `early` (in the state since the first run) now depends on `late`, which is new.
    linked = semantics(component=True, ordering=True, early=True, late=True).up()
    assert order(linked, "create") == ["late"]
    assert linked["changes"] == {"create": 1, "update": 0, "delete": 0, "replace": 0, "same": 8}
    assert call_log.lines()[len(creates) :] == ["create late"]
    names = [resource.name for resource in semantics().state().resources]
    assert before(names, "early", "late")  # so only the dependency, not the state's order, puts `early` first

    # Everything leaves the program: dependents and children go first.
    emptied = semantics().up()
    deleted = order(emptied, "delete")
    assert sorted(deleted) == sorted(
        ["audit", "audit-trackers", "audit-trail", "slow", "upstream", "downstream", "early", "late"]
    )
    assert before(deleted, "audit-trail", "audit-trackers")
    assert before(deleted, "audit-trackers", "audit")
    assert before(deleted, "downstream", "upstream")
    assert before(deleted, "upstream", "slow")
    assert before(deleted, "early", "late")
    deletes = call_log.lines()[len(creates) + 1 :]
    assert sorted(deletes) == ["delete downstream", "delete early", "delete late", "delete slow", "delete upstream"]
    assert before(deletes, "delete downstream", "delete upstream")
    assert before(deletes, "delete early", "delete late")
    assert cts_emulator.control.state()["trackers"] == {}
    assert [resource.type for resource in semantics().state().resources] == ["pulumi:pulumi:Stack"]


def test_get_reads_a_tracker_the_program_does_not_manage(semantics: Semantics, cts_emulator: Emulator) -> None:
    api = Api(cts_emulator.base_url)
    try:
        login = api.login()
        answer = api.create(login, {"bucket_name": "audit-trail-bucket", "file_prefix_name": "console"})
        assert answer.status_code in (200, 201), answer.text
    finally:
        api.close()
    tracker_id = f"{login.project_id}/system"
    before_run = cts_emulator.control.state()["trackers"]

    read = semantics(existingTrackerId=tracker_id).up()
    urn = f"{PREFIX}{TRACKER_TYPE}::existing"
    assert ops(read)[urn] == "read"
    # The stack is the only create: a read changes nothing.
    assert read["changes"] == {"create": 1, "update": 0, "delete": 0, "replace": 0, "same": 0}
    # The program declared only an empty bucket name: these values come from CTS, through the provider's read.
    assert read["outputs"] == {
        "existingBucket": "audit-trail-bucket",
        "existingPrefix": "console",
        "existingStatus": "enabled",
    }
    [existing] = [resource for resource in semantics().state().resources if resource.urn == urn]
    assert existing.id == tracker_id
    assert existing.external

    # Leaving the program drops it from the stack; CTS keeps the tracker.
    dropped = semantics().up()
    assert ops(dropped)[urn] == "discard"
    assert dropped["changes"]["delete"] == 0
    assert cts_emulator.control.state()["trackers"] == before_run
    assert [resource.urn for resource in semantics().state().resources if resource.custom] == []


def test_an_invoke_stops_the_run_and_names_the_function(
    cts_stack_config: dict[str, str], call_log: CallLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["local", "up", "--cwd", str(SEMANTICS), "--stack", "test", "--state-dir", str(tmp_path / "state")]
    for key, value in {**cts_stack_config, "logFile": str(call_log.path), "invoke": INVOKE_TOKEN}.items():
        args += ["--config", f"{key}={value}"]

    assert main([*args, "--secret", "cts:password=invoke-test-password"]) == 1
    captured = capsys.readouterr()
    assert INVOKE_TOKEN in captured.err
    assert "needs the Pulumi CLI" in captured.err
    assert "Traceback" not in captured.out + captured.err
