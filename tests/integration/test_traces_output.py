"""`get_traces_output` waits for its Input arguments, then queries like `get_traces`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config

from pulumi_cts import GetTracesResult, get_traces_output
from tests.support import BUCKET
from tests.support.engine import EngineHarness


class _NoResources(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise AssertionError(f"get_traces_output registers no resource, got {args.typ}")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"get_traces_output makes no engine call, got {args.token}")


def test_get_traces_output_resolves_inputs_then_queries(
    configured_engine: EngineHarness, stack_config: dict[str, Any]
) -> None:
    created = configured_engine.create(configured_engine.check({}, {"bucket_name": BUCKET}).inputs)
    configured_engine.delete(created.id, created.outputs)
    results: list[GetTracesResult] = []

    def program() -> pulumi.Output[None]:
        service = pulumi.Output.from_input("CTS")
        output = get_traces_output(service_type=service, limit=pulumi.Output.from_input(5), config=stack_config.get)
        return output.apply(results.append)

    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(_NoResources(), project="traces", stack="test", preview=False)
    try:
        decorate: Callable[[Callable[[], Any]], Callable[[], None]] = pulumi.runtime.test
        decorate(program)()
    finally:
        set_all_config({})
        runtime_settings.reset_options()

    [result] = results
    assert [t["trace_name"] for t in result.traces][:2] == ["deleteTracker", "createTracker"]
    assert len(result.traces) <= 5
