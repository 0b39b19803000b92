"""The tracker's fields: validation rules, defaults, API <-> state mapping and diff rules.

This is the only module that knows CTS field names. Property names in Pulumi state are the CTS
API's own names, so a user reading the CTS documentation recognises every field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.output import Unknown

TRACKER_NAME = "system"
PROVIDER_KEY = "__provider"

STATUS_VALUES = ("enabled", "disabled")
API_VERSIONS = ("v1.0", "v3")
DEFAULT_API_VERSION = "v1.0"
COMPRESS_TYPES = ("gzip", "json")
# Settings only the v3 API has; defaults as documented for v3.
V3_ONLY_DEFAULTS: dict[str, Any] = {"compress_type": "gzip", "is_sort_by_service": True}

# Fields a program may declare, with their defaults where the API has one. An undeclared optional
# field means "the documented default", so every PUT can carry the complete desired state.
DEFAULTS: dict[str, Any] = {
    "file_prefix_name": "",
    "is_obs_created": False,
    "is_support_trace_files_encryption": False,
    "log_file_validate": {"is_support_validate": False},
    "status": "enabled",
    "lts": {"is_lts_enabled": False},
    "adopt_existing": False,
}
SCOPE_FIELDS = ("project_name", "project_id", "region")
INPUT_FIELDS = (
    "bucket_name",
    "file_prefix_name",
    "is_obs_created",
    "is_support_trace_files_encryption",
    "kms_id",
    "log_file_validate",
    "status",
    "lts",
    *SCOPE_FIELDS,
    "adopt_existing",
    "api_version",
    *V3_ONLY_DEFAULTS,
)
# Read-only results. Programs pass them as None placeholders so that they are readable outputs.
# `tracker_id` is CTS's `id`: Pulumi reserves `id` for the resource id.
OUTPUT_ONLY_FIELDS = ("tracker_name", "detail", "create_time", "domain_id", "tracker_id", "obs_info")

_BUCKET_CHARS = re.compile(r"^[a-z0-9.-]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,64}$")
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PROJECT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_KMS_ID = re.compile(r"^[A-Za-z0-9:/_.-]{1,256}$")


def is_unknown(value: Any) -> bool:
    """True for a preview placeholder, at any depth of nested lists and dicts."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def shown(value: Any) -> str:
    """A short, safe rendering of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


@dataclass(frozen=True)
class Failure:
    """One rejected property: `field` is the property path, `reason` says which rule it broke."""

    field: str
    reason: str


def bucket_name_problem(value: str) -> str | None:
    """Why `value` is not a valid OBS bucket name for CTS, or None when it is valid."""
    if not 3 <= len(value) <= 63:
        return f"must be 3 to 63 characters long (got {len(value)})"
    if not _BUCKET_CHARS.match(value):
        return "may contain only lowercase letters, digits, '-' and '.'"
    if not value[0].isalnum():
        return "must start with a lowercase letter or a digit"
    if not value[-1].isalnum():
        return "must end with a lowercase letter or a digit"
    for pair in ("..", ".-", "-."):
        if pair in value:
            return f"must not contain '{pair}'"
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return None
    return "must not be an IP address"


def check_prefix(value: Any, failures: list[Failure]) -> None:
    check_pattern(
        "file_prefix_name", value, _PREFIX, "must be 0 to 64 characters of letters, digits, '.', '_' and '-'", failures
    )


def check_choice(name: str, value: Any, choices: tuple[str, ...], failures: list[Failure]) -> None:
    """One of a fixed set of strings, unless absent or still unknown."""
    if value is not None and not isinstance(value, Unknown) and value not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        failures.append(Failure(name, f"{name} must be {allowed}, got {shown(value)}"))


def check_bool(name: str, value: Any, failures: list[Failure]) -> None:
    if not isinstance(value, bool):
        failures.append(Failure(name, f"{name} must be a boolean (true or false), got {shown(value)}"))


def check_pattern(name: str, value: Any, pattern: re.Pattern[str], rule: str, failures: list[Failure]) -> None:
    if not isinstance(value, str):
        failures.append(Failure(name, f"{name} must be a string, got {shown(value)}"))
    elif not pattern.match(value):
        failures.append(Failure(name, f"{name} {rule}, got {shown(value)}"))


def check_switch_object(name: str, value: Any, key: str, failures: list[Failure]) -> None:
    """Objects with one boolean switch, e.g. `lts={"is_lts_enabled": True}`."""
    if isinstance(value, Unknown):
        return
    if not isinstance(value, Mapping):
        failures.append(Failure(name, f"{name} must be an object like {{'{key}': true}}, got {shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k != key)
    if extra:
        failures.append(Failure(name, f"{name} accepts only '{key}', not {', '.join(extra)}"))
    if key not in value:
        failures.append(Failure(f"{name}.{key}", f"{name}.{key} is required when {name} is set"))
    elif not isinstance(value[key], Unknown):
        check_bool(f"{name}.{key}", value[key], failures)


def validate(news: Mapping[str, Any], default_version: str = DEFAULT_API_VERSION) -> list[Failure]:
    """Every problem of the declared inputs, one Failure per problem. Never raises.

    Unknown values (preview) are not judged: they will be checked again when known.
    """
    failures: list[Failure] = []
    version = news.get("api_version") if news.get("api_version") is not None else default_version
    if not isinstance(version, Unknown) and version not in API_VERSIONS:
        failures.append(Failure("api_version", f"api_version must be 'v1.0' or 'v3', got {shown(version)}"))
    elif version == "v1.0":
        for name in V3_ONLY_DEFAULTS:
            if news.get(name) is not None:
                failures.append(Failure(name, f"{name} needs api_version 'v3'; the v1.0 API has no such setting"))
    check_choice("compress_type", news.get("compress_type"), COMPRESS_TYPES, failures)
    check_known_properties(news, INPUT_FIELDS, OUTPUT_ONLY_FIELDS, failures)

    def declared(name: str) -> bool:
        return news.get(name) is not None and not isinstance(news.get(name), Unknown)

    bucket = news.get("bucket_name")
    if bucket is None:
        failures.append(Failure("bucket_name", "bucket_name is required: the OBS bucket that receives trace files"))
    else:
        check_bucket("bucket_name", bucket, failures)

    if declared("file_prefix_name"):
        check_prefix(news["file_prefix_name"], failures)
    for flag in ("is_obs_created", "is_support_trace_files_encryption", "adopt_existing", "is_sort_by_service"):
        if declared(flag):
            check_bool(flag, news[flag], failures)
    check_choice("status", news.get("status"), STATUS_VALUES, failures)
    if news.get("log_file_validate") is not None:
        check_switch_object("log_file_validate", news["log_file_validate"], "is_support_validate", failures)
    if news.get("lts") is not None:
        check_switch_object("lts", news["lts"], "is_lts_enabled", failures)

    encryption = news.get("is_support_trace_files_encryption")
    kms_id = news.get("kms_id")
    if declared("kms_id"):
        check_pattern("kms_id", kms_id, _KMS_ID, "must be a KMS key ID (1 to 256 characters)", failures)
    if encryption is True and kms_id is None:
        failures.append(Failure("kms_id", "kms_id is required when is_support_trace_files_encryption is true"))
    if declared("kms_id") and encryption is not True and not isinstance(encryption, Unknown):
        failures.append(
            Failure(
                "kms_id",
                "kms_id is set but is_support_trace_files_encryption is not true: "
                "set it to true to encrypt trace files, or remove kms_id",
            )
        )

    check_scope(news, failures)
    return failures


def check_known_properties(
    news: Mapping[str, Any], inputs: tuple[str, ...], outputs: tuple[str, ...], failures: list[Failure]
) -> None:
    """Reject typos and attempts to set read-only results; `None` placeholders are fine."""
    allowed = {*inputs, *outputs, PROVIDER_KEY}
    for key in news:
        if key not in allowed:
            failures.append(Failure(str(key), f"unknown property {shown(key)}; valid properties: {', '.join(inputs)}"))
    for key in outputs:
        if news.get(key) is not None and not is_unknown(news.get(key)):
            failures.append(Failure(key, f"{key} is read-only and is set by CTS, not by the program"))


def check_scope(news: Mapping[str, Any], failures: list[Failure]) -> None:
    """The per-resource scope overrides: region, project_name, project_id."""
    rules = {
        "region": (_REGION, "must be a region name such as 'eu-de'"),
        "project_name": (_PROJECT_NAME, "must be a project name such as 'eu-de'"),
        "project_id": (_PROJECT_ID, "must be an IAM project ID"),
    }
    for name, (pattern, rule) in rules.items():
        if news.get(name) is not None and not isinstance(news.get(name), Unknown):
            check_pattern(name, news[name], pattern, rule, failures)


def check_bucket(name: str, value: Any, failures: list[Failure]) -> None:
    """An OBS bucket name, unless it is still unknown."""
    if value is None or isinstance(value, Unknown):
        return
    if not isinstance(value, str):
        failures.append(Failure(name, f"{name} must be a string, got {shown(value)}"))
        return
    problem = bucket_name_problem(value)
    if problem:
        failures.append(Failure(name, f"{name} {problem}, got {shown(value)}"))


def with_defaults(news: Mapping[str, Any], default_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
    """The declared inputs with documented defaults filled in and read-only placeholders dropped."""
    inputs = {k: v for k, v in news.items() if k not in OUTPUT_ONLY_FIELDS}
    if inputs.get("api_version") is None:
        inputs["api_version"] = default_version
    defaults = dict(DEFAULTS)
    if inputs["api_version"] == "v3":
        defaults.update(V3_ONLY_DEFAULTS)
    for key, default in defaults.items():
        if inputs.get(key) is None:
            inputs[key] = dict(default) if isinstance(default, dict) else default
    return inputs


def desired_body(inputs: Mapping[str, Any], *, create_bucket: bool) -> dict[str, Any]:
    """The complete request body for the declared inputs, in the shape of their API version.

    Every setting is sent explicitly, defaults included: a PUT replaces the tracker's whole
    configuration, so leaving a field out would silently reset it (the Terraform v3 bug).
    """
    merged = with_defaults(inputs)
    encrypted = bool(merged["is_support_trace_files_encryption"])
    if merged["api_version"] == "v3":
        v3_body: dict[str, Any] = {
            "tracker_type": "system",
            "tracker_name": TRACKER_NAME,
            "obs_info": {
                "bucket_name": merged["bucket_name"],
                "file_prefix_name": merged["file_prefix_name"],
                "is_obs_created": bool(create_bucket and merged["is_obs_created"]),
                "compress_type": merged["compress_type"],
                "is_sort_by_service": bool(merged["is_sort_by_service"]),
            },
            "is_lts_enabled": bool(merged["lts"]["is_lts_enabled"]),
            "is_support_validate": bool(merged["log_file_validate"]["is_support_validate"]),
        }
        if encrypted:
            # Huawei Cloud's v3 only: OTC's v3 has no KMS fields, so they are sent only when used.
            v3_body["is_support_trace_files_encryption"] = True
            v3_body["kms_id"] = merged["kms_id"]
        return v3_body
    body: dict[str, Any] = {
        "bucket_name": merged["bucket_name"],
        "file_prefix_name": merged["file_prefix_name"],
        "is_obs_created": bool(create_bucket and merged["is_obs_created"]),
        "is_support_trace_files_encryption": encrypted,
        "log_file_validate": {"is_support_validate": bool(merged["log_file_validate"]["is_support_validate"])},
        "lts": {"is_lts_enabled": bool(merged["lts"]["is_lts_enabled"])},
    }
    if encrypted:
        body["kms_id"] = merged["kms_id"]
    return body


def update_body(
    inputs: Mapping[str, Any], current: Mapping[str, Any], *, create_bucket: bool | None = None
) -> dict[str, Any]:
    """The PUT body: the complete desired state, status included.

    `is_obs_created` asks CTS to create the bucket, which only makes sense when the tracker moves
    to a bucket it does not use yet (unless `create_bucket` decides otherwise).
    """
    moving = inputs.get("bucket_name") != current.get("bucket_name")
    body = desired_body(inputs, create_bucket=moving if create_bucket is None else create_bucket)
    body["status"] = with_defaults(inputs)["status"]
    return body


def answer_after_put(answer: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The tracker after a successful PUT of `body` that answered without a body.

    A PUT replaces the whole configuration, so the sent body is the new configuration; ids and
    times stay as in the earlier `answer`.
    """
    merged: dict[str, Any] = {**answer, **body}
    for nested in ("obs_info", "lts"):
        if isinstance(answer.get(nested), Mapping) and isinstance(body.get(nested), Mapping):
            merged[nested] = {**answer[nested], **body[nested]}
    if "is_lts_enabled" in body and isinstance(answer.get("lts"), Mapping):
        merged["lts"] = {**answer["lts"], "is_lts_enabled": body["is_lts_enabled"]}
    return merged


def asks_to_create_bucket(body: Mapping[str, Any]) -> bool:
    """Whether a request body (either API version) asks CTS to create the bucket."""
    return bool(_pick(body, "is_obs_created"))


def _pick(answer: Mapping[str, Any], key: str) -> Any:
    """A field from either documented shape: flat (seed example) or nested in `obs_info`."""
    if key in answer:
        return answer[key]
    obs_info = answer.get("obs_info")
    if isinstance(obs_info, Mapping):
        return obs_info.get(key)
    return None


def tracker_from_answer(answer: Any, name: str = TRACKER_NAME) -> dict[str, Any] | None:
    """The tracker in a CTS answer (an object, a list, or `{"trackers": [...]}`), or None."""
    if isinstance(answer, Mapping) and isinstance(answer.get("trackers"), list):
        answer = answer["trackers"]
    if isinstance(answer, list):
        named = [t for t in answer if isinstance(t, Mapping) and t.get("tracker_name", name) == name]
        return dict(named[0]) if named else None
    if isinstance(answer, Mapping) and answer:
        return dict(answer)
    return None


def state_from_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """State properties from one tracker object, in either response shape."""
    validate_obj = answer.get("log_file_validate")
    if isinstance(validate_obj, Mapping):
        validate_flag = bool(validate_obj.get("is_support_validate", False))
    else:
        validate_flag = bool(answer.get("is_support_validate", False))
    lts_obj = answer.get("lts")
    lts: dict[str, Any] = {"is_lts_enabled": False}
    if isinstance(lts_obj, Mapping):
        lts = {"is_lts_enabled": bool(lts_obj.get("is_lts_enabled", False))}
        for extra in ("log_group_name", "log_topic_name"):
            if lts_obj.get(extra):
                lts[extra] = lts_obj[extra]
    elif "is_lts_enabled" in answer:
        lts = {"is_lts_enabled": bool(answer["is_lts_enabled"])}
    encrypted = bool(answer.get("is_support_trace_files_encryption", False))
    state: dict[str, Any] = {
        "bucket_name": _pick(answer, "bucket_name") or "",
        "file_prefix_name": _pick(answer, "file_prefix_name") or "",
        "is_obs_created": bool(_pick(answer, "is_obs_created") or False),
        "is_support_trace_files_encryption": encrypted,
        "kms_id": answer.get("kms_id") or None,
        "log_file_validate": {"is_support_validate": validate_flag},
        "lts": lts,
        "status": answer.get("status") or "enabled",
        "detail": answer.get("detail") or None,
        "tracker_name": answer.get("tracker_name") or TRACKER_NAME,
        "tracker_id": answer.get("id"),
        "create_time": answer.get("create_time"),
        "domain_id": answer.get("domain_id"),
        "compress_type": _pick(answer, "compress_type"),
        "is_sort_by_service": _pick(answer, "is_sort_by_service"),
        "obs_info": dict(answer["obs_info"]) if isinstance(answer.get("obs_info"), Mapping) else None,
    }
    if isinstance(state["create_time"], int | float):
        state["create_time"] = int(state["create_time"])
    return state


def inputs_from_state(state: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that describe what the service really has (after a refresh).

    Settings come from the service; fields that only steer the provider (scope, adoption) are
    carried over from the previous inputs.
    """
    inputs = {
        "bucket_name": state["bucket_name"],
        "file_prefix_name": state["file_prefix_name"],
        "is_obs_created": old_inputs.get("is_obs_created", DEFAULTS["is_obs_created"]),
        "is_support_trace_files_encryption": state["is_support_trace_files_encryption"],
        "log_file_validate": dict(state["log_file_validate"]),
        "lts": {"is_lts_enabled": state["lts"]["is_lts_enabled"]},
        "status": "disabled" if state["status"] == "disabled" else "enabled",
        "adopt_existing": old_inputs.get("adopt_existing", DEFAULTS["adopt_existing"]),
        "api_version": old_inputs.get("api_version", DEFAULT_API_VERSION),
    }
    if inputs["api_version"] == "v3":
        for key, default in V3_ONLY_DEFAULTS.items():
            inputs[key] = state.get(key) if state.get(key) is not None else default
    if state.get("kms_id"):
        inputs["kms_id"] = state["kms_id"]
    for key in SCOPE_FIELDS:
        if old_inputs.get(key) is not None:
            inputs[key] = old_inputs[key]
    return inputs


def _comparable(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that CTS keeps, in the form used to decide whether an update is needed."""
    merged = with_defaults(values)
    encrypted = merged.get("is_support_trace_files_encryption")
    status = merged.get("status")
    lts = merged.get("lts")
    validate_obj = merged.get("log_file_validate")
    return {
        "bucket_name": merged.get("bucket_name"),
        "file_prefix_name": merged.get("file_prefix_name"),
        "is_support_trace_files_encryption": encrypted,
        # The key only matters while encryption is on.
        "kms_id": merged.get("kms_id") if encrypted is not False else None,
        "log_file_validate.is_support_validate": (
            validate_obj.get("is_support_validate") if isinstance(validate_obj, Mapping) else validate_obj
        ),
        "lts.is_lts_enabled": lts.get("is_lts_enabled") if isinstance(lts, Mapping) else lts,
        # "error" is a health condition set by CTS (bucket gone, arrears): the switch is still on.
        "status": "enabled" if status == "error" else status,
        "api_version": merged.get("api_version"),
        "compress_type": merged.get("compress_type"),
        "is_sort_by_service": merged.get("is_sort_by_service"),
    }


def changed_fields(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Settings whose declared value differs from the previous outputs, or may (Unknown)."""
    old = _comparable(olds)
    new = _comparable(news)
    return [key for key in new if is_unknown(new[key]) or new[key] != old[key]]


@dataclass(frozen=True)
class Scope:
    """Where a tracker lives: a region and a project, given by id or by name."""

    region: str
    project_id: str | None = None
    project_name: str | None = None

    def __post_init__(self) -> None:
        if not self.project_id and not self.project_name:
            object.__setattr__(self, "project_name", self.region)

    def describe(self) -> str:
        project = self.project_id or self.project_name
        return f"project {project} in {self.region}"


def region_of_project(project_name: str) -> str:
    """Project names are a region or `{region}_{suffix}`."""
    return project_name.split("_", 1)[0]


def resource_scope(inputs: Mapping[str, Any], default: Scope) -> Scope:
    """The scope a resource declares, falling back to the provider's scope field by field."""
    # Only strings count: `check` reports anything else, and diff must not fail on it first.
    project_id, project_name, region = (
        value if isinstance(value, str) else None
        for value in (inputs.get("project_id"), inputs.get("project_name"), inputs.get("region"))
    )
    if project_id:
        return Scope(region=region or default.region, project_id=project_id)
    if project_name:
        return Scope(region=region or region_of_project(project_name), project_name=project_name)
    if region:
        return Scope(region=region, project_name=region)
    return default


def replaced_fields(olds: Mapping[str, Any], news: Mapping[str, Any], default: Scope | None) -> list[str]:
    """Scope properties whose change moves the tracker to another project: a replacement.

    `olds` are previous outputs, which record the project the tracker really lives in.
    """
    unknown = [key for key in SCOPE_FIELDS if isinstance(news.get(key), Unknown)]
    if unknown:
        return unknown
    if default is None:
        declared = [k for k in SCOPE_FIELDS if news.get(k) is not None and news.get(k) != olds.get(k)]
        return declared
    wanted = resource_scope(news, default)
    replaced: list[str] = []
    if olds.get("region") and wanted.region != olds.get("region"):
        replaced.append("region")
    if wanted.project_id:
        if olds.get("project_id") and wanted.project_id != olds.get("project_id"):
            replaced.append("project_id")
    elif olds.get("project_name") and wanted.project_name != olds.get("project_name"):
        replaced.append("project_name")
    return replaced


def resource_id(project_id: str) -> str:
    """The Pulumi id of a tracker: `{project_id}/{tracker_name}`."""
    return f"{project_id}/{TRACKER_NAME}"


def project_of_id(id_: str) -> str | None:
    """The project id in a resource id `{project_id}/{name}`, or None for an id of another form."""
    project, separator, name = id_.partition("/")
    return project if separator and project and name else None
