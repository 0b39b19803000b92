"""Configured secrets in the state, a provider without `diff`, and the analyzer hook (policy checks)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pulumi_cts.emulator import Emulator
from pulumi_cts.local import AnalyzedResource, LocalRunError, LocalStack, PolicyViolation
from pulumi_cts.local.state import REDACTED, state_path
from tests.local.conftest import FEATURES, CallLog

Features = Callable[..., LocalStack]


def test_a_configured_secret_is_never_written_to_the_state(
    cts_local_stack: Callable[..., LocalStack], call_log: CallLog
) -> None:
    token = "tok-3f9a7c1e5b"
    stack = cts_local_stack(
        FEATURES, config={"logFile": str(call_log.path), "tracker": "false"}, secrets={"apiToken": token}
    )
    up = stack.up()
    assert up["outputs"]["apiToken"] == "[secret]"
    text = state_path(stack.state_dir, "test").read_text(encoding="utf-8")
    assert token not in text
    assert "emulator-accepts-any-password" not in text
    assert REDACTED in text
    assert stack.outputs()["apiToken"] == REDACTED


def test_a_provider_without_diff_is_compared_by_its_inputs(features: Features, call_log: CallLog) -> None:
    features(tracker=False, plainValue="one").up()
    assert features(tracker=False, plainValue="one").preview(expect_no_changes=True)
    changed = features(tracker=False, plainValue="two").up()
    [step] = [s for s in changed["steps"] if s["urn"].endswith("::plain")]
    assert step["op"] == "update"
    assert step["diffs"] == ["value"]
    assert call_log.lines()[-2:] == ["create plain one", "update plain two"]


class RecordingAnalyzer:
    """Sees what a policy pack would see; makes `mandatory` policies fail on trackers that are disabled."""

    def __init__(self, enforcement: str) -> None:
        self.enforcement = enforcement
        self.seen: list[AnalyzedResource] = []
        self.stacks: list[list[str]] = []

    def analyze(self, resource: AnalyzedResource) -> Sequence[PolicyViolation]:
        self.seen.append(resource)
        if resource.type.endswith("cts:Tracker") and resource.properties.get("status") == "disabled":
            return [
                PolicyViolation("cts", "cts-tracker-enabled", "the tracker is disabled", self.enforcement, resource.urn)  # type: ignore[arg-type]
            ]
        return []

    def analyze_stack(self, resources: Sequence[AnalyzedResource]) -> Sequence[PolicyViolation]:
        self.stacks.append(sorted(resource.name for resource in resources))
        return []


@pytest.mark.parametrize("enforcement", ["advisory", "mandatory"])
def test_analyzers_see_each_resource_before_its_step_and_the_stack_at_the_end(
    cts_local_stack: Callable[..., LocalStack], call_log: CallLog, cts_emulator: Emulator, enforcement: str
) -> None:
    analyzer = RecordingAnalyzer(enforcement)
    stack = cts_local_stack(
        FEATURES, config={"logFile": str(call_log.path), "status": "disabled"}, analyzers=[analyzer]
    )
    if enforcement == "mandatory":
        with pytest.raises(LocalRunError) as failure:
            stack.up()
        assert "cts-tracker-enabled" in str(failure.value)
        assert "audit-trail" in str(failure.value)
        # Stopped before the tracker's step: CTS never saw it.
        assert cts_emulator.control.state()["trackers"] == {}
        assert failure.value.summary["policyViolations"][0]["enforcementLevel"] == "mandatory"
        assert analyzer.stacks == []
        return
    up = stack.up()
    assert [v["policy"] for v in up["policyViolations"]] == ["cts-tracker-enabled"]
    # With analyzers, up previews first (as the Pulumi CLI does): the update is the second pass.
    tracker = [resource for resource in analyzer.seen if resource.name == "audit-trail"][-1]
    assert tracker.properties["bucket_name"] == "audit-trail-bucket"
    assert "__provider" not in tracker.properties
    assert analyzer.stacks == [["audit-trail", "features-test", "source"]] * 2
    assert json.dumps(up)  # the summary stays JSON
    assert Path(stack.state_dir).is_dir()
