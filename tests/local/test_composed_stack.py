"""The composed example: pulumi-huaweicloud's bucket and key (stand-ins here) next to the three CTS resources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulumi_cts.emulator import Emulator
from pulumi_cts.local import LocalStack, stand_in_id
from pulumi_cts.policy_client import RunnerAnalyzer, start_policy_packs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "composed-stack"
POLICY_PACK = Path(__file__).resolve().parents[2] / "policy-pack"
STAND_INS = ("huaweicloud:Obs/bucket:Bucket", "huaweicloud:Dew/key:Key")
CONFIG = {"alertTopicUrn": "urn:smn:eu-de:0123abcd:cts_alerts", "namePrefix": "composed"}


def test_the_composed_stack_runs_with_stand_ins(
    cts_local_stack: Callable[..., LocalStack], cts_emulator: Emulator
) -> None:
    stack = cts_local_stack(EXAMPLE, "local", config=CONFIG, stand_ins=STAND_INS)

    preview = stack.preview()
    by_name = {step["urn"].rsplit("::", 1)[-1]: step for step in preview["steps"]}
    assert {name: step["op"] for name, step in by_name.items()} == {
        "composed-stack-local": "create",
        "trace-key": "create",
        "trace-bucket": "create",
        "data-bucket": "create",
        "audit-trail": "create",
        "sensitive-data": "create",
        "audit-changes": "create",
    }
    # The key's id is known only once it exists: the tracker's kms_id is Unknown in the preview.
    assert preview["outputs"]["kmsKeyId"] == "[unknown]"
    assert preview["outputs"]["traceBucket"] == "composed-trace-files"

    # The emulator knows the buckets and the key the stand-ins report.
    key_id = stand_in_id(by_name["trace-key"]["urn"])
    cts_emulator.control.add_kms_key(key_id)
    cts_emulator.control.add_bucket("composed-trace-files")
    cts_emulator.control.add_bucket("composed-sensitive-data")

    up = stack.up()
    assert up["changes"]["create"] == 7
    assert up["outputs"]["kmsKeyId"] == key_id
    assert up["outputs"]["trackerStatus"] == "enabled"
    state = cts_emulator.control.state()
    [tracker] = state["trackers"].values()
    assert tracker["bucket_name"] == "composed-trace-files"
    assert tracker["kms_id"] == key_id
    [data_trackers] = state["data_trackers"].values()
    assert [t["tracker_name"] for t in data_trackers] == ["sensitive-data"]
    [notifications] = state["notifications"].values()
    assert [n["notification_name"] for n in notifications] == ["audit_changes"]

    stack.preview(expect_no_changes=True)

    destroyed = stack.destroy()
    assert destroyed["changes"]["delete"] == 7
    state = cts_emulator.control.state()
    assert state["trackers"] == {}
    assert not any(state["data_trackers"].values())
    assert not any(state["notifications"].values())


def _preview_with_pack(
    cts_local_stack: Callable[..., LocalStack], policy_config: Path | None
) -> tuple[int, list[dict[str, Any]]]:
    packs = start_policy_packs([POLICY_PACK], policy_config, stack="local")
    try:
        analyzers = [RunnerAnalyzer(pack) for pack in packs]
        stack = cts_local_stack(EXAMPLE, "local", config=CONFIG, stand_ins=STAND_INS, analyzers=analyzers)
        result = stack.run("preview")
    finally:
        for pack in packs:
            pack.close()
    violations: list[dict[str, Any]] = result.summary.get("policyViolations", [])
    return result.exit_code, violations


def test_the_composed_stack_passes_the_policy_pack(
    cts_local_stack: Callable[..., LocalStack], cts_emulator: Emulator, tmp_path: Path
) -> None:
    exit_code, violations = _preview_with_pack(cts_local_stack, None)
    assert [v for v in violations if v["enforcementLevel"] == "mandatory"] == [], violations
    assert exit_code == 0

    # The pack does look at this stack: asking for a year of retention flags the data tracker's 180 days.
    stricter = tmp_path / "policy-config.json"
    stricter.write_text(json.dumps({"cts-trace-bucket-protected": {"minimum_retention_days": 365}}))
    exit_code, violations = _preview_with_pack(cts_local_stack, stricter)
    assert exit_code == 1
    flagged = [v for v in violations if v["enforcementLevel"] == "mandatory"]
    assert [(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in flagged] == [
        ("cts-trace-bucket-protected", "sensitive-data")
    ], flagged
