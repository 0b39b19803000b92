"""A stateful property test: the provider, driven like the engine drives it, never loses track of a tracker.

Hypothesis interleaves `pulumi up` (create, update, replacement into another project), refresh and destroy
with changes made behind the stack's back, injected faults (5xx bursts, dropped answers, slow answers,
429) and expired tokens. After every step the state the engine would record must equal what the emulator
holds, and no project may hold a tracker the state does not know about.

The provider runs in its own `python -m pulumi.dynamic` process over gRPC, with the production retry
policy's waits shortened (`fast_retries.FAST_POLICY`). In CI (`CI` set) the run is derandomized and small;
to run it longer, set the number of examples and the steps per example:

    PULUMI_CTS_STATEFUL_EXAMPLES=300 PULUMI_CTS_STATEFUL_STEPS=50 \
        .venv/bin/python -m pytest -s -p no:timeout tests/reliability/test_stateful.py
"""

from __future__ import annotations

import collections
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from pulumi_cts.emulator import Emulator
from tests.reliability.conftest import OUTPUT_PLACEHOLDERS, Console, stack_config
from tests.reliability.fast_retries import FAST_POLICY, FastRetryTrackerProvider
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET, PASSWORD, REGION
from tests.support.engine import EngineCallError, EngineHarness

EXAMPLES = int(os.environ.get("PULUMI_CTS_STATEFUL_EXAMPLES", "15"))
STEPS = int(os.environ.get("PULUMI_CTS_STATEFUL_STEPS", "20"))
# Shrinking replays slow examples for minutes; in CI the failure report keeps the unshrunk steps instead.
PHASES = tuple(p for p in Phase if p is not Phase.shrink) if os.environ.get("CI") else tuple(Phase)

OTHER_PROJECT = f"{REGION}_stateful"
# A slow answer either arrives within the read timeout or is abandoned and the request retried.
SLOW_MS = 100
ABANDONED_MS = int(FAST_POLICY.read_timeout * 1000) + 150

ENCRYPTED: dict[str, Any] = {"is_support_trace_files_encryption": True, "kms_id": KMS_KEY}


def _flatten(drawn: dict[str, Any]) -> dict[str, Any]:
    """One program from the drawn parts: the encryption and scope parts are merged in, or left out when empty."""
    plain = {k: v for k, v in drawn.items() if k not in ("encryption", "scope")}
    return {**plain, **drawn["encryption"], **drawn["scope"]}


# What the program declares; every combination is valid, so `check` must pass all of them.
programs = st.fixed_dictionaries(
    {
        "bucket_name": st.sampled_from([BUCKET, OTHER_BUCKET]),
        "file_prefix_name": st.sampled_from(["", "audit", "trail-2"]),
        "status": st.sampled_from(["enabled", "disabled"]),
        "log_file_validate": st.builds(lambda on: {"is_support_validate": on}, st.booleans()),
        "lts": st.builds(lambda on: {"is_lts_enabled": on}, st.booleans()),
        "encryption": st.sampled_from([{}, ENCRYPTED]),
        "scope": st.sampled_from([{}, {"project_name": OTHER_PROJECT}]),
    }
).map(_flatten)

# Changes someone makes with the console or another tool; `None` deletes the tracker.
changes_behind_the_back = st.sampled_from(
    [
        {"status": "disabled"},
        {"status": "enabled"},
        {"bucket_name": OTHER_BUCKET, "file_prefix_name": "moved"},
        {"file_prefix_name": "someone-else"},
        {"log_file_validate": {"is_support_validate": False}},
        {"lts": {"is_lts_enabled": True}},
        None,
    ]
)

faults = st.one_of(
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["cts", "iam"]),
            "method": st.sampled_from([None, "GET", "POST", "PUT", "DELETE"]),
            "status": st.sampled_from([502, 503, 504]),
            "times": st.integers(1, 3),
        }
    ),
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["cts", "iam"]),
            "method": st.sampled_from([None, "POST", "PUT", "DELETE"]),
            "action": st.sampled_from(["drop", "drop_after"]),
            "times": st.just(1),
        }
    ),
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["cts", "iam"]),
            "method": st.sampled_from([None, "GET", "POST", "PUT"]),
            "latency_ms": st.sampled_from([SLOW_MS, ABANDONED_MS]),
            "times": st.just(1),
        }
    ),
    st.fixed_dictionaries(
        {
            "service": st.sampled_from(["cts", "iam"]),
            "status": st.just(429),
            "retry_after": st.sampled_from([0, 0.05]),
            "times": st.integers(1, 2),
        }
    ),
)

# Most engine calls run with one fault waiting for them at the emulator.
troubles = st.one_of(st.none(), faults, faults)

# Fields CTS reports, compared as they are (outputs name CTS's `id` `tracker_id`).
REPORTED = (
    "bucket_name",
    "file_prefix_name",
    "is_support_trace_files_encryption",
    "log_file_validate",
    "lts",
    "status",
    "tracker_name",
    "domain_id",
    "create_time",
)


@dataclass(frozen=True)
class Recorded:
    """One resource as the engine keeps it in the stack's state."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any]

    @property
    def project_id(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def project_name(self) -> str:
        return str(self.outputs["project_name"])


def service_view(tracker: dict[str, Any]) -> dict[str, Any]:
    view = {k: tracker.get(k) for k in REPORTED}
    return {**view, "kms_id": tracker.get("kms_id") or None, "tracker_id": tracker.get("id")}


def state_view(outputs: dict[str, Any]) -> dict[str, Any]:
    view = {k: outputs.get(k) for k in REPORTED}
    return {**view, "kms_id": outputs.get("kms_id") or None, "tracker_id": outputs.get("tracker_id")}


class Tally:
    """What a run did, for the closing figure: steps by rule, faults by kind, examples."""

    def __init__(self) -> None:
        self.steps: collections.Counter[str] = collections.Counter()
        self.faults: collections.Counter[str] = collections.Counter()
        self.examples = 0

    def summary(self) -> str:
        rules = ", ".join(f"{name} {count}" for name, count in sorted(self.steps.items()))
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.faults.items()))
        return f"{self.examples} examples, {sum(self.steps.values())} steps ({rules}); faults: {kinds}"


def fault_kind(fault: dict[str, Any]) -> str:
    if "action" in fault:
        return str(fault["action"])
    if "latency_ms" in fault:
        return "slow" if fault["latency_ms"] < ABANDONED_MS else "abandoned"
    return "429" if fault["status"] == 429 else "5xx"


def make_machine(emulator: Emulator, engine: EngineHarness, tally: Tally) -> type[RuleBasedStateMachine]:
    class TrackerLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            emulator.control.reset()
            self._hold_fresh_tokens()
            tally.examples += 1
            self.resource: Recorded | None = None
            # Changed behind the stack's back since the provider last looked: state and service may differ.
            self.drifted = False
            self.fault: dict[str, Any] | None = None
            self.tokens_expired = False
            self.history: list[str] = []

        @staticmethod
        def _hold_fresh_tokens() -> None:
            """Leave the provider process with a valid token for every scope an example uses.

            The process outlives examples, and a reset forgets the tokens it holds. Without this, the first call
            of an example would cost a 401 or not depending on the examples before it, and a replayed example
            could take another path.
            """
            for project_name in (REGION, OTHER_PROJECT):
                inputs = engine.check({}, {"bucket_name": BUCKET, "project_name": project_name}).inputs
                created = engine.create(inputs)  # a token for the project by name
                engine.delete(created.id, created.outputs, inputs)  # and one for it by id
            emulator.control.clear_requests()

        # -- the engine's side ---------------------------------------------------------------

        def _engine(self, step: str, fault: dict[str, Any] | None, action: Callable[[], None]) -> None:
            """Run one engine operation under `fault` (sent to the emulator first); it must still succeed."""
            tally.steps[step] += 1
            self.history.append(step if fault is None else f"{step} under {fault}")
            if fault is not None:
                tally.faults[fault_kind(fault)] += 1
                self.fault = {**fault, "id": emulator.control.add_fault(**fault)}
            try:
                action()
            except EngineCallError as error:
                pytest.fail(f"{step} failed under fault {self.fault} after {self.history}:\n{error.details[:2000]}")
            finally:
                self.tokens_expired = False
                self._settle()

        def _settle(self) -> None:
            """Drop an unused fault; wait until a slow request the provider abandoned has been served, so it
            cannot land in the middle of a later step."""
            fault, self.fault = self.fault, None
            if fault is None:
                return
            pending = {rule["id"] for rule in emulator.control.faults()}
            emulator.control.clear_faults()
            if fault["id"] in pending or not fault.get("latency_ms"):
                return
            deadline = time.monotonic() + 5
            while not any(r["fault_id"] == fault["id"] for r in emulator.control.requests()):
                assert time.monotonic() < deadline, f"the slow request of {fault} was never served"
                time.sleep(0.02)

        def _checked(self, olds: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
            result = engine.check(olds, {**declared, **OUTPUT_PLACEHOLDERS})
            assert result.failures == [], result.failures
            return result.inputs

        def _create(self, inputs: dict[str, Any]) -> Recorded:
            created = engine.create(inputs)
            assert created.id, "a create must return an id"
            return Recorded(created.id, created.outputs, inputs)

        @precondition(lambda self: self.resource is None)
        @rule(declared=programs, fault=troubles)
        def create(self, declared: dict[str, Any], fault: dict[str, Any] | None) -> None:
            def up() -> None:
                self.resource = self._create(self._checked({}, declared))
                self.drifted = False

            self._engine("create", fault, up)

        @precondition(lambda self: self.resource is not None)
        @rule(declared=programs, fault=troubles)
        def update(self, declared: dict[str, Any], fault: dict[str, Any] | None) -> None:
            def up() -> None:
                old = self.resource
                assert old is not None
                inputs = self._checked(old.inputs, declared)
                diff = engine.diff(old.id, old.outputs, inputs, old.inputs)
                if diff.replaces:
                    # Create the replacement first, then delete the old one (no delete_before_replace).
                    assert not diff.delete_before_replace
                    replacement = self._create(inputs)
                    self.resource = replacement
                    engine.delete(old.id, old.outputs, old.inputs)
                    self.drifted = False
                elif diff.has_changes:
                    updated = engine.update(old.id, old.outputs, inputs, old.inputs)
                    self.resource = Recorded(old.id, updated.outputs, inputs)
                    self.drifted = False
                else:
                    self.resource = Recorded(old.id, old.outputs, inputs)

            self._engine("update", fault, up)

        @precondition(lambda self: self.resource is not None)
        @rule(fault=troubles)
        def refresh(self, fault: dict[str, Any] | None) -> None:
            def read() -> None:
                old = self.resource
                assert old is not None
                refreshed = engine.read(old.id, old.outputs, old.inputs)
                if refreshed.id:
                    assert refreshed.id == old.id
                    self.resource = Recorded(old.id, refreshed.outputs, refreshed.inputs or old.inputs)
                else:
                    self.resource = None
                self.drifted = False

            self._engine("refresh", fault, read)

        @precondition(lambda self: self.resource is not None)
        @rule(fault=troubles)
        def destroy(self, fault: dict[str, Any] | None) -> None:
            def delete() -> None:
                old = self.resource
                assert old is not None
                engine.delete(old.id, old.outputs, old.inputs)
                self.resource = None
                self.drifted = False

            self._engine("destroy", fault, delete)

        # -- the world's side ----------------------------------------------------------------

        @precondition(lambda self: self.resource is not None and not self.drifted)
        @rule(change=changes_behind_the_back)
        def change_behind_the_stack(self, change: dict[str, Any] | None) -> None:
            assert self.resource is not None
            tally.steps["change behind the stack"] += 1
            self.history.append(f"change {change}")
            console = Console(emulator.base_url, self.resource.project_name)
            try:
                if console.tracker() is None:
                    return
                if change is None:
                    console.delete()
                else:
                    console.update(**change)
                self.drifted = True
            finally:
                console.close()

        @precondition(lambda self: not self.tokens_expired)
        @rule()
        def expire_tokens(self) -> None:
            tally.steps["expire tokens"] += 1
            self.history.append("expire tokens")
            emulator.control.expire_tokens()
            self.tokens_expired = True

        # -- what must hold after every step -------------------------------------------------

        @invariant()
        def state_matches_the_service(self) -> None:
            state = emulator.control.state()
            trackers: dict[str, dict[str, Any]] = state["trackers"]
            assert state["data_trackers"] == {} and state["notifications"] == {}
            if self.resource is None:
                assert trackers == {}, f"unmanaged trackers after {self.history}: {sorted(trackers)}"
                return
            project_id = self.resource.project_id
            assert set(trackers) <= {project_id}, f"unmanaged trackers after {self.history}: {sorted(trackers)}"
            assert self.resource.outputs["project_id"] == project_id
            assert self.resource.id == f"{project_id}/system"
            if self.drifted:
                return
            assert project_id in trackers, f"the state holds a tracker the service lost, after {self.history}"
            assert state_view(self.resource.outputs) == service_view(trackers[project_id]), self.history

    return TrackerLifecycle


@pytest.mark.timeout(900)  # only a failing run takes long: shrinking replays examples
def test_the_state_never_loses_track_of_the_service(
    _emulator_server: Emulator, record_property: Callable[[str, object], None]
) -> None:
    emulator = _emulator_server  # reset by every example itself
    tally = Tally()
    started = time.monotonic()
    with EngineHarness(provider=FastRetryTrackerProvider()) as engine:
        engine.configure(stack_config(emulator.base_url), secret_keys=("cts:password",))
        machine = make_machine(emulator, engine, tally)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                phases=PHASES,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
        stderr = engine.stderr_text()
        transcript = "\n".join(engine.transcript)
    elapsed = time.monotonic() - started
    record_property("stateful_steps", sum(tally.steps.values()))
    record_property("stateful_seconds", round(elapsed, 1))
    print(f"\nstateful tracker lifecycle: {tally.summary()} in {elapsed:.1f}s")

    # Every kind of step and fault ran, so a green run means something.
    assert set(tally.steps) == {
        "create",
        "update",
        "refresh",
        "destroy",
        "change behind the stack",
        "expire tokens",
    }, tally.summary()
    assert set(tally.faults) == {"5xx", "drop", "drop_after", "slow", "abandoned", "429"}, tally.summary()
    assert "Traceback" not in stderr
    assert PASSWORD not in stderr and PASSWORD not in transcript


def test_the_readme_command_for_a_longer_run_sets_what_this_module_reads() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    command = readme.split("To run it longer", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    settings_in_readme = dict(re.findall(r"(PULUMI_CTS_STATEFUL_\w+)=(\d+)", command))
    assert set(settings_in_readme) == {"PULUMI_CTS_STATEFUL_EXAMPLES", "PULUMI_CTS_STATEFUL_STEPS"}
    assert "tests/reliability/test_stateful.py" in command and (Path(__file__).name in command)
    module_source = Path(__file__).read_text(encoding="utf-8")
    assert all(f'os.environ.get("{name}"' in module_source for name in settings_in_readme)
