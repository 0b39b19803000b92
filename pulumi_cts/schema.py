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
)
# Read-only results. Programs pass them as None placeholders so that they are readable outputs.
OUTPUT_ONLY_FIELDS = ("tracker_name", "detail", "create_time", "domain_id")

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


def _shown(value: Any) -> str:
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


def _check_bool(name: str, value: Any, failures: list[Failure]) -> None:
    if not isinstance(value, bool):
        failures.append(Failure(name, f"{name} must be a boolean (true or false), got {_shown(value)}"))


def _check_pattern(name: str, value: Any, pattern: re.Pattern[str], rule: str, failures: list[Failure]) -> None:
    if not isinstance(value, str):
        failures.append(Failure(name, f"{name} must be a string, got {_shown(value)}"))
    elif not pattern.match(value):
        failures.append(Failure(name, f"{name} {rule}, got {_shown(value)}"))


def _check_object(name: str, value: Any, key: str, failures: list[Failure]) -> None:
    """Objects with one boolean switch, e.g. `lts={"is_lts_enabled": True}`."""
    if isinstance(value, Unknown):
        return
    if not isinstance(value, Mapping):
        failures.append(Failure(name, f"{name} must be an object like {{'{key}': true}}, got {_shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k != key)
    if extra:
        failures.append(Failure(name, f"{name} accepts only '{key}', not {', '.join(extra)}"))
    if key not in value:
        failures.append(Failure(f"{name}.{key}", f"{name}.{key} is required when {name} is set"))
    elif not isinstance(value[key], Unknown):
        _check_bool(f"{name}.{key}", value[key], failures)


def validate(news: Mapping[str, Any]) -> list[Failure]:
    """Every problem of the declared inputs, one Failure per problem. Never raises.

    Unknown values (preview) are not judged: they will be checked again when known.
    """
    failures: list[Failure] = []
    allowed = {*INPUT_FIELDS, *OUTPUT_ONLY_FIELDS, PROVIDER_KEY}
    for key in news:
        if key not in allowed:
            failures.append(
                Failure(str(key), f"unknown property {_shown(key)}; valid properties: {', '.join(INPUT_FIELDS)}")
            )
    for key in OUTPUT_ONLY_FIELDS:
        if news.get(key) is not None and not is_unknown(news.get(key)):
            failures.append(Failure(key, f"{key} is read-only and is set by CTS, not by the program"))

    def declared(name: str) -> bool:
        return news.get(name) is not None and not isinstance(news.get(name), Unknown)

    bucket = news.get("bucket_name")
    if bucket is None:
        failures.append(Failure("bucket_name", "bucket_name is required: the OBS bucket that receives trace files"))
    elif declared("bucket_name"):
        if not isinstance(bucket, str):
            failures.append(Failure("bucket_name", f"bucket_name must be a string, got {_shown(bucket)}"))
        else:
            problem = bucket_name_problem(bucket)
            if problem:
                failures.append(Failure("bucket_name", f"bucket_name {problem}, got {_shown(bucket)}"))

    if declared("file_prefix_name"):
        _check_pattern(
            "file_prefix_name",
            news["file_prefix_name"],
            _PREFIX,
            "must be 0 to 64 characters of letters, digits, '.', '_' and '-'",
            failures,
        )
    for flag in ("is_obs_created", "is_support_trace_files_encryption", "adopt_existing"):
        if declared(flag):
            _check_bool(flag, news[flag], failures)
    if declared("status") and news["status"] not in STATUS_VALUES:
        failures.append(Failure("status", f"status must be 'enabled' or 'disabled', got {_shown(news['status'])}"))
    if news.get("log_file_validate") is not None:
        _check_object("log_file_validate", news["log_file_validate"], "is_support_validate", failures)
    if news.get("lts") is not None:
        _check_object("lts", news["lts"], "is_lts_enabled", failures)

    encryption = news.get("is_support_trace_files_encryption")
    kms_id = news.get("kms_id")
    if declared("kms_id"):
        _check_pattern("kms_id", kms_id, _KMS_ID, "must be a KMS key ID (1 to 256 characters)", failures)
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

    if declared("region"):
        _check_pattern("region", news["region"], _REGION, "must be a region name such as 'eu-de'", failures)
    if declared("project_name"):
        _check_pattern(
            "project_name", news["project_name"], _PROJECT_NAME, "must be a project name such as 'eu-de'", failures
        )
    if declared("project_id"):
        _check_pattern("project_id", news["project_id"], _PROJECT_ID, "must be an IAM project ID", failures)
    return failures


def with_defaults(news: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs with documented defaults filled in and read-only placeholders dropped."""
    inputs = {k: v for k, v in news.items() if k not in OUTPUT_ONLY_FIELDS}
    for key, default in DEFAULTS.items():
        if inputs.get(key) is None:
            inputs[key] = dict(default) if isinstance(default, dict) else default
    return inputs


def desired_body(inputs: Mapping[str, Any], *, create_bucket: bool) -> dict[str, Any]:
    """The complete v1.0 request body for the declared inputs.

    Every setting is sent explicitly, defaults included: a PUT replaces the tracker's whole
    configuration, so leaving a field out would silently reset it (the Terraform v3 bug).
    """
    merged = with_defaults(inputs)
    encrypted = bool(merged["is_support_trace_files_encryption"])
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


def update_body(inputs: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body: the complete desired state, status included.

    `is_obs_created` asks CTS to create the bucket, which only makes sense when the tracker moves
    to a bucket it does not use yet.
    """
    moving = inputs.get("bucket_name") != current.get("bucket_name")
    body = desired_body(inputs, create_bucket=moving)
    body["status"] = with_defaults(inputs)["status"]
    return body


def _pick(answer: Mapping[str, Any], key: str) -> Any:
    """A field from either documented shape: flat (seed example) or nested in `obs_info`."""
    if key in answer:
        return answer[key]
    obs_info = answer.get("obs_info")
    if isinstance(obs_info, Mapping):
        return obs_info.get(key)
    return None


def tracker_from_answer(answer: Any) -> dict[str, Any] | None:
    """The tracker in a CTS answer (an object, a list, or `{"trackers": [...]}`), or None."""
    if isinstance(answer, Mapping) and isinstance(answer.get("trackers"), list):
        answer = answer["trackers"]
    if isinstance(answer, list):
        named = [t for t in answer if isinstance(t, Mapping) and t.get("tracker_name", TRACKER_NAME) == TRACKER_NAME]
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
        "create_time": answer.get("create_time"),
        "domain_id": answer.get("domain_id"),
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
    }
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
    project_id = inputs.get("project_id")
    project_name = inputs.get("project_name")
    region = inputs.get("region")
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
    """The project id in a resource id, or None for an id of another form."""
    project, _, name = id_.partition("/")
    return project if project and name == TRACKER_NAME else None
