"""Resources as the engine shows them to a policy pack: the provider's property names, numbers as
floats, preview unknowns, and buckets of other provider packages (pulumi-huaweicloud, pulumi-aws)
in the shapes their type tokens carry in Pulumi state (camelCase property names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_cts import tracker_schema
from pulumi_cts.policy_client import StackResource
from pulumi_cts.policy_facts import DATA_TRACKER_TYPE, NOTIFICATION_TYPE, TRACKER_TYPE

STACK = "dev"
PROJECT = "pulumi-cts-example"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
KMS_KEY = "6e1bd8d4-8c12-4f0a-9a52-1f0c2b3d4e5f"
BUCKET = "audit-trace-files-eu-de"
HWC_BUCKET = "huaweicloud:Obs/bucket:Bucket"
HWC_BUCKET_POLICY = "huaweicloud:Obs/bucketPolicy:BucketPolicy"
AWS_BUCKET = "aws:s3/bucket:Bucket"
AWS_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
AWS_BUCKET_ACL_V2 = "aws:s3/bucketAclV2:BucketAclV2"
AWS_LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
AWS_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"

# What examples/pulumi-project/__main__.py declares with `bucketName` and `kmsKeyId` set.
EXAMPLE_PROGRAM: dict[str, Any] = {
    "bucket_name": BUCKET,
    "file_prefix_name": "trace",
    "is_support_trace_files_encryption": True,
    "kms_id": KMS_KEY,
    "log_file_validate": {"is_support_validate": True},
    "lts": {"is_lts_enabled": False},
    "status": "enabled",
    "adopt_existing": False,
}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def resource(
    type_: str,
    name: str,
    properties: Mapping[str, Any],
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
) -> StackResource:
    return StackResource(type_, urn(type_, name), dict(properties), property_dependencies=property_dependencies or {})


def tracker(name: str = "audit-trail", **changes: Any) -> StackResource:
    """The example's tracker after Check (defaults filled in), with `changes` applied (None removes)."""
    props = tracker_schema.with_defaults(EXAMPLE_PROGRAM)
    props.update(changes)
    return resource(TRACKER_TYPE, name, {k: v for k, v in props.items() if v is not None})


def tracker_outputs(name: str = "audit-trail", project_name: str = "eu-de", **changes: Any) -> StackResource:
    """The example's tracker as the state has it after an update (outputs: CTS's answer and the scope)."""
    inputs = tracker_schema.with_defaults({**EXAMPLE_PROGRAM, **changes})
    answer = {
        "bucket_name": inputs["bucket_name"],
        "file_prefix_name": inputs["file_prefix_name"],
        "is_support_trace_files_encryption": inputs["is_support_trace_files_encryption"],
        "kms_id": inputs.get("kms_id"),
        "log_file_validate": inputs["log_file_validate"],
        "lts": inputs["lts"],
        "status": inputs["status"],
        "tracker_name": "system",
        "create_time": 1700000000000.0,
        "domain_id": "d0m41n",
    }
    outputs = {
        **inputs,
        **tracker_schema.state_from_answer(answer),
        "project_id": PROJECT_ID,
        "project_name": project_name,
        "region": "eu-de",
    }
    return resource(TRACKER_TYPE, name, {k: v for k, v in outputs.items() if v is not None})


def data_tracker(name: str, bucket: Any, events: Any = None, **extra: Any) -> StackResource:
    data_bucket: dict[str, Any] = {"data_bucket_name": bucket}
    if events is not None:
        data_bucket["data_event"] = events
    props = {"tracker_name": name, "data_bucket": data_bucket, "status": "enabled", **extra}
    return resource(DATA_TRACKER_TYPE, name, {k: v for k, v in props.items() if v is not None})


def notification(name: str = "tracker-changes", **changes: Any) -> StackResource:
    props: dict[str, Any] = {
        "notification_name": name.replace("-", "_"),
        "operation_type": "customized",
        "operations": [
            {"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker", "updateTracker"]}
        ],
        "notify_user_list": [],
        "topic_id": f"urn:smn:eu-de:{PROJECT_ID}:cts-alerts",
        "status": "enabled",
    }
    props.update(changes)
    return resource(NOTIFICATION_TYPE, name, {k: v for k, v in props.items() if v is not None})


def hwc_bucket(
    name: str = "trace-bucket",
    bucket: Any = BUCKET,
    acl: Any = "private",
    expiration_days: Any = None,
    prefix: str | None = None,
    enabled: bool = True,
    tags: Any = None,
    policy: str | None = None,
) -> StackResource:
    """pulumi-huaweicloud's `huaweicloud:Obs/bucket:Bucket` (0.0.12) as in its state."""
    props: dict[str, Any] = {
        "bucket": bucket,
        "acl": acl,
        "storageClass": "STANDARD",
        "forceDestroy": False,
        "versioning": False,
        "region": "eu-de",
    }
    if expiration_days is not None:
        rule: dict[str, Any] = {"name": "expire", "enabled": enabled, "expirations": [{"days": expiration_days}]}
        if prefix is not None:
            rule["prefix"] = prefix
        props["lifecycleRules"] = [rule]
    if tags is not None:
        props["tags"] = tags
    if policy is not None:
        props["policy"] = policy
        props["policyFormat"] = "obs"
    return resource(HWC_BUCKET, name, props)
