"""The tracker's fields: validation rules, defaults, API <-> state mapping and diff rules.

Property names in Pulumi state are the CTS API's own names, so a user reading the CTS
documentation recognises every field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import scope
from .checks import (
    AGENCY_NAMES,
    SYSTEM_TAG_PREFIX,
    Failure,
    check_bool,
    check_bucket,
    check_choice,
    check_pattern,
    check_scope,
    check_tags,
    check_trace_file_settings,
    is_placeholder,
    is_unknown,
    known,
    shown,
)
from .fields import Field, FieldTable, changes_by, output_only, scope_fields, switch_status

TRACKER_NAME = "system"

API_VERSIONS = ("v1.0", "v3")
DEFAULT_API_VERSION = "v1.0"
# Settings only the v3 API has; defaults as documented for v3.
V3_ONLY_DEFAULTS: dict[str, Any] = {"compress_type": "gzip", "is_sort_by_service": True}
# Settings of the v3 tracker body (Huawei Cloud's v3) that a program may leave to the service.
KEPT_BODY_FIELDS = ("management_event_selector", "is_organization_tracker", "agency_name")
V3_ONLY_FIELDS = (*V3_ONLY_DEFAULTS, *KEPT_BODY_FIELDS, "tags")
# The services whose traces a tracker may leave out of its transfer: KMS (its createDatakey traces).
EXCLUDABLE_SERVICES = ("KMS",)

# An undeclared optional field means "the documented default", so every PUT can carry the complete
# desired state. Read-only results are passed by programs as None placeholders so that they are
# readable outputs; `tracker_id` is CTS's `id`: Pulumi reserves `id` for the resource id.
FIELDS = FieldTable(
    Field("bucket_name"),
    Field("file_prefix_name", default=""),
    # Asks CTS to create the bucket: a create-time switch that CTS does not report back.
    Field("is_obs_created", default=False, carried=True, compared=False),
    Field("is_support_trace_files_encryption", default=False),
    Field("kms_id"),
    Field("log_file_validate", default={"is_support_validate": False}, nested="is_support_validate"),
    Field("lts", default={"is_lts_enabled": False}, nested="is_lts_enabled"),
    Field("status", default="enabled"),
    *scope_fields(),
    Field("adopt_existing", default=False, carried=True, compared=False),
    # Which API manages the tracker: the provider's default when undeclared (see `with_defaults`).
    Field("api_version", default=DEFAULT_API_VERSION, carried=True),
    Field("compress_type"),
    Field("is_sort_by_service"),
    # Undeclared, these keep what the tracker has (set in the console, say): see `fields.Field.kept`.
    Field("management_event_selector", kept=True),
    Field("is_organization_tracker", kept=True),
    Field("agency_name", kept=True),
    Field("tags", kept=True),
    *output_only("tracker_name", "detail", "create_time", "domain_id", "tracker_id", "obs_info"),
)
INPUT_FIELDS = FIELDS.input_fields
OUTPUT_ONLY_FIELDS = FIELDS.output_only_fields

_KMS_ID = re.compile(r"[A-Za-z0-9:/_.-]{1,256}")


def validate(news: Mapping[str, Any], default_version: str = DEFAULT_API_VERSION) -> list[Failure]:
    """Every problem of the declared inputs, one Failure per problem. Never raises.

    Unknown values (preview) are not judged: they will be checked again when known.
    """
    failures: list[Failure] = []
    version = news.get("api_version") if news.get("api_version") is not None else default_version
    if not is_placeholder(version) and version not in API_VERSIONS:
        failures.append(Failure("api_version", f"api_version must be 'v1.0' or 'v3', got {shown(version)}"))
    elif version == "v1.0":
        for name in V3_ONLY_FIELDS:
            if news.get(name) is not None:
                failures.append(Failure(name, f"{name} needs api_version 'v3'; the v1.0 API has no such setting"))
    FIELDS.check_known(news, failures)

    bucket = news.get("bucket_name")
    if bucket is None:
        failures.append(Failure("bucket_name", "bucket_name is required: the OBS bucket that receives trace files"))
    else:
        check_bucket("bucket_name", bucket, failures)

    flags = ("is_obs_created", "is_support_trace_files_encryption", "adopt_existing", "is_sort_by_service")
    check_trace_file_settings(news, flags, failures)

    encryption = news.get("is_support_trace_files_encryption")
    kms_id = news.get("kms_id")
    if known(news.get("kms_id")):
        check_pattern("kms_id", kms_id, _KMS_ID, "must be a KMS key ID (1 to 256 characters)", failures)
    if encryption is True and kms_id is None:
        failures.append(Failure("kms_id", "kms_id is required when is_support_trace_files_encryption is true"))
    if known(news.get("kms_id")) and encryption is not True and not is_placeholder(encryption):
        failures.append(
            Failure(
                "kms_id",
                "kms_id is set but is_support_trace_files_encryption is not true: "
                "set it to true to encrypt trace files, or remove kms_id",
            )
        )

    _check_event_selector(news.get("management_event_selector"), failures)
    if known(news.get("is_organization_tracker")):
        check_bool("is_organization_tracker", news["is_organization_tracker"], failures)
    check_choice("agency_name", news.get("agency_name"), AGENCY_NAMES, failures)
    check_tags("tags", news.get("tags"), failures)
    check_scope(news, failures)
    return failures


def _check_event_selector(value: Any, failures: list[Failure]) -> None:
    name = "management_event_selector"
    if not known(value):
        return
    if not isinstance(value, Mapping):
        example = "{'exclude_service': ['KMS']}"
        failures.append(Failure(name, f"{name} must be an object like {example}, got {shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k != "exclude_service")
    if extra:
        failures.append(Failure(name, f"{name} accepts only 'exclude_service', not {', '.join(extra)}"))
    services = value.get("exclude_service")
    if not known(services):
        return
    allowed = " and ".join(repr(s) for s in EXCLUDABLE_SERVICES)
    if (
        not isinstance(services, list | tuple)
        or any(s not in EXCLUDABLE_SERVICES for s in services if not is_placeholder(s))
        or len(set(map(str, services))) != len(services)
    ):
        failures.append(
            Failure(
                f"{name}.exclude_service",
                f"{name}.exclude_service lists services whose traces are not transferred; CTS accepts only "
                f"{allowed}, each once, got {shown(services)}",
            )
        )


def with_defaults(news: Mapping[str, Any], default_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
    """The declared inputs with documented defaults filled in and read-only placeholders dropped.

    `default_version` is the provider's API version (the stack's `cts:apiVersion`); the v3-only
    settings get their defaults only under v3.
    """
    inputs = dict(news)
    if inputs.get("api_version") is None:
        inputs["api_version"] = default_version
    if inputs["api_version"] == "v3":
        for key, default in V3_ONLY_DEFAULTS.items():
            if inputs.get(key) is None:
                inputs[key] = default
    return FIELDS.with_defaults(inputs)


def desired_body(
    inputs: Mapping[str, Any], *, create_bucket: bool, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The complete request body for the declared inputs, in the shape of their API version.

    Every setting is sent explicitly, defaults included: a PUT replaces the tracker's whole
    configuration, so leaving a field out would silently reset it (the Terraform v3 bug). The
    settings a program may leave to the service (`KEPT_BODY_FIELDS`) carry the value of `current`
    (the tracker's state now) when undeclared, and are left out when neither says anything.
    `inputs` are complete: checked, with defaults applied.
    """
    merged = inputs
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
        for name in KEPT_BODY_FIELDS:
            value = merged.get(name)
            if value is None and current is not None:
                value = current.get(name)
            if value is not None:
                v3_body[name] = _body_value(name, value)
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


def _body_value(name: str, value: Any) -> Any:
    if name == "management_event_selector":
        return {"exclude_service": list(value.get("exclude_service") or [])}
    return bool(value) if name == "is_organization_tracker" else value


def carries_current_settings(inputs: Mapping[str, Any]) -> bool:
    """Whether a PUT for these inputs needs the tracker's settings now: under v3, a setting the program
    leaves to the service must be sent with its current value, or the PUT would reset it."""
    return inputs.get("api_version") == "v3" and any(inputs.get(name) is None for name in KEPT_BODY_FIELDS)


def update_body(
    inputs: Mapping[str, Any], current: Mapping[str, Any], *, create_bucket: bool | None = None
) -> dict[str, Any]:
    """The PUT body: the complete desired state, status included; `current` is the tracker's state.

    `is_obs_created` asks CTS to create the bucket, which only makes sense when the tracker moves
    to a bucket it does not use yet (unless `create_bucket` decides otherwise).
    """
    moving = inputs.get("bucket_name") != current.get("bucket_name")
    body = desired_body(inputs, create_bucket=moving if create_bucket is None else create_bucket, current=current)
    body["status"] = inputs["status"]
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
        # Huawei Cloud's v3 reports these; OTC's answers lack them (None: CTS reports nothing).
        "management_event_selector": event_selector_from_answer(answer.get("management_event_selector")),
        "is_organization_tracker": answer.get("is_organization_tracker"),
        "agency_name": answer.get("agency_name") or None,
    }
    if isinstance(state["create_time"], int | float):
        state["create_time"] = int(state["create_time"])
    return state


def event_selector_from_answer(value: Any) -> dict[str, list[str]] | None:
    """`{"exclude_service": [...]}` (sorted, once each) from an answer's `management_event_selector`, or None."""
    if not isinstance(value, Mapping):
        return None
    return {"exclude_service": sorted(set(value.get("exclude_service") or []))}


def user_tags(listed: list[Mapping[str, Any]]) -> dict[str, str]:
    """`{key: value}` of a tag query's (checked) `tags`, without the system's own (`_sys_...`)."""
    return {
        str(tag["key"]): str(tag.get("value") or "")
        for tag in listed
        if not str(tag["key"]).startswith(SYSTEM_TAG_PREFIX)
    }


def tag_changes(current: Mapping[str, str], desired: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(tags to delete, tags to create) that turn `current` into `desired`; a changed value is
    deleted with its old value, then created with the new one."""
    remove = {k: v for k, v in current.items() if desired.get(k) != v}
    add = {k: v for k, v in desired.items() if current.get(k) != v}
    return remove, add


def inputs_from_state(state: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that describe what the service really has (after a refresh).

    Settings come from the service; fields that only steer the provider (scope, adoption, API
    version, bucket creation) are carried over from the previous inputs.
    """
    inputs = FIELDS.inputs_from_state(state, old_inputs)
    inputs["lts"] = {"is_lts_enabled": state["lts"]["is_lts_enabled"]}
    inputs["status"] = "disabled" if state["status"] == "disabled" else "enabled"
    for key, default in V3_ONLY_DEFAULTS.items():
        if inputs["api_version"] != "v3":
            inputs.pop(key, None)
        elif inputs.get(key) is None:
            inputs[key] = default
    if not state.get("kms_id"):
        inputs.pop("kms_id", None)
    return inputs


def _comparable(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that CTS keeps, in the form used to decide whether an update is needed."""
    view = FIELDS.comparable(with_defaults(values))
    # The key only matters while encryption is on.
    if view["is_support_trace_files_encryption"] is False:
        view["kms_id"] = None
    view["status"] = switch_status(view["status"])
    return {**view, **comparable_kept(view)}


def comparable_kept(view: Mapping[str, Any]) -> dict[str, Any]:
    """The `kept` settings in the form compared: "nothing reported" is the same as "none"."""
    compared: dict[str, Any] = {}
    for name, none in (("is_organization_tracker", False), ("tags", {})):
        if name in view:
            compared[name] = none if view[name] is None else view[name]
    if "management_event_selector" in view:
        selector = view["management_event_selector"]
        services = selector.get("exclude_service") if isinstance(selector, Mapping) else None
        if is_unknown(selector):
            compared["management_event_selector"] = selector
        else:
            compared["management_event_selector"] = sorted(services or [])
    return compared


changed_fields = changes_by(_comparable, FIELDS)
# None of the tracker's settings is fixed: only a scope change (see `scope`) replaces it.
replaced_fields = FIELDS.replaced_fields


def resource_name(props: Mapping[str, Any]) -> str:
    """The name part of the resource id: a project has one management tracker."""
    return TRACKER_NAME


def resource_id(project_id: str) -> str:
    """The Pulumi id of the tracker of a project: `{project_id}/system`."""
    return scope.resource_id(project_id, TRACKER_NAME)
