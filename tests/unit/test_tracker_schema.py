"""Field rules of the tracker: validation, defaults, answer shapes, change and replace detection."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts import TrackerProvider, scope, tracker_schema

from .fakes import OBS_INFO_RESPONSE, SEED_REQUEST, SEED_RESPONSE, engine_inputs, unknown


def failures_for(**fields: Any) -> dict[str, str]:
    result = TrackerProvider().check({}, engine_inputs(**{**SEED_REQUEST, **fields}))
    return {f.property: f.reason for f in result.failures}


def test_the_seed_request_is_valid_and_keeps_its_values() -> None:
    result = TrackerProvider().check({}, engine_inputs(**SEED_REQUEST))
    assert result.failures == []
    for key, value in SEED_REQUEST.items():
        assert result.inputs[key] == value
    assert result.inputs["status"] == "enabled"
    assert result.inputs["__provider"] == engine_inputs()["__provider"]


def test_checked_inputs_round_trip_unchanged() -> None:
    first = TrackerProvider().check({}, engine_inputs(**SEED_REQUEST, status="disabled"))
    second = TrackerProvider().check({}, first.inputs)
    assert second.failures == [] and second.inputs == first.inputs


@pytest.mark.parametrize(
    ("bucket", "rule"),
    [
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("Upper-case", "lowercase"),
        ("under_score", "lowercase"),
        ("-starts-with-dash", "start with"),
        ("ends-with-dot.", "end with"),
        ("double..dot", "'..'"),
        ("dot.-dash", "'.-'"),
        ("dash-.dot", "'-.'"),
        ("192.168.1.10", "IP address"),
        (12.0, "must be a string"),
        (True, "must be a string"),
    ],
)
def test_each_bucket_name_rule_names_the_field_and_the_rule(bucket: Any, rule: str) -> None:
    reasons = failures_for(bucket_name=bucket)
    assert list(reasons) == ["bucket_name"]
    assert rule in reasons["bucket_name"]


def test_bucket_name_is_required() -> None:
    result = TrackerProvider().check({}, engine_inputs(file_prefix_name="x"))
    assert [f.property for f in result.failures] == ["bucket_name"]
    assert "required" in result.failures[0].reason


@pytest.mark.parametrize("prefix", ["p" * 65, "has/slash", "spa ce", 5.0])
def test_file_prefix_rules(prefix: Any) -> None:
    assert "file_prefix_name" in failures_for(file_prefix_name=prefix)


@pytest.mark.parametrize("prefix", ["", "p" * 64, "A.b_c-9"])
def test_valid_prefixes_pass(prefix: str) -> None:
    assert failures_for(file_prefix_name=prefix) == {}


def test_kms_id_is_required_with_encryption_and_refused_without_it() -> None:
    required = TrackerProvider().check({}, engine_inputs(bucket_name="abc", is_support_trace_files_encryption=True))
    assert {f.property for f in required.failures} == {"kms_id"}
    assert "required" in required.failures[0].reason
    stray = failures_for(is_support_trace_files_encryption=False)
    assert "is_support_trace_files_encryption is not true" in stray["kms_id"]


@pytest.mark.parametrize("value", ["true", 1.0, 0.0, None.__class__.__name__, [True]])
def test_booleans_must_be_booleans(value: Any) -> None:
    reasons = failures_for(is_obs_created=value)
    assert "must be a boolean" in reasons["is_obs_created"]


@pytest.mark.parametrize("status", ["ENABLED", "error", "on", 1.0])
def test_status_must_be_enabled_or_disabled(status: Any) -> None:
    assert "'enabled' or 'disabled'" in failures_for(status=status)["status"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("yes", "log_file_validate"),
        ({"is_support_validate": "yes"}, "log_file_validate.is_support_validate"),
        ({}, "log_file_validate.is_support_validate"),
        ({"is_support_validate": True, "extra": 1.0}, "log_file_validate"),
    ],
)
def test_log_file_validate_shape(value: Any, field: str) -> None:
    assert field in failures_for(log_file_validate=value)


def test_lts_shape() -> None:
    assert "lts.is_lts_enabled" in failures_for(lts={"is_lts_enabled": 1.0})
    assert failures_for(lts={"is_lts_enabled": True}) == {}


def test_unknown_properties_and_read_only_outputs_are_rejected() -> None:
    reasons = failures_for(bucketName="typo", tracker_name="mine")
    assert "unknown property" in reasons["bucketName"] and "bucket_name" in reasons["bucketName"]
    assert "read-only" in reasons["tracker_name"]


def test_read_only_placeholders_from_the_program_are_accepted() -> None:
    assert failures_for(tracker_name=None, detail=None, create_time=None, domain_id=None) == {}


@pytest.mark.parametrize(("field", "value"), [("region", "EU DE"), ("project_name", "a/b"), ("project_id", "x" * 65)])
def test_scope_overrides_are_validated(field: str, value: str) -> None:
    assert field in failures_for(**{field: value})


def test_unknown_values_pass_check_untouched() -> None:
    placeholder = unknown()
    nested = unknown()
    result = TrackerProvider().check(
        {},
        engine_inputs(
            bucket_name=placeholder,
            kms_id=unknown(),
            is_support_trace_files_encryption=True,
            lts={"is_lts_enabled": nested},
        ),
    )
    assert result.failures == []
    assert result.inputs["bucket_name"] is placeholder
    assert result.inputs["lts"]["is_lts_enabled"] is nested


def test_state_from_both_answer_shapes_agrees() -> None:
    flat = tracker_schema.state_from_answer(SEED_RESPONSE)
    nested = tracker_schema.state_from_answer(OBS_INFO_RESPONSE)
    for key in ("bucket_name", "file_prefix_name", "is_obs_created", "kms_id", "log_file_validate", "status"):
        assert flat[key] == nested[key], key
    assert nested["lts"] == {"is_lts_enabled": True, "log_group_name": "CTS", "log_topic_name": "system-trace"}


def test_desired_body_sends_kms_id_only_when_encryption_is_on() -> None:
    plain = tracker_schema.desired_body(
        tracker_schema.with_defaults({"bucket_name": "abc", "kms_id": "k"}), create_bucket=True
    )
    assert "kms_id" not in plain and plain["is_support_trace_files_encryption"] is False
    encrypted = tracker_schema.desired_body(tracker_schema.with_defaults(SEED_REQUEST), create_bucket=True)
    assert encrypted["kms_id"] == SEED_REQUEST["kms_id"]


def test_changed_fields() -> None:
    olds = tracker_schema.state_from_answer(SEED_RESPONSE)
    assert tracker_schema.changed_fields(olds, SEED_REQUEST) == []
    assert tracker_schema.changed_fields(olds, {**SEED_REQUEST, "lts": {"is_lts_enabled": True}}) == [
        "lts.is_lts_enabled"
    ]
    assert tracker_schema.changed_fields(olds, {**SEED_REQUEST, "status": "disabled"}) == ["status"]
    assert tracker_schema.changed_fields(olds, {**SEED_REQUEST, "file_prefix_name": unknown()}) == ["file_prefix_name"]
    # is_obs_created only instructs the create; it is not a lasting setting.
    assert tracker_schema.changed_fields(olds, {**SEED_REQUEST, "is_obs_created": False}) == []


def test_resource_ids() -> None:
    assert tracker_schema.resource_id("abc") == "abc/system"
    assert scope.project_of_id("abc/system") == "abc"
    assert scope.project_of_id("system") is None
    assert scope.project_of_id("abc/orders-audit") == "abc"


def test_resource_scope_falls_back_field_by_field() -> None:
    default = scope.Scope(region="eu-de", project_name="eu-de")
    assert scope.resource_scope({}, default) == default
    assert scope.resource_scope({"project_name": "eu-nl_app"}, default) == scope.Scope("eu-nl", None, "eu-nl_app")
    assert scope.resource_scope({"region": "eu-nl"}, default) == scope.Scope("eu-nl", None, "eu-nl")
    assert scope.resource_scope({"project_id": "p1"}, default) == scope.Scope("eu-de", "p1", None)
