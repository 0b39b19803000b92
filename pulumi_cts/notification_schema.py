"""Key-event notification fields (CTS v3 `/notifications`): validation, bodies and state.

A notification sends an SMN message when chosen operations (or all of them) are recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .checks import (
    AGENCY_NAMES,
    STATUS_VALUES,
    Failure,
    check_bool,
    check_choice,
    check_scope,
    fully_matches,
    is_placeholder,
    known,
    shown,
)
from .fields import Field, FieldTable, changes_by, output_only, scope_fields

OPERATION_TYPES = ("complete", "customized")
CONDITIONS = ("AND", "OR")
MAX_USER_GROUPS = 10
MAX_USERS = 50
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_SERVICE_TYPE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_TOPIC = re.compile(r"urn:smn:[a-z0-9-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]{1,256}")
_RULE = re.compile(r"(api_version|code|trace_rating|trace_type|resource_id|resource_name)\s*(!=|=)\s*\S.*")

FIELDS = FieldTable(
    Field("notification_name"),
    Field("operation_type"),
    Field("operations"),
    Field("notify_user_list", default=[]),
    Field("topic_id"),
    Field("filter"),
    Field("status", default="enabled"),
    # Huawei Cloud: undeclared, the notification keeps the agency it has (see `fields.Field.kept`).
    Field("agency_name", kept=True),
    *scope_fields(),
    *output_only("notification_id", "notification_type", "create_time", "domain_id"),
)


def validate(news: Mapping[str, Any]) -> list[Failure]:
    """Every problem of the declared inputs, one Failure per problem. Never raises."""
    failures: list[Failure] = []
    FIELDS.check_known(news, failures)
    name = news.get("notification_name")
    if name is None:
        failures.append(Failure("notification_name", "notification_name is required"))
    elif known(name) and not fully_matches(_NAME, name):
        failures.append(
            Failure(
                "notification_name", f"notification_name must be 1 to 64 letters, digits and '_', got {shown(name)}"
            )
        )
    operation_type = news.get("operation_type")
    if operation_type is None:
        failures.append(Failure("operation_type", "operation_type is required: 'complete' or 'customized'"))
    check_choice("operation_type", operation_type, OPERATION_TYPES, failures)
    operations = news.get("operations")
    if operation_type == "complete" and operations:
        failures.append(Failure("operations", "operations are chosen only with operation_type 'customized'"))
    if operation_type == "customized" and not operations:
        failures.append(Failure("operations", "operation_type 'customized' needs at least one entry in operations"))
    if known(operations):
        _check_operations(operations, failures)
    if known(news.get("notify_user_list")):
        _check_users(news["notify_user_list"], failures)
    topic = news.get("topic_id")
    if known(topic) and not fully_matches(_TOPIC, topic):
        failures.append(
            Failure("topic_id", f"topic_id must be an SMN topic URN urn:smn:REGION:PROJECT:NAME, got {shown(topic)}")
        )
    check_choice("status", news.get("status"), STATUS_VALUES, failures)
    if news.get("status", "enabled") == "enabled" and topic is None:
        failures.append(Failure("topic_id", "topic_id is required while the notification is enabled"))
    if known(news.get("filter")):
        _check_filter(news["filter"], failures)
    check_choice("agency_name", news.get("agency_name"), AGENCY_NAMES, failures)
    check_scope(news, failures)
    return failures


def _name_or_unknown(value: Any) -> bool:
    """A non-empty name, or a preview placeholder that will be checked once it is known."""
    return is_placeholder(value) or (isinstance(value, str) and bool(value))


def _check_operations(operations: Any, failures: list[Failure]) -> None:
    if not isinstance(operations, list | tuple):
        failures.append(Failure("operations", f"operations must be a list, got {shown(operations)}"))
        return
    for index, operation in enumerate(operations):
        where = f"operations[{index}]"
        if is_placeholder(operation):
            continue
        if not isinstance(operation, Mapping):
            failures.append(Failure(where, f"{where} must be an object with service_type, resource_type, trace_names"))
            continue
        extra = sorted(str(k) for k in operation if k not in ("service_type", "resource_type", "trace_names"))
        if extra:
            failures.append(Failure(where, f"{where} has unknown keys {', '.join(extra)}"))
        service = operation.get("service_type")
        if known(service) and not fully_matches(_SERVICE_TYPE, service):
            failures.append(
                Failure(
                    f"{where}.service_type",
                    f"{where}.service_type must be an upper-case acronym such as 'CTS', got {shown(service)}",
                )
            )
        elif service is None:
            failures.append(Failure(f"{where}.service_type", f"{where}.service_type is required"))
        resource = operation.get("resource_type")
        if resource is None or (known(resource) and (not isinstance(resource, str) or not resource)):
            failures.append(Failure(f"{where}.resource_type", f"{where}.resource_type must be a non-empty string"))
        names = operation.get("trace_names")
        if not known(names):
            if names is None:
                failures.append(Failure(f"{where}.trace_names", f"{where}.trace_names is required"))
            continue
        if not isinstance(names, list | tuple) or not names or not all(_name_or_unknown(n) for n in names):
            failures.append(Failure(f"{where}.trace_names", f"{where}.trace_names must be a non-empty list of names"))


def _check_users(groups: Any, failures: list[Failure]) -> None:
    if not isinstance(groups, list | tuple):
        failures.append(Failure("notify_user_list", f"notify_user_list must be a list, got {shown(groups)}"))
        return
    if len(groups) > MAX_USER_GROUPS:
        failures.append(Failure("notify_user_list", f"notify_user_list allows at most {MAX_USER_GROUPS} user groups"))
    users = 0
    for index, group in enumerate(groups):
        where = f"notify_user_list[{index}]"
        if is_placeholder(group):
            continue
        if not isinstance(group, Mapping) or not _name_or_unknown(group.get("user_group")):
            failures.append(Failure(where, f"{where} must be {{'user_group': str, 'user_list': [str, ...]}}"))
            continue
        members = group.get("user_list")
        if is_placeholder(members):
            continue
        if not isinstance(members, list | tuple) or not all(_name_or_unknown(u) for u in members):
            failures.append(Failure(f"{where}.user_list", f"{where}.user_list must be a list of user names"))
            continue
        users += len(members)
    if users > MAX_USERS:
        failures.append(Failure("notify_user_list", f"notify_user_list allows at most {MAX_USERS} users, got {users}"))


def _check_filter(value: Any, failures: list[Failure]) -> None:
    if not isinstance(value, Mapping):
        failures.append(Failure("filter", f"filter must be an object, got {shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k not in ("condition", "is_support_filter", "rule"))
    if extra:
        failures.append(Failure("filter", f"filter has unknown keys {', '.join(extra)}"))
    check_choice("filter.condition", value.get("condition"), CONDITIONS, failures)
    if known(value.get("is_support_filter")):
        check_bool("filter.is_support_filter", value["is_support_filter"], failures)
    rules = value.get("rule")
    if not known(rules):
        return
    if not isinstance(rules, list | tuple):
        failures.append(Failure("filter.rule", "filter.rule must be a list such as ['code != 200']"))
        return
    for index, rule in enumerate(rules):
        if known(rule) and not fully_matches(_RULE, rule):
            failures.append(
                Failure(
                    f"filter.rule[{index}]",
                    "a rule is 'FIELD = VALUE' or 'FIELD != VALUE' with FIELD one of api_version, code, "
                    f"trace_rating, trace_type, resource_id, resource_name; got {shown(rule)}",
                )
            )


def with_defaults(news: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs with documented defaults filled in and read-only placeholders dropped."""
    inputs = FIELDS.with_defaults(news)
    if inputs.get("operation_type") == "complete" and inputs.get("operations") is None:
        inputs["operations"] = []
    return inputs


def desired_body(
    inputs: Mapping[str, Any], *, notification_id: str | None = None, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The complete body; with an id it is a modify body, which also carries the status.

    `inputs` are complete: checked, with defaults applied. An undeclared `agency_name` carries the
    value of `current` (the notification's state now), so a modify never drops it.
    """
    merged = inputs
    body: dict[str, Any] = {
        "notification_name": merged["notification_name"],
        "operation_type": merged["operation_type"],
        "operations": [dict(o) for o in merged.get("operations") or []],
        "notify_user_list": [dict(g) for g in merged.get("notify_user_list") or []],
    }
    if merged.get("topic_id"):
        body["topic_id"] = merged["topic_id"]
    if merged.get("filter") is not None:
        body["filter"] = dict(merged["filter"])
    agency = merged.get("agency_name") or (current or {}).get("agency_name")
    if agency:
        body["agency_name"] = agency
    if notification_id is not None:
        body["notification_id"] = notification_id
        body["status"] = merged["status"]
    return body


def state_from_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notification_id": answer.get("notification_id"),
        "notification_name": answer.get("notification_name"),
        "notification_type": answer.get("notification_type") or "smn",
        "operation_type": answer.get("operation_type"),
        "operations": list(answer.get("operations") or []),
        "notify_user_list": list(answer.get("notify_user_list") or []),
        "topic_id": answer.get("topic_id") or None,
        "filter": dict(answer["filter"]) if isinstance(answer.get("filter"), Mapping) else None,
        "status": answer.get("status") or "enabled",
        "create_time": int(answer["create_time"]) if isinstance(answer.get("create_time"), int | float) else None,
        "domain_id": answer.get("domain_id"),
        "agency_name": answer.get("agency_name") or None,
    }


def _comparable(values: Mapping[str, Any]) -> dict[str, Any]:
    return FIELDS.comparable(with_defaults(values))


changed_fields = changes_by(_comparable, FIELDS)
# Every setting changes in place: only a scope change (see `scope`) replaces a notification.
replaced_fields = FIELDS.replaced_fields
# Settings from the service; the scope is carried over.
inputs_from_state = FIELDS.inputs_from_state


def resource_name(props: Mapping[str, Any]) -> str:
    """The name part of the resource id: the notification's CTS id (names may change in place)."""
    return str(props.get("notification_id") or "")
