"""The analyzer client on its own: starting packs, policy config files and their errors, and
composing the CTS policies into a pack of one's own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pulumi_cts.policy_client import (
    PolicyAnalyzer,
    PolicyPackError,
    check_stack,
    read_policy_config,
    resolve_policy_config,
    start_policy_packs,
)
from tests.policy.conftest import PACK_DIR
from tests.policy.shapes import tracker

CUSTOM_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

from pulumi_cts.policies import cts_policies


def no_lts(args, report_violation):
    if args.resource_type == "pulumi-python:dynamic/cts:Tracker" and args.props.get("lts", {}).get("is_lts_enabled"):
        report_violation("lts.is_lts_enabled must stay off in this account")


PolicyPack(
    "acme-compliance",
    policies=[*cts_policies(), ResourceValidationPolicy(name="acme-no-lts", description="No LTS.", validate=no_lts)],
    enforcement_level=EnforcementLevel.ADVISORY,
    initial_config={"cts-trace-file-validation": EnforcementLevel.MANDATORY},
)
"""


def write_pack(folder: Path, main: str) -> Path:
    folder.mkdir()
    (folder / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (folder / "__main__.py").write_text(main)
    return folder


def test_a_pack_composed_from_the_cts_policies(tmp_path: Path) -> None:
    with PolicyAnalyzer(write_pack(tmp_path / "acme", CUSTOM_PACK)) as analyzer:
        assert analyzer.info.name == "acme-compliance"
        assert len(analyzer.info.policies) == 8
        # The pack's initial config raises validation to mandatory.
        assert analyzer.config["cts-trace-file-validation"][0] == "mandatory"

        violations = analyzer.analyze(
            tracker(lts={"is_lts_enabled": True}, log_file_validate={"is_support_validate": False})
        )

    assert sorted((v.policy, v.level) for v in violations) == [
        ("acme-no-lts", "advisory"),
        ("cts-trace-file-validation", "mandatory"),
    ]


def test_a_pack_that_fails_to_start_says_why(tmp_path: Path) -> None:
    broken = write_pack(tmp_path / "broken", "raise SystemExit('policy pack misconfigured: no policies')\n")

    with pytest.raises(PolicyPackError, match="did not start: policy pack misconfigured: no policies"):
        PolicyAnalyzer(broken, timeout=30)


def test_a_folder_without_a_pack_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackError, match="not a Python policy pack"):
        PolicyAnalyzer(tmp_path)


def test_policy_config_file_and_its_errors(tmp_path: Path, pack: PolicyAnalyzer) -> None:
    good = tmp_path / "policy-config.json"
    good.write_text(
        json.dumps({"cts-trace-bucket-protected": {"enforcementLevel": "advisory", "minimum_retention_days": 365}})
    )

    resolved = resolve_policy_config(pack.info, read_policy_config(good))

    assert resolved["cts-trace-bucket-protected"] == ("advisory", {"minimum_retention_days": 365})
    # Every other policy keeps its default level and schema defaults.
    assert resolved["cts-tracker-enabled"] == ("mandatory", {})
    assert resolved["cts-critical-operations-notified"][1] == {"trace_names": ["deleteTracker", "updateTracker"]}

    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(PolicyPackError, match="not valid JSON"):
        read_policy_config(bad_json)
    with pytest.raises(PolicyPackError, match="cannot read policy config"):
        read_policy_config(tmp_path / "missing.json")

    errors: dict[str, dict[str, Any]] = {
        "cts-no-such-policy": {"cts-no-such-policy": "mandatory"},
        "must be one of advisory": {"cts-tracker-enabled": "strict"},
        "no config property 'days'": {"cts-trace-bucket-protected": {"days": 30}},
        "must be of type integer": {"cts-trace-bucket-protected": {"minimum_retention_days": "180"}},
        "must be at least 1": {"cts-trace-bucket-protected": {"minimum_retention_days": 0}},
        "must be of type array": {"cts-trace-files-encrypted": {"exceptions": "audit-trail"}},
    }
    for message, config in errors.items():
        with pytest.raises(PolicyPackError, match=message):
            pack.configure(config)


def test_stopping_the_pack_ends_its_process() -> None:
    analyzer = PolicyAnalyzer(PACK_DIR)
    process = analyzer._process

    analyzer.close()

    assert process.poll() is not None


def test_a_policy_that_raises_is_reported_as_a_pack_error(tmp_path: Path) -> None:
    crashing = write_pack(
        tmp_path / "crashing",
        "from pulumi_policy import PolicyPack, ResourceValidationPolicy\n\n"
        "def explode(args, report_violation):\n"
        "    raise ValueError('policy bug: no such field')\n\n"
        "PolicyPack('crashing', policies=[ResourceValidationPolicy(name='explode', description='Boom.', "
        "validate=explode)])\n",
    )

    with (
        PolicyAnalyzer(crashing) as analyzer,
        pytest.raises(PolicyPackError, match=r"crashing failed in Analyze: .*policy bug: no such field"),
    ):
        analyzer.analyze(tracker())


def test_several_packs_share_one_config_file(tmp_path: Path) -> None:
    acme = write_pack(tmp_path / "acme", CUSTOM_PACK.replace("*cts_policies(), ", ""))
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"acme-no-lts": "mandatory", "cts-tracker-enabled": "advisory"}))

    analyzers = start_policy_packs([PACK_DIR, acme], config, stack="dev")
    try:
        violations = check_stack(analyzers, [tracker(status="disabled", lts={"is_lts_enabled": True})])
    finally:
        for analyzer in analyzers:
            analyzer.close()

    found = sorted(
        (v.pack, v.policy, v.level) for v in violations if v.policy in ("acme-no-lts", "cts-tracker-enabled")
    )
    assert found == [("acme-compliance", "acme-no-lts", "mandatory"), ("pulumi-cts", "cts-tracker-enabled", "advisory")]


def test_a_config_naming_no_pack_policy_stops_everything(tmp_path: Path) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"cts-tracker-enabeld": "mandatory"}))

    before = live_children()

    with pytest.raises(PolicyPackError, match="names cts-tracker-enabeld, a policy of none of the policy packs"):
        start_policy_packs([PACK_DIR], config)

    assert live_children() == before


def live_children() -> set[int]:
    """Running child processes of this one (Linux /proc)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(parent) == os.getpid() and state != "Z":
            children.add(int(entry.name))
    return children
