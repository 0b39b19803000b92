"""What the compliance policies read from a stack: CTS resources and OBS/S3 buckets as plain facts.

Property bags arrive as the engine sends them to a policy pack: the provider's own property
names, preview unknowns as sentinel strings, secrets unwrapped. Everything here is a pure function
of those bags, so the rules in `policies` stay free of shape details of other provider packages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown

from .checks import is_unknown, known
from .scope import SCOPE_FIELDS

TRACKER_TYPE = "pulumi-python:dynamic/cts:Tracker"
DATA_TRACKER_TYPE = "pulumi-python:dynamic/cts:DataTracker"
NOTIFICATION_TYPE = "pulumi-python:dynamic/cts:Notification"
CTS_TYPES = (TRACKER_TYPE, DATA_TRACKER_TYPE, NOTIFICATION_TYPE)

# How the engine marks a value that is not known during a preview (one sentinel per kind).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also what the engine sends for any kind)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
_SECRET_SIGNATURE = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")

# Bucket resources of other provider packages, by type token: where the bucket's name is.
HUAWEICLOUD_BUCKET = "huaweicloud:Obs/bucket:Bucket"
HUAWEICLOUD_BUCKET_POLICY = "huaweicloud:Obs/bucketPolicy:BucketPolicy"
AWS_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
AWS_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
AWS_BUCKET_ACLS = ("aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketAcl:BucketAcl")
AWS_BUCKET_LIFECYCLES = (
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
)
BUCKET_TYPES = (HUAWEICLOUD_BUCKET, *AWS_BUCKETS)
BUCKET_SETTING_TYPES = (HUAWEICLOUD_BUCKET_POLICY, AWS_BUCKET_POLICY, *AWS_BUCKET_ACLS, *AWS_BUCKET_LIFECYCLES)

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEE_URIS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_READ_PERMISSIONS = ("READ", "FULL_CONTROL")


def unknown() -> Unknown:
    """A preview placeholder, the SDK's own kind (so `checks.is_unknown` recognises it)."""
    return Unknown()  # type: ignore[no-untyped-call]


def plain(value: Any) -> Any:
    """A property value with sentinels turned into `Unknown` and secrets into their values."""
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return unknown()
    if isinstance(value, Mapping):
        if value.get(_SECRET_SIGNATURE[0]) == _SECRET_SIGNATURE[1]:
            return plain(value.get("value"))
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it: type token, URN, logical name, plain properties."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`Tracker 'audit-trail'` or `huaweicloud:Obs/bucket:Bucket 'traces'`."""
        kind = self.type.rsplit(":", 1)[-1] if self.type in CTS_TYPES else self.type
        return f"{kind} '{self.name}'"

    def depends_on(self, prop: str, urn: str) -> bool:
        return urn in self.property_dependencies.get(prop, ())


@dataclass(frozen=True)
class Project:
    """The project a CTS resource addresses; `unknown` when a scope field is not known yet."""

    project_id: str | None = None
    project_name: str | None = None
    unknown: bool = False

    @property
    def resolved(self) -> bool:
        """Both ID and name: the project of stored outputs, not a scope a program declared."""
        return bool(self.project_id and self.project_name)

    @property
    def is_default(self) -> bool:
        return not self.unknown and not self.project_id and not self.project_name

    def describe(self) -> str:
        if self.project_name:
            return f"project {self.project_name}"
        if self.project_id:
            return f"project {self.project_id}"
        return "the provider's default project"

    def keys(self) -> set[str]:
        return {k for k in (self.project_id, self.project_name) if k}


def project_of(resource: Resource, default: Project | None = None) -> Project:
    """The project from `project_id` / `project_name` / `region` (outputs have all three).

    A resource that declares none addresses the provider's project: `default` when the stack
    configuration names it, else an unnamed default project.
    """
    props = resource.props
    values = {key: props.get(key) for key in SCOPE_FIELDS}
    if any(is_unknown(v) for v in values.values()):
        return Project(unknown=True)
    project_id = values["project_id"] if isinstance(values["project_id"], str) and values["project_id"] else None
    name = values["project_name"] if isinstance(values["project_name"], str) and values["project_name"] else None
    region = values["region"] if isinstance(values["region"], str) and values["region"] else None
    if project_id or name:
        return Project(project_id=project_id, project_name=name)
    if region:
        # A region alone addresses the region's main project, which has the region's name.
        return Project(project_name=region)
    return default or Project()


def same_project(a: Project, b: Project) -> bool | None:
    """True, False, or None when it cannot be told.

    It cannot be told when a scope is unknown, when one side names the project by ID and the other
    by name, or when one side is the unnamed default project and the other a resource as stored
    after an update (its outputs name the project it really lives in, which may be the default).
    A default-scoped resource and one that declares another project address different projects.
    """
    if a.unknown or b.unknown:
        return None
    if a.project_id and b.project_id:
        return a.project_id == b.project_id
    if a.project_name and b.project_name:
        return a.project_name == b.project_name
    if a.is_default and b.is_default:
        return True
    if a.is_default or b.is_default:
        other = b if a.is_default else a
        return None if other.resolved else False
    return None


def is_enabled(resource: Resource) -> bool | None:
    """A CTS resource's switch: None while unknown; "error" is a health state, still switched on."""
    status = resource.props.get("status")
    if is_unknown(status):
        return None
    return status != "disabled"


@dataclass(frozen=True)
class Finding:
    """One fact about a bucket that breaks a rule: the resource and field that say so, and the fix."""

    resource: Resource
    field: str
    problem: str
    fix: str


@dataclass
class Bucket:
    """A bucket declared in the stack with the settings that other resources attach to it."""

    resource: Resource
    name: Any
    settings: list[Resource] = field(default_factory=list)

    def matches(self, name: Any, holder: Resource, prop: str) -> bool | None:
        """Whether `holder.prop` (a bucket name) designates this bucket; None when it cannot be told."""
        if holder.depends_on(prop, self.resource.urn):
            return True
        if is_unknown(name) or is_unknown(self.name):
            return None
        return isinstance(name, str) and name == self.name

    def tags(self) -> Mapping[str, Any] | Unknown | None:
        props = self.resource.props
        tags = props.get("tagsAll") if known(props.get("tagsAll")) else props.get("tags")
        if is_unknown(tags):
            return unknown()
        return tags if isinstance(tags, Mapping) else None


def buckets_in(resources: Iterable[Resource]) -> list[Bucket]:
    """Every bucket of the known provider packages, with the ACL/policy/lifecycle resources that name it."""
    resources = list(resources)
    buckets = [Bucket(r, r.props.get("bucket")) for r in resources if r.type in BUCKET_TYPES]
    for setting in (r for r in resources if r.type in BUCKET_SETTING_TYPES):
        for bucket in buckets:
            # A setting whose bucket is not known yet and that does not depend on one stays unattached.
            if bucket.matches(setting.props.get("bucket"), setting, "bucket"):
                bucket.settings.append(setting)
    return buckets


def public_access(bucket: Bucket) -> list[Finding]:
    """Everything that makes the bucket's objects readable by anyone."""
    findings: list[Finding] = []
    for resource in (bucket.resource, *bucket.settings):
        props = resource.props
        acl = props.get("acl")
        if isinstance(acl, str) and acl in PUBLIC_ACLS:
            findings.append(Finding(resource, "acl", f"acl is '{acl}'", "set acl='private'"))
        findings.extend(_public_grants(resource))
        policy = props.get("policy")
        if known(policy) and _policy_is_public(policy):
            findings.append(
                Finding(
                    resource,
                    "policy",
                    "the bucket policy allows reading objects to everyone (Principal '*', no Condition)",
                    "remove that statement or restrict its Principal to the accounts that audit the traces",
                )
            )
    return findings


def _public_grants(resource: Resource) -> list[Finding]:
    props = resource.props
    grants: Any = props.get("grants")  # the bucket's own grants (aws:s3/bucket:Bucket)
    prefix = "grants"
    policy = props.get("accessControlPolicy")
    if isinstance(policy, Mapping):
        grants, prefix = policy.get("grants"), "accessControlPolicy.grants"
    if not isinstance(grants, list):
        return []
    findings = []
    for index, grant in enumerate(grants):
        if not isinstance(grant, Mapping):
            continue
        grantee = grant.get("grantee") if isinstance(grant.get("grantee"), Mapping) else grant
        permissions = grant.get("permissions", [grant.get("permission")])
        uri = grantee.get("uri") if isinstance(grantee, Mapping) else None
        if (
            uri in _PUBLIC_GRANTEE_URIS
            and isinstance(permissions, list)
            and any(p in _READ_PERMISSIONS for p in permissions)
        ):
            findings.append(Finding(resource, f"{prefix}[{index}]", f"grants read to {uri}", "remove this grant"))
    return findings


def _policy_is_public(policy: Any) -> bool:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return False
    statements = policy.get("Statement") if isinstance(policy, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    return any(_statement_is_public(s) for s in statements if isinstance(s, Mapping))


def _statement_is_public(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or statement.get("Condition"):
        return False
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        # S3 format {"AWS": "*"}; OBS format {"ID": ["*"]}.
        values = [v for value in principal.values() for v in (value if isinstance(value, list) else [value])]
    else:
        values = principal if isinstance(principal, list) else [principal]
    if "*" not in values:
        return False
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    return any(isinstance(a, str) and _reads_objects(a) for a in actions)


def _reads_objects(action: str) -> bool:
    name = action.split(":", 1)[-1]
    return name in ("*", "Get*", "GetObject") or action == "*"


def short_expirations(bucket: Bucket, file_prefix: str, minimum_days: float) -> list[Finding]:
    """Lifecycle rules that delete trace files (keys under `file_prefix`) before `minimum_days`."""
    findings: list[Finding] = []
    for resource in (bucket.resource, *bucket.settings):
        props = resource.props
        rules_field = "rules" if resource.type in AWS_BUCKET_LIFECYCLES else "lifecycleRules"
        rules = props.get(rules_field)
        if not isinstance(rules, list):
            continue
        for index, rule in enumerate(rules):
            if not isinstance(rule, Mapping) or not _rule_active(rule) or not _rule_covers(rule, file_prefix):
                continue
            for where, expiration in _expirations(rule):
                path = f"{rules_field}[{index}].{where}"
                days, date = expiration.get("days"), expiration.get("date")
                if isinstance(days, int | float) and not isinstance(days, bool) and 0 < days < minimum_days:
                    findings.append(
                        Finding(
                            resource,
                            f"{path}.days",
                            f"deletes trace files after {days:g} days",
                            f"raise {path}.days to at least {minimum_days:g}, or remove the expiration",
                        )
                    )
                elif isinstance(date, str) and date:
                    findings.append(
                        Finding(
                            resource,
                            f"{path}.date",
                            f"deletes trace files on {date}",
                            f"replace {path}.date with days of at least {minimum_days:g}",
                        )
                    )
    return findings


def _rule_active(rule: Mapping[str, Any]) -> bool:
    if "status" in rule:
        return rule.get("status") == "Enabled"
    return rule.get("enabled") is True


def _rule_covers(rule: Mapping[str, Any], file_prefix: str) -> bool:
    """Whether the rule reaches keys under `file_prefix` (all of them or some of them)."""
    prefixes = [rule.get("prefix")]
    filter_ = rule.get("filter")
    if isinstance(filter_, Mapping):
        prefixes.append(filter_.get("prefix"))
        if isinstance(filter_.get("and"), Mapping):
            prefixes.append(filter_["and"].get("prefix"))
    declared = [p for p in prefixes if isinstance(p, str) and p]
    if not declared:
        return True
    return any(file_prefix.startswith(p) or p.startswith(file_prefix) for p in declared)


def _expirations(rule: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """`expiration` (object, or a one-item list) and `expirations` (list), as each package has it."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for key in ("expiration", "expirations"):
        value = rule.get(key)
        if isinstance(value, Mapping):
            found.append((key, value))
        elif isinstance(value, list):
            found.extend((f"{key}[{i}]", v) for i, v in enumerate(value) if isinstance(v, Mapping))
    return found
