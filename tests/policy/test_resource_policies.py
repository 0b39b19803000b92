"""The resource policies over gRPC (`Analyze`, `Remediate`): tracker enabled, trace files encrypted,
trace file validation; levels and config switched through `Configure` as the engine sends it."""

from __future__ import annotations

from typing import Any

from pulumi_cts.policy_client import UNKNOWN, PolicyAnalyzer, Violation
from pulumi_cts.policy_facts import unknown
from tests.policy.shapes import KMS_KEY, data_tracker, tracker

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"


def names(violations: list[Violation]) -> list[str]:
    return sorted(v.policy for v in violations)


def test_the_pack_describes_the_seven_contract_policies(pack: PolicyAnalyzer) -> None:
    info = pack.info
    levels = {p.name: (p.enforcement_level, p.kind) for p in info.policies}

    assert info.name == "pulumi-cts"
    assert levels == {
        "cts-tracker-enabled": ("mandatory", "resource"),
        "cts-trace-files-encrypted": ("mandatory", "resource"),
        "cts-trace-file-validation": ("advisory", "resource"),
        "cts-tracker-in-every-project": ("advisory", "stack"),
        "cts-trace-bucket-protected": ("mandatory", "stack"),
        "cts-critical-operations-notified": ("advisory", "stack"),
        "cts-sensitive-buckets-data-traced": ("advisory", "stack"),
    }
    assert all("auditor" in p.description for p in info.policies)
    schema = info.policy("cts-trace-bucket-protected").config_schema
    assert schema["minimum_retention_days"]["default"] == 180
    assert info.policy("cts-trace-files-encrypted").config_schema["exceptions"]["type"] == "array"


def test_the_example_tracker_passes_every_resource_policy(pack: PolicyAnalyzer) -> None:
    assert pack.analyze(tracker()) == []


def test_a_disabled_tracker_is_a_mandatory_violation_naming_resource_field_and_fix(pack: PolicyAnalyzer) -> None:
    violations = pack.analyze(tracker(status="disabled"))

    assert names(violations) == ["cts-tracker-enabled"]
    violation = violations[0]
    assert violation.blocks and violation.level == "mandatory"
    assert violation.urn.endswith("::audit-trail")
    assert "Tracker 'audit-trail'" in violation.detail
    assert "status is 'disabled'" in violation.detail
    assert "Fix: set status='enabled'" in violation.detail
    assert violation.line().startswith("mandatory: pulumi-cts/cts-tracker-enabled: Tracker 'audit-trail'")
    assert "\n" not in violation.line()


def test_unencrypted_trace_files_are_mandatory_and_the_fix_names_kms_id(pack: PolicyAnalyzer) -> None:
    # The example program without kmsKeyId: encryption off.
    violations = pack.analyze(tracker(is_support_trace_files_encryption=False, kms_id=None))

    assert names(violations) == ["cts-trace-files-encrypted"]
    detail = violations[0].detail
    assert "is_support_trace_files_encryption is False" in detail
    assert "is_support_trace_files_encryption=True and kms_id" in detail


def test_encryption_without_a_key_is_reported(pack: PolicyAnalyzer) -> None:
    violations = pack.analyze(tracker(kms_id=""))

    assert names(violations) == ["cts-trace-files-encrypted"]
    assert "kms_id is empty" in violations[0].detail


def test_undeclared_settings_count_as_the_provider_defaults(pack: PolicyAnalyzer) -> None:
    # Raw inputs without Check's defaults: encryption and validation default to off, status to enabled.
    bare = tracker(is_support_trace_files_encryption=None, kms_id=None, log_file_validate=None, status=None, lts=None)

    assert names(pack.analyze(bare)) == ["cts-trace-file-validation", "cts-trace-files-encrypted"]


def test_exceptions_exempt_a_tracker_by_name_or_by_project(pack: PolicyAnalyzer) -> None:
    plain = tracker(is_support_trace_files_encryption=False, kms_id=None)
    in_project = tracker(is_support_trace_files_encryption=False, kms_id=None, project_name="eu-de_sandbox")

    pack.configure({"cts-trace-files-encrypted": {"exceptions": ["audit-trail"]}})
    assert pack.analyze(plain) == []

    pack.configure({"cts-trace-files-encrypted": {"exceptions": ["eu-de_sandbox"]}})
    assert pack.analyze(in_project) == []
    assert names(pack.analyze(plain)) == ["cts-trace-files-encrypted"]


def test_validation_off_is_advisory_for_trackers_and_data_trackers(pack: PolicyAnalyzer) -> None:
    off = {"is_support_validate": False}

    tracker_violations = pack.analyze(tracker(log_file_validate=off))
    data_violations = pack.analyze(data_tracker("orders", "orders-data", log_file_validate=off))

    assert names(tracker_violations) == ["cts-trace-file-validation"]
    assert not tracker_violations[0].blocks
    assert "log_file_validate={'is_support_validate': True}" in tracker_violations[0].detail
    assert names(data_violations) == ["cts-trace-file-validation"]
    assert "DataTracker 'orders'" in data_violations[0].detail


def test_preview_unknowns_are_not_violations(pack: PolicyAnalyzer) -> None:
    unknown_cases: list[dict[str, Any]] = [
        {"status": unknown()},
        {"is_support_trace_files_encryption": unknown(), "kms_id": unknown()},
        {"kms_id": unknown()},  # encryption on, key created by the same stack
        {"kms_id": UNKNOWN},  # the sentinel string itself, as the engine marshals it
        {"log_file_validate": unknown()},
        {"log_file_validate": {"is_support_validate": unknown()}},
        {"bucket_name": unknown(), "project_name": unknown()},
    ]
    for changes in unknown_cases:
        # Not even the SDK's "can't run policy during preview" diagnostic: the policies handle unknowns.
        assert pack.analyze(tracker(**changes)) == [], changes


def test_level_switches_advisory_disabled_and_all(pack: PolicyAnalyzer) -> None:
    disabled = tracker(status="disabled")

    pack.configure({"cts-tracker-enabled": "advisory"})
    violations = pack.analyze(disabled)
    assert [(v.policy, v.level, v.blocks) for v in violations] == [("cts-tracker-enabled", "advisory", False)]

    pack.configure({"cts-tracker-enabled": {"enforcementLevel": "disabled"}})
    assert pack.analyze(disabled) == []

    pack.configure({"all": "disabled"})
    assert pack.analyze(tracker(status="disabled", log_file_validate={"is_support_validate": False})) == []

    pack.configure({"all": "mandatory"})
    both = pack.analyze(tracker(log_file_validate={"is_support_validate": False}))
    assert [(v.policy, v.level) for v in both] == [("cts-trace-file-validation", "mandatory")]


def test_remediation_turns_validation_and_status_on_and_keeps_other_properties(pack: PolicyAnalyzer) -> None:
    broken = tracker(status="disabled", log_file_validate={"is_support_validate": False})

    # At their default levels the policies only report.
    assert pack.remediate(broken) == []

    pack.configure({"cts-trace-file-validation": "remediate", "cts-tracker-enabled": "remediate"})
    remediations = pack.remediate(broken)

    assert [r.policy for r in remediations] == ["cts-tracker-enabled", "cts-trace-file-validation"]
    final = remediations[-1].properties
    assert final is not None
    assert final["status"] == "enabled"
    assert final["log_file_validate"] == {"is_support_validate": True}
    assert final["bucket_name"] == broken.properties["bucket_name"]
    assert final["kms_id"] == KMS_KEY
    # With the fixes applied nothing is left to report.
    assert pack.analyze(tracker(status="enabled")) == []


def test_remediation_keeps_secrets_and_unknowns_as_they_travel(pack: PolicyAnalyzer) -> None:
    pack.configure({"cts-trace-file-validation": "remediate"})
    secret_key = {SECRET_SIG: SECRET, "value": KMS_KEY}

    remediations = pack.remediate(
        tracker(kms_id=secret_key, bucket_name=unknown(), log_file_validate={"is_support_validate": False})
    )

    fixed = remediations[0].properties
    assert fixed is not None
    assert fixed["kms_id"] == secret_key
    assert fixed["bucket_name"] == UNKNOWN
    assert fixed["log_file_validate"] == {"is_support_validate": True}


def test_no_remediation_while_the_value_is_unknown(pack: PolicyAnalyzer) -> None:
    pack.configure({"cts-trace-file-validation": "remediate", "cts-tracker-enabled": "remediate"})

    assert pack.remediate(tracker(status=unknown(), log_file_validate=unknown())) == []


def test_other_resource_types_are_left_alone(pack: PolicyAnalyzer) -> None:
    from tests.policy.shapes import hwc_bucket

    assert pack.analyze(hwc_bucket(acl="public-read")) == []
