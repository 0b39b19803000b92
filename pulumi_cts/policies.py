"""Compliance as code for CTS: policies that keep a stack's audit trail on, kept and tamper-evident.

Use them in a Pulumi policy pack (needs the `policy` extra, `pip install pulumi-cts[policy]`):

    from pulumi_policy import PolicyPack
    from pulumi_cts.policies import cts_policies

    PolicyPack("my-compliance", policies=[*cts_policies(), *my_own_policies])

The policy names are a stable contract; see the README's "Compliance" section for the table of
levels and configuration. Values that are unknown during a preview never count as a violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceRemediation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import serialize_properties

from . import data_tracker_schema, tracker_schema
from .checks import is_unknown, known
from .policy_facts import (
    CTS_TYPES,
    DATA_TRACKER_TYPE,
    NOTIFICATION_TYPE,
    TRACKER_TYPE,
    Bucket,
    Project,
    Resource,
    buckets_in,
    is_enabled,
    plain,
    project_of,
    public_access,
    same_project,
    short_expirations,
)

PACK_NAME = "pulumi-cts"
TRACKER_ENABLED = "cts-tracker-enabled"
TRACE_FILES_ENCRYPTED = "cts-trace-files-encrypted"
TRACE_FILE_VALIDATION = "cts-trace-file-validation"
TRACKER_IN_EVERY_PROJECT = "cts-tracker-in-every-project"
TRACE_BUCKET_PROTECTED = "cts-trace-bucket-protected"
CRITICAL_OPERATIONS_NOTIFIED = "cts-critical-operations-notified"
SENSITIVE_BUCKETS_DATA_TRACED = "cts-sensitive-buckets-data-traced"

DEFAULT_RETENTION_DAYS = 180
DEFAULT_TRACE_NAMES = ("deleteTracker", "updateTracker")
DEFAULT_CLASSIFICATION_TAG = "classification"
DEFAULT_SENSITIVE_VALUES = ("confidential", "restricted", "secret")

_STRINGS = {"type": "array", "items": {"type": "string"}}


def _config(args: ResourceValidationArgs | StackValidationArgs, key: str, default: Any) -> Any:
    value = (args.get_config() or {}).get(key)
    return default if value is None else value


def _resource(args: ResourceValidationArgs | PolicyResource) -> Resource:
    dependencies: Mapping[str, Sequence[str]] = {}
    if isinstance(args, PolicyResource):
        dependencies = {k: [r.urn for r in v] for k, v in args.property_dependencies.items()}
    return Resource(args.resource_type, args.urn, args.name, plain(serialize_properties(args.props)), dependencies)


def _stack(args: StackValidationArgs) -> list[Resource]:
    return [_resource(r) for r in args.resources]


def _default_project() -> Project | None:
    """The provider's project when the stack configuration names it (`cts:projectId` / `cts:projectName`)."""
    project_id = pulumi.runtime.get_config("cts:projectId")
    project_name = pulumi.runtime.get_config("cts:projectName")
    if project_id or project_name:
        return Project(project_id=project_id or None, project_name=project_name or None)
    return None


def _remediation(fix: Any) -> ResourceRemediation:
    """A plain function as a remediation: pulumi_policy takes plain results, though its type says Awaitable."""
    return cast(ResourceRemediation, fix)


def _remediated(args: ResourceValidationArgs, key: str, value: Any) -> dict[str, Any]:
    """The resource's properties with one fixed, secrets and unknowns of the others kept as they travel."""
    fixed = dict(serialize_properties(args.props))
    fixed[key] = value
    return fixed


# --- cts-tracker-enabled -------------------------------------------------------------------------


def _tracker_enabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TRACKER_TYPE:
        return
    tracker = _resource(args)
    if is_enabled(tracker) is False:
        report(
            f"{tracker.label} ({project_of(tracker, _default_project()).describe()}): status is 'disabled', so CTS "
            "records nothing. Fix: set status='enabled' (or leave status out).",
            None,
        )


def _enable_tracker(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    if args.resource_type != TRACKER_TYPE or is_enabled(_resource(args)) is not False:
        return None
    return _remediated(args, "status", "enabled")


tracker_enabled = ResourceValidationPolicy(
    name=TRACKER_ENABLED,
    description="Every CTS management tracker declared in the stack records operations: an auditor asks for "
    "proof that every change in a project is recorded, so no Tracker may be declared disabled.",
    validate=_tracker_enabled,
    remediate=_remediation(_enable_tracker),
    enforcement_level=EnforcementLevel.MANDATORY,
)


# --- cts-trace-files-encrypted -------------------------------------------------------------------


def _trace_files_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TRACKER_TYPE:
        return
    tracker = _resource(args)
    project = project_of(tracker, _default_project())
    exceptions = set(_config(args, "exceptions", []))
    if exceptions & {tracker.name, tracker.urn, *project.keys()}:
        return
    encrypted = tracker.props.get(
        "is_support_trace_files_encryption", tracker_schema.FIELDS.defaults["is_support_trace_files_encryption"]
    )
    kms_id = tracker.props.get("kms_id")
    if is_unknown(encrypted):
        return
    if encrypted is not True:
        report(
            f"{tracker.label} ({project.describe()}): is_support_trace_files_encryption is {encrypted!r}, so trace "
            "files are stored unencrypted. Fix: set is_support_trace_files_encryption=True and kms_id to a KMS key "
            f"ID, or list '{tracker.name}' in this policy's 'exceptions'.",
            None,
        )
    elif not is_unknown(kms_id) and not (isinstance(kms_id, str) and kms_id):
        report(
            f"{tracker.label} ({project.describe()}): is_support_trace_files_encryption is True but kms_id is "
            "empty. Fix: set kms_id to the ID of the KMS key that encrypts the trace files.",
            None,
        )


trace_files_encrypted = ResourceValidationPolicy(
    name=TRACE_FILES_ENCRYPTED,
    description="Trace files are encrypted with a KMS key: an auditor asks that the audit trail is "
    "readable only by those allowed to use the key.",
    validate=_trace_files_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "exceptions": {
                **_STRINGS,
                "default": [],
                "description": "Tracker resource names, URNs, or projects (name or ID) whose trace files may stay "
                "unencrypted.",
            }
        }
    ),
)


# --- cts-trace-file-validation -------------------------------------------------------------------


def _validation_flag(resource: Resource) -> Any:
    value = resource.props.get("log_file_validate", tracker_schema.FIELDS.defaults["log_file_validate"])
    if is_unknown(value):
        return value
    if isinstance(value, Mapping):
        return value.get("is_support_validate", False)
    return False


def _trace_file_validation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (TRACKER_TYPE, DATA_TRACKER_TYPE):
        return
    tracker = _resource(args)
    flag = _validation_flag(tracker)
    if not is_unknown(flag) and flag is not True:
        report(
            f"{tracker.label}: log_file_validate.is_support_validate is {flag!r}, so CTS writes no digest files and "
            "a changed or deleted trace file goes unnoticed. Fix: set log_file_validate="
            "{'is_support_validate': True}.",
            None,
        )


def _turn_validation_on(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    if args.resource_type not in (TRACKER_TYPE, DATA_TRACKER_TYPE):
        return None
    flag = _validation_flag(_resource(args))
    if is_unknown(flag) or flag is True:
        return None
    return _remediated(args, "log_file_validate", {"is_support_validate": True})


trace_file_validation = ResourceValidationPolicy(
    name=TRACE_FILE_VALIDATION,
    description="Trace file integrity verification is on: an auditor asks that the audit trail is "
    "tamper-evident (digest files prove that no trace file was changed or deleted).",
    validate=_trace_file_validation,
    remediate=_remediation(_turn_validation_on),
    enforcement_level=EnforcementLevel.ADVISORY,
)


# --- cts-tracker-in-every-project ----------------------------------------------------------------


def _covers(trackers: Iterable[tuple[Resource, Project]], project: Project) -> bool:
    """An enabled tracker of the project may exist: unknown scope or status gives the benefit of the doubt."""
    return any(
        is_enabled(tracker) is not False and same_project(where, project) is not False for tracker, where in trackers
    )


def _tracker_in_every_project(args: StackValidationArgs, report: ReportViolation) -> None:
    default = _default_project()
    cts = [(r, project_of(r, default)) for r in _stack(args) if r.type in CTS_TYPES]
    trackers = [(r, p) for r, p in cts if r.type == TRACKER_TYPE]
    covered_elsewhere = set(_config(args, "covered_projects", []))
    uncovered: dict[str, list[tuple[Resource, Project]]] = {}
    for resource, project in cts:
        if project.unknown or project.keys() & covered_elsewhere or _covers(trackers, project):
            continue
        uncovered.setdefault(project.describe(), []).append((resource, project))
    for where, found in uncovered.items():
        names = ", ".join(r.label for r, _ in found)
        scope = next((f"{k}={v!r}" for k, v in _scope_arguments(found[0][1]).items()), "")
        fix = f"Tracker(..., {scope})" if scope else "Tracker(...)"
        report(
            f"{where} is addressed by {names} but has no enabled management Tracker in this stack. Fix: declare "
            f"{fix} with status 'enabled' here, or add the project to this policy's 'covered_projects' if another "
            "stack manages its tracker.",
            found[0][0].urn,
        )


def _scope_arguments(project: Project) -> dict[str, str]:
    if project.project_name:
        return {"project_name": project.project_name}
    if project.project_id:
        return {"project_id": project.project_id}
    return {}


tracker_in_every_project = StackValidationPolicy(
    name=TRACKER_IN_EVERY_PROJECT,
    description="Every project the stack's CTS resources address has an enabled management tracker: an "
    "auditor asks that no project of the account goes unrecorded.",
    validate=_tracker_in_every_project,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={
            "covered_projects": {
                **_STRINGS,
                "default": [],
                "description": "Projects (name or ID) whose management tracker another stack declares.",
            }
        }
    ),
)


# --- cts-trace-bucket-protected ------------------------------------------------------------------


def _trace_bucket_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _stack(args)
    minimum = float(_config(args, "minimum_retention_days", DEFAULT_RETENTION_DAYS))
    buckets = buckets_in(resources)
    for tracker in (r for r in resources if r.type in (TRACKER_TYPE, DATA_TRACKER_TYPE)):
        if tracker.type == DATA_TRACKER_TYPE:
            _check_bucket_lifecycle(tracker, minimum, report)
        name = tracker.props.get("bucket_name")
        prefix = tracker.props.get("file_prefix_name")
        for bucket in buckets:
            if not bucket.matches(name, tracker, "bucket_name"):
                continue
            findings = public_access(bucket)
            if known(prefix) or prefix is None:
                findings += short_expirations(bucket, prefix if isinstance(prefix, str) else "", minimum)
            for finding in findings:
                report(
                    f"{finding.resource.label}, the bucket {tracker.label} writes trace files to: {finding.field}: "
                    f"{finding.problem}. Fix: {finding.fix}.",
                    finding.resource.urn,
                )


def _check_bucket_lifecycle(tracker: Resource, minimum: float, report: ReportViolation) -> None:
    """A data tracker's own retention of transferred trace files (`bucket_lifecycle`, 0 = forever)."""
    days = tracker.props.get("bucket_lifecycle")
    if not known(tracker.props.get("bucket_name")) or not isinstance(days, int | float) or isinstance(days, bool):
        return
    if 0 < days < minimum:
        longer = [d for d in data_tracker_schema.BUCKET_LIFECYCLE_CHOICES if d == 0 or d >= minimum]
        choices = ", ".join(str(d) for d in longer)
        report(
            f"{tracker.label}: bucket_lifecycle is {days:g}, so CTS deletes transferred trace files after {days:g} "
            f"days. Fix: set bucket_lifecycle to one of {choices} (0 keeps them forever).",
            tracker.urn,
        )


trace_bucket_protected = StackValidationPolicy(
    name=TRACE_BUCKET_PROTECTED,
    description="The bucket that receives trace files, when this stack declares it, is not publicly readable "
    "and keeps trace files long enough: an auditor asks that the audit trail is private and retained.",
    validate=_trace_bucket_protected,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "minimum_retention_days": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_RETENTION_DAYS,
                "description": "Lifecycle rules and bucket_lifecycle must keep trace files at least this many days.",
            }
        }
    ),
)


# --- cts-critical-operations-notified ------------------------------------------------------------


def _notification_gap(notification: Resource, trace_names: Sequence[str]) -> str | None:
    """Why this notification misses deletions or changes of the tracker, or None if it covers them."""
    props = notification.props
    if is_enabled(notification) is False:
        return "it is disabled"
    users = props.get("notify_user_list")
    if known(users) and users:
        return "its notify_user_list limits it to some users' operations"
    kind = props.get("operation_type")
    if is_unknown(kind) or kind == "complete":
        return None
    operations = props.get("operations")
    if is_unknown(operations):
        return None
    recorded: set[str] = set()
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, Mapping):
            continue
        if operation.get("service_type") == "CTS" and operation.get("resource_type") == "tracker":
            names = operation.get("trace_names")
            if is_unknown(names):
                return None
            recorded.update(n for n in names or [] if isinstance(n, str))
    missing = [n for n in trace_names if n not in recorded]
    return f"its operations lack {', '.join(missing)} on CTS 'tracker'" if missing else None


def _critical_operations_notified(args: StackValidationArgs, report: ReportViolation) -> None:
    default = _default_project()
    resources = _stack(args)
    trace_names = list(_config(args, "trace_names", list(DEFAULT_TRACE_NAMES)))
    notifications = [(r, project_of(r, default)) for r in resources if r.type == NOTIFICATION_TYPE]
    reported: list[Project] = []
    for tracker in (r for r in resources if r.type == TRACKER_TYPE):
        project = project_of(tracker, default)
        if project.unknown or any(same_project(project, p) for p in reported):
            continue
        candidates = [
            (n, _notification_gap(n, trace_names))
            for n, where in notifications
            if same_project(where, project) is not False
        ]
        if any(gap is None for _, gap in candidates):
            continue
        reported.append(project)
        why = "; ".join(f"{n.label}: {gap}" for n, gap in candidates) or "no Notification addresses it"
        operations = [{"service_type": "CTS", "resource_type": "tracker", "trace_names": trace_names}]
        report(
            f"{tracker.label} ({project.describe()}): no enabled Notification reports deleting or disabling the "
            f"tracker ({why}). Fix: declare Notification(..., operation_type='customized', operations={operations!r}, "
            "topic_id=...) with an empty notify_user_list, or operation_type='complete'.",
            tracker.urn,
        )


critical_operations_notified = StackValidationPolicy(
    name=CRITICAL_OPERATIONS_NOTIFIED,
    description="Someone is told when the audit trail is switched off: an auditor asks that deleting or "
    "disabling a tracker raises an alert (a CTS key-event Notification).",
    validate=_critical_operations_notified,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={
            "trace_names": {
                **_STRINGS,
                "default": list(DEFAULT_TRACE_NAMES),
                "description": "Operations on CTS 'tracker' a customized Notification must include.",
            }
        }
    ),
)


# --- cts-sensitive-buckets-data-traced -----------------------------------------------------------


def _data_trace_gap(bucket: Bucket, data_trackers: Sequence[Resource]) -> str | None:
    """Why no data tracker records READ and WRITE of the bucket, or None when one does (or may)."""
    gaps = []
    for tracker in data_trackers:
        data_bucket = tracker.props.get("data_bucket")
        if is_unknown(data_bucket):
            return None
        if not isinstance(data_bucket, Mapping) or not bucket.matches(
            data_bucket.get("data_bucket_name"), tracker, "data_bucket"
        ):
            continue
        events = data_bucket.get("data_event")
        if is_enabled(tracker) is False:
            gaps.append(f"{tracker.label} is disabled")
            continue
        if is_unknown(events) or events is None:
            return None  # undeclared events default to READ and WRITE
        missing = [e for e in data_tracker_schema.DATA_EVENTS if e not in events]
        if not missing:
            return None
        gaps.append(f"{tracker.label} records no {' or '.join(missing)} (add it to data_bucket.data_event)")
    return "; ".join(gaps) if gaps else "no DataTracker records it"


def _sensitive_buckets_data_traced(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _stack(args)
    tag = str(_config(args, "classification_tag", DEFAULT_CLASSIFICATION_TAG))
    sensitive = {str(v).lower() for v in _config(args, "sensitive_values", list(DEFAULT_SENSITIVE_VALUES))}
    data_trackers = [r for r in resources if r.type == DATA_TRACKER_TYPE]
    for bucket in buckets_in(resources):
        tags = bucket.tags()
        if not isinstance(tags, Mapping) or not isinstance(tags.get(tag), str):
            continue
        if tags[tag].lower() not in sensitive:
            continue
        gap = _data_trace_gap(bucket, data_trackers)
        if gap is None:
            continue
        name = bucket.name if isinstance(bucket.name, str) else "..."
        report(
            f"{bucket.resource.label} is tagged {tag}={tags[tag]!r} but its object reads and writes are not traced "
            f"({gap}). Fix: declare DataTracker(..., data_bucket={{'data_bucket_name': {name!r}, "
            "'data_event': ['READ', 'WRITE']}).",
            bucket.resource.urn,
        )


sensitive_buckets_data_traced = StackValidationPolicy(
    name=SENSITIVE_BUCKETS_DATA_TRACED,
    description="Buckets classified as sensitive have their object reads and writes recorded: an auditor asks "
    "who read or changed sensitive data (a CTS DataTracker recording READ and WRITE).",
    validate=_sensitive_buckets_data_traced,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={
            "classification_tag": {
                "type": "string",
                "default": DEFAULT_CLASSIFICATION_TAG,
                "description": "Bucket tag that holds the data classification.",
            },
            "sensitive_values": {
                **_STRINGS,
                "default": list(DEFAULT_SENSITIVE_VALUES),
                "description": "Tag values (any case) that mark a bucket as sensitive.",
            },
        }
    ),
)


ALL_POLICIES: tuple[Policy, ...] = (
    tracker_enabled,
    trace_files_encrypted,
    trace_file_validation,
    tracker_in_every_project,
    trace_bucket_protected,
    critical_operations_notified,
    sensitive_buckets_data_traced,
)


def cts_policies() -> list[Policy]:
    """The seven CTS policies, to put into a `PolicyPack` (alone or with policies of your own)."""
    return list(ALL_POLICIES)


def serve(name: str = PACK_NAME, policies: Sequence[Policy] | None = None) -> None:
    """Serve a policy pack of these policies (the body of a pack's `__main__.py`); never returns."""
    from pulumi_policy import PolicyPack

    PolicyPack(
        name,
        policies=list(policies if policies is not None else ALL_POLICIES),
        enforcement_level=EnforcementLevel.ADVISORY,
        description="Keeps every stack's CTS audit trail on, encrypted, tamper-evident, retained and watched.",
    )
