"""The stack policies over gRPC (`AnalyzeStack`): trackers in every project, the trace bucket
protected (pulumi-huaweicloud and pulumi-aws bucket shapes), critical operations notified,
sensitive buckets data-traced; preview unknowns and policy config included."""

from __future__ import annotations

import json

from pulumi_cts.policy_client import PolicyAnalyzer, StackResource, Violation, check_stack
from pulumi_cts.policy_facts import unknown
from tests.policy.shapes import (
    ALL_USERS,
    AWS_BUCKET,
    AWS_BUCKET_ACL_V2,
    AWS_BUCKET_POLICY,
    AWS_BUCKET_V2,
    AWS_LIFECYCLE_V2,
    BUCKET,
    HWC_BUCKET_POLICY,
    PROJECT_ID,
    data_tracker,
    hwc_bucket,
    notification,
    resource,
    tracker,
    tracker_outputs,
)


def by_policy(violations: list[Violation], policy: str) -> list[Violation]:
    return [v for v in violations if v.policy == policy]


PROTECTED = "cts-trace-bucket-protected"
EVERY_PROJECT = "cts-tracker-in-every-project"
NOTIFIED = "cts-critical-operations-notified"
DATA_TRACED = "cts-sensitive-buckets-data-traced"


def test_the_example_stack_after_an_update_has_no_violation(pack: PolicyAnalyzer) -> None:
    stack = [tracker_outputs(), notification(project_name="eu-de"), hwc_bucket(expiration_days=365.0)]

    assert pack.analyze_stack(stack) == []


# --- cts-tracker-in-every-project ----------------------------------------------------------------


def test_a_project_without_a_tracker_is_named_with_the_fix(pack: PolicyAnalyzer) -> None:
    stack = [tracker(), data_tracker("orders", "orders-data", project_name="eu-de_analytics"), notification()]

    violations = by_policy(pack.analyze_stack(stack), EVERY_PROJECT)

    assert len(violations) == 1
    violation = violations[0]
    assert violation.level == "advisory"
    assert violation.urn.endswith("::orders")
    assert "project eu-de_analytics is addressed by DataTracker 'orders'" in violation.detail
    assert "Tracker(..., project_name='eu-de_analytics')" in violation.detail


def test_covered_projects_and_a_tracker_in_the_project_satisfy_it(pack: PolicyAnalyzer) -> None:
    elsewhere = data_tracker("orders", "orders-data", project_name="eu-de_analytics")

    pack.configure({EVERY_PROJECT: {"covered_projects": ["eu-de_analytics"]}})
    assert by_policy(pack.analyze_stack([tracker(), elsewhere]), EVERY_PROJECT) == []

    pack.configure(None)
    second = tracker("analytics-trail", project_name="eu-de_analytics")
    assert by_policy(pack.analyze_stack([tracker(), elsewhere, second]), EVERY_PROJECT) == []


def test_a_disabled_tracker_leaves_its_project_uncovered(pack: PolicyAnalyzer) -> None:
    violations = by_policy(pack.analyze_stack([tracker(status="disabled")]), EVERY_PROJECT)

    assert [v.urn.rsplit("::", 1)[-1] for v in violations] == ["audit-trail"]


def test_outputs_match_projects_by_id(pack: PolicyAnalyzer) -> None:
    # After an update every CTS resource carries project_id, whatever the program declared.
    by_id = data_tracker("orders", "orders-data", project_id=PROJECT_ID, project_name="eu-de", region="eu-de")
    other = data_tracker("logs", "logs-data", project_id="f" * 32, project_name="eu-de_logs", region="eu-de")

    violations = by_policy(pack.analyze_stack([tracker_outputs(), by_id, other]), EVERY_PROJECT)

    assert [v.urn.rsplit("::", 1)[-1] for v in violations] == ["logs"]


def test_a_resource_added_to_an_updated_stack_is_judged_leniently(pack: PolicyAnalyzer) -> None:
    # The stored tracker names its project; a new default-scoped resource may well live there too.
    stack = [tracker_outputs(), data_tracker("orders", "orders-data")]

    assert by_policy(pack.analyze_stack(stack), EVERY_PROJECT) == []


def test_unknown_scope_or_status_gives_no_false_violation(pack: PolicyAnalyzer) -> None:
    unknown_scope = data_tracker("orders", "orders-data", project_name=unknown())
    unknown_status = tracker("analytics-trail", project_name="eu-de_analytics", status=unknown())
    in_analytics = data_tracker("logs", "logs-data", project_name="eu-de_analytics")

    violations = pack.analyze_stack([tracker(), unknown_scope, unknown_status, in_analytics])

    assert by_policy(violations, EVERY_PROJECT) == []


def test_the_stack_config_names_the_default_project() -> None:
    # With cts:projectName in the stack config, a default-scoped tracker covers exactly that project.
    from tests.policy.conftest import PACK_DIR

    stack = [tracker(), data_tracker("orders", "orders-data", project_name="eu-de_analytics")]
    with PolicyAnalyzer(PACK_DIR, stack_config={"cts:projectName": "eu-de_analytics"}) as analyzer:
        assert by_policy(analyzer.analyze_stack(stack), EVERY_PROJECT) == []
        assert "(project eu-de_analytics)" in analyzer.analyze(tracker(status="disabled"))[0].detail


# --- cts-trace-bucket-protected ------------------------------------------------------------------


def test_a_public_huaweicloud_bucket_is_a_mandatory_violation(pack: PolicyAnalyzer) -> None:
    violations = by_policy(pack.analyze_stack([tracker(), hwc_bucket(acl="public-read")]), PROTECTED)

    assert len(violations) == 1
    violation = violations[0]
    assert violation.blocks
    assert violation.urn.endswith("huaweicloud:Obs/bucket:Bucket::trace-bucket")
    assert "the bucket Tracker 'audit-trail' writes trace files to: acl: acl is 'public-read'" in violation.detail
    assert "Fix: set acl='private'" in violation.detail


def test_short_lifecycle_on_the_trace_prefix_is_reported_with_the_exact_field(pack: PolicyAnalyzer) -> None:
    stack = [tracker(), hwc_bucket(expiration_days=30.0, prefix="trace")]

    violations = by_policy(pack.analyze_stack(stack), PROTECTED)

    assert len(violations) == 1
    assert "lifecycleRules[0].expirations[0].days: deletes trace files after 30 days" in violations[0].detail
    assert "raise lifecycleRules[0].expirations[0].days to at least 180" in violations[0].detail


def test_rules_that_spare_the_trace_files_pass(pack: PolicyAnalyzer) -> None:
    other_prefix = hwc_bucket(expiration_days=7.0, prefix="tmp/")
    switched_off = hwc_bucket(expiration_days=7.0, enabled=False)
    long_enough = hwc_bucket(expiration_days=180.0)

    for bucket in (other_prefix, switched_off, long_enough):
        assert by_policy(pack.analyze_stack([tracker(), bucket]), PROTECTED) == [], bucket.properties


def test_the_threshold_is_configurable(pack: PolicyAnalyzer) -> None:
    stack = [tracker(), hwc_bucket(expiration_days=200.0)]

    pack.configure({PROTECTED: {"minimum_retention_days": 365}})
    assert len(by_policy(pack.analyze_stack(stack), PROTECTED)) == 1

    pack.configure({PROTECTED: {"minimum_retention_days": 90}})
    assert by_policy(pack.analyze_stack([tracker(), hwc_bucket(expiration_days=100.0)]), PROTECTED) == []


def test_a_bucket_of_another_stack_or_name_is_not_judged(pack: PolicyAnalyzer) -> None:
    other = hwc_bucket(bucket="someone-elses", acl="public-read")
    assert by_policy(pack.analyze_stack([tracker(), other]), PROTECTED) == []
    assert by_policy(pack.analyze_stack([tracker()]), PROTECTED) == []


def test_an_unknown_bucket_name_is_linked_through_property_dependencies(pack: PolicyAnalyzer) -> None:
    bucket = hwc_bucket(bucket=unknown(), acl="public-read")
    linked = StackResource(
        tracker().type,
        tracker().urn,
        dict(tracker().properties, bucket_name=unknown()),
        property_dependencies={"bucket_name": [bucket.urn]},
    )
    unlinked = tracker(bucket_name=unknown())

    assert len(by_policy(pack.analyze_stack([linked, bucket]), PROTECTED)) == 1
    assert by_policy(pack.analyze_stack([unlinked, bucket]), PROTECTED) == []


def test_unknown_acl_or_days_are_not_violations(pack: PolicyAnalyzer) -> None:
    assert by_policy(pack.analyze_stack([tracker(), hwc_bucket(acl=unknown())]), PROTECTED) == []
    assert by_policy(pack.analyze_stack([tracker(), hwc_bucket(expiration_days=unknown())]), PROTECTED) == []


def test_a_public_obs_bucket_policy_resource_is_reported(pack: PolicyAnalyzer) -> None:
    everyone = {"Statement": [{"Effect": "Allow", "Principal": {"ID": ["*"]}, "Action": ["GetObject"]}]}
    restricted = {"Statement": [dict(everyone["Statement"][0], Condition={"IpAddress": {"SourceIp": "10.0.0.0/8"}})]}
    bucket = hwc_bucket()

    def policy(document: object) -> StackResource:
        return resource(HWC_BUCKET_POLICY, "trace-policy", {"bucket": BUCKET, "policy": json.dumps(document)})

    violations = by_policy(pack.analyze_stack([tracker(), bucket, policy(everyone)]), PROTECTED)
    assert [v.urn.rsplit("::", 1)[-1] for v in violations] == ["trace-policy"]
    assert "Principal '*'" in violations[0].detail
    assert by_policy(pack.analyze_stack([tracker(), bucket, policy(restricted)]), PROTECTED) == []
    # The policy inline on the bucket counts the same.
    inline = hwc_bucket(policy=json.dumps(everyone))
    assert len(by_policy(pack.analyze_stack([tracker(), inline]), PROTECTED)) == 1


def test_aws_bucket_v2_with_separate_acl_and_lifecycle_resources(pack: PolicyAnalyzer) -> None:
    bucket = resource(AWS_BUCKET_V2, "traces", {"bucket": BUCKET, "forceDestroy": False, "tags": {}})
    acl = resource(
        AWS_BUCKET_ACL_V2,
        "traces-acl",
        {
            "bucket": unknown(),  # bucket.id, not known before the bucket exists
            "accessControlPolicy": {
                "owner": {"id": "owner-id"},
                "grants": [
                    {"grantee": {"type": "CanonicalUser", "id": "owner-id"}, "permission": "FULL_CONTROL"},
                    {"grantee": {"type": "Group", "uri": ALL_USERS}, "permission": "READ"},
                ],
            },
        },
        property_dependencies={"bucket": [bucket.urn]},
    )
    lifecycle = resource(
        AWS_LIFECYCLE_V2,
        "traces-lifecycle",
        {
            "bucket": BUCKET,
            "rules": [
                {"id": "tmp", "status": "Enabled", "filter": {"prefix": "tmp/"}, "expiration": {"days": 1.0}},
                {"id": "old", "status": "Enabled", "filter": {"prefix": "trace/"}, "expiration": {"days": 90.0}},
                {"id": "off", "status": "Disabled", "expiration": {"days": 1.0}},
            ],
        },
    )

    violations = by_policy(pack.analyze_stack([tracker(), bucket, acl, lifecycle]), PROTECTED)

    found = sorted((v.urn.rsplit("::", 1)[-1], v.detail.split(": ")[1]) for v in violations)
    assert found == [("traces-acl", "accessControlPolicy.grants[1]"), ("traces-lifecycle", "rules[1].expiration.days")]


def test_legacy_aws_bucket_with_inline_rules_and_a_bucket_policy(pack: PolicyAnalyzer) -> None:
    bucket = resource(
        AWS_BUCKET,
        "legacy",
        {
            "bucket": BUCKET,
            "acl": "private",
            "lifecycleRules": [{"enabled": True, "prefix": "", "expiration": {"days": 30.0}}],
        },
    )
    public = resource(
        AWS_BUCKET_POLICY,
        "legacy-policy",
        {
            "bucket": BUCKET,
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
            ),
        },
    )

    violations = by_policy(pack.analyze_stack([tracker(), bucket, public]), PROTECTED)

    assert sorted(v.urn.rsplit("::", 1)[-1] for v in violations) == ["legacy", "legacy-policy"]
    assert any("lifecycleRules[0].expiration.days" in v.detail for v in violations)


def test_a_data_tracker_keeping_trace_files_too_briefly(pack: PolicyAnalyzer) -> None:
    short = data_tracker("orders", "orders-data", bucket_name="orders-trace", bucket_lifecycle=30.0)
    forever = data_tracker("orders", "orders-data", bucket_name="orders-trace", bucket_lifecycle=0.0)

    violations = by_policy(pack.analyze_stack([tracker(), short]), PROTECTED)

    assert len(violations) == 1
    assert "bucket_lifecycle is 30" in violations[0].detail
    assert "one of 0, 180, 1095" in violations[0].detail
    assert by_policy(pack.analyze_stack([tracker(), forever]), PROTECTED) == []


def test_the_bucket_level_can_be_lowered_to_advisory(pack: PolicyAnalyzer) -> None:
    pack.configure({PROTECTED: "advisory"})

    violations = by_policy(pack.analyze_stack([tracker(), hwc_bucket(acl="public-read")]), PROTECTED)

    assert [(v.level, v.blocks) for v in violations] == [("advisory", False)]


# --- cts-critical-operations-notified ------------------------------------------------------------


def test_a_tracker_without_notification_is_advisory(pack: PolicyAnalyzer) -> None:
    violations = by_policy(pack.analyze_stack([tracker()]), NOTIFIED)

    assert len(violations) == 1
    assert not violations[0].blocks
    assert "no Notification addresses it" in violations[0].detail
    assert "operation_type='customized'" in violations[0].detail


def test_notifications_that_miss_the_point_are_explained(pack: PolicyAnalyzer) -> None:
    cases = {
        "updateTracker": notification(
            operations=[{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}]
        ),
        "is disabled": notification(status="disabled"),
        "notify_user_list": notification(notify_user_list=[{"user_group": "admins", "user_list": ["alice"]}]),
    }
    for expected, note in cases.items():
        violations = by_policy(pack.analyze_stack([tracker(), note]), NOTIFIED)
        assert len(violations) == 1 and expected in violations[0].detail, expected


def test_complete_or_unknown_notifications_count(pack: PolicyAnalyzer) -> None:
    for note in (
        notification(operation_type="complete", operations=[]),
        notification(operations=unknown()),
        notification(status=unknown()),
    ):
        assert by_policy(pack.analyze_stack([tracker(), note]), NOTIFIED) == [], note.properties


def test_required_trace_names_are_configurable(pack: PolicyAnalyzer) -> None:
    deletes_only = notification(
        operations=[{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}]
    )

    pack.configure({NOTIFIED: {"trace_names": ["deleteTracker"]}})

    assert by_policy(pack.analyze_stack([tracker(), deletes_only]), NOTIFIED) == []


def test_a_notification_in_another_project_does_not_count(pack: PolicyAnalyzer) -> None:
    elsewhere = notification(project_name="eu-de_other")
    here = tracker(project_name="eu-de")

    assert len(by_policy(pack.analyze_stack([here, elsewhere]), NOTIFIED)) == 1


# --- cts-sensitive-buckets-data-traced -----------------------------------------------------------


def test_a_confidential_bucket_without_data_tracker(pack: PolicyAnalyzer) -> None:
    bucket = hwc_bucket("orders", bucket="orders-data", tags={"classification": "Confidential"})

    violations = by_policy(pack.analyze_stack([tracker(), bucket]), DATA_TRACED)

    assert len(violations) == 1
    assert violations[0].urn.endswith("::orders")
    assert "tagged classification='Confidential'" in violations[0].detail
    assert "data_bucket={'data_bucket_name': 'orders-data', 'data_event': ['READ', 'WRITE']}" in violations[0].detail


def test_data_trackers_must_record_reads_and_writes(pack: PolicyAnalyzer) -> None:
    bucket = hwc_bucket("orders", bucket="orders-data", tags={"classification": "restricted"})
    writes_only = data_tracker("orders-audit", "orders-data", ["WRITE"])

    violations = by_policy(pack.analyze_stack([tracker(), bucket, writes_only]), DATA_TRACED)
    assert len(violations) == 1 and "records no READ" in violations[0].detail

    for ok in (
        data_tracker("orders-audit", "orders-data", ["READ", "WRITE"]),
        data_tracker("orders-audit", "orders-data"),  # data_event defaults to both
        data_tracker("orders-audit", unknown()),
    ):
        assert by_policy(pack.analyze_stack([tracker(), bucket, ok]), DATA_TRACED) == [], ok.properties


def test_the_classification_tag_and_values_are_configurable(pack: PolicyAnalyzer) -> None:
    aws_bucket = resource(
        AWS_BUCKET_V2, "hr", {"bucket": "hr-files", "tags": {}, "tagsAll": {"data-class": "PII", "team": "hr"}}
    )
    public_bucket = hwc_bucket("web", bucket="web-assets", tags={"classification": "public"})

    assert by_policy(pack.analyze_stack([aws_bucket, public_bucket]), DATA_TRACED) == []

    pack.configure({DATA_TRACED: {"classification_tag": "data-class", "sensitive_values": ["pii"]}})
    violations = by_policy(pack.analyze_stack([aws_bucket, public_bucket]), DATA_TRACED)
    assert [v.urn.rsplit("::", 1)[-1] for v in violations] == ["hr"]


def test_unknown_tags_are_not_violations(pack: PolicyAnalyzer) -> None:
    bucket = hwc_bucket("orders", bucket="orders-data", tags=unknown())

    assert by_policy(pack.analyze_stack([bucket]), DATA_TRACED) == []


# --- the runner's view -------------------------------------------------------------------------


def test_check_stack_runs_resource_and_stack_policies_of_every_pack(pack: PolicyAnalyzer) -> None:
    stack = [tracker(status="disabled"), hwc_bucket(acl="public-read")]

    violations = check_stack([pack], stack)

    assert sorted(v.policy for v in violations if v.blocks) == ["cts-trace-bucket-protected", "cts-tracker-enabled"]
    assert all(v.urn for v in violations)
