"""The policy pack on the shapes the real provider produces: the example program's tracker checked
and created through `python -m pulumi.dynamic` against the emulator, then analyzed over gRPC as
the engine does (`Analyze` on the checked inputs, `AnalyzeStack` on the stored outputs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.runtime import rpc

from pulumi_cts.policy_client import PolicyAnalyzer, StackResource
from tests.policy.shapes import EXAMPLE_PROGRAM
from tests.support import BUCKET, KMS_KEY, REPO_ROOT
from tests.support.engine import DEFAULT_TYPE, EngineHarness

PACK_DIR = REPO_ROOT / "policy-pack"

# The example program's tracker, pointed at the emulator's bucket and key.
EXAMPLE: dict[str, Any] = {**EXAMPLE_PROGRAM, "bucket_name": BUCKET, "kms_id": KMS_KEY}


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyAnalyzer]:
    with PolicyAnalyzer(PACK_DIR) as analyzer:
        yield analyzer


def as_resource(engine: EngineHarness, properties: dict[str, Any]) -> StackResource:
    return StackResource(DEFAULT_TYPE, engine.urn, properties)


def test_the_example_tracker_passes_before_and_after_create(
    configured_engine: EngineHarness, pack: PolicyAnalyzer
) -> None:
    checked = configured_engine.check({}, EXAMPLE)
    assert checked.failures == []

    assert pack.analyze(as_resource(configured_engine, checked.inputs)) == []

    created = configured_engine.create(checked.inputs)
    stored = as_resource(configured_engine, created.outputs)
    violations = pack.analyze_stack([stored])

    # The stored outputs name the project; only the advice to add a Notification remains.
    assert created.outputs["project_id"] and created.outputs["project_name"]
    assert [(v.policy, v.blocks) for v in violations] == [("cts-critical-operations-notified", False)]


def test_the_example_without_a_key_is_stopped(configured_engine: EngineHarness, pack: PolicyAnalyzer) -> None:
    without_key = {**EXAMPLE, "is_support_trace_files_encryption": False, "kms_id": None}
    checked = configured_engine.check({}, without_key)

    violations = pack.analyze(as_resource(configured_engine, checked.inputs))

    assert [(v.policy, v.level) for v in violations] == [("cts-trace-files-encrypted", "mandatory")]


def test_a_preview_with_a_key_created_in_the_same_stack_passes(
    configured_engine: EngineHarness, pack: PolicyAnalyzer
) -> None:
    checked = configured_engine.check({}, {**EXAMPLE, "kms_id": rpc.UNKNOWN, "bucket_name": rpc.UNKNOWN})

    resource = as_resource(configured_engine, checked.inputs)

    assert pack.analyze(resource) == []
    assert [v.policy for v in pack.analyze_stack([resource])] == ["cts-critical-operations-notified"]
