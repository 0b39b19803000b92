"""Validation helpers shared by the resources' field rules: each appends one `Failure` per broken rule.

Free of Pulumi: preview placeholders are recognised without importing the SDK.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROVIDER_KEY = "__provider"
STATUS_VALUES = ("enabled", "disabled")
COMPRESS_TYPES = ("gzip", "json")
# The one documented value: CTS creates (or uses) the cloud-service agency of that name.
AGENCY_NAMES = ("cts_admin_trust",)
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 255
SYSTEM_TAG_PREFIX = "_sys_"

# Every pattern must match the whole value (`fully_matches`): with `re.match`, a closing `$` lets a
# trailing newline through.
_BUCKET_CHARS = re.compile(r"[a-z0-9.-]+")
_PREFIX = re.compile(r"[A-Za-z0-9._-]{0,64}")
_REGION = re.compile(r"[a-z0-9-]{1,64}")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PROJECT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Letters and digits of any script, spaces and _ . : / = + - @; no space at either end.
_TAG_TEXT = re.compile(r"(?:[\w.:/=+@-](?:[\w .:/=+@-]*[\w.:/=+@-])?)?")


def _is_placeholder(value: Any) -> bool:
    # A preview placeholder can only exist once the Pulumi SDK is loaded, so there is no need to
    # load it here (the doctor and the emulator run without it).
    output = sys.modules.get("pulumi.output")
    unknown = getattr(output, "Unknown", None)
    return unknown is not None and isinstance(value, unknown)


def is_unknown(value: Any) -> bool:
    """True for a preview placeholder, at any depth of nested lists and dicts."""
    if _is_placeholder(value):
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def is_placeholder(value: Any) -> bool:
    """True for a preview placeholder itself (not for a value that only contains one)."""
    return _is_placeholder(value)


def known(value: Any) -> bool:
    """Declared and not a preview placeholder: a value the rules can judge now."""
    return value is not None and not _is_placeholder(value)


def fully_matches(pattern: re.Pattern[str], value: Any) -> bool:
    """True when `value` is a string that `pattern` matches from its first to its last character."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


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
    if not fully_matches(_BUCKET_CHARS, value):
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
    if known(value) and value not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        failures.append(Failure(name, f"{name} must be {allowed}, got {shown(value)}"))


def check_bool(name: str, value: Any, failures: list[Failure]) -> None:
    if not isinstance(value, bool):
        failures.append(Failure(name, f"{name} must be a boolean (true or false), got {shown(value)}"))


def check_pattern(name: str, value: Any, pattern: re.Pattern[str], rule: str, failures: list[Failure]) -> None:
    if not isinstance(value, str):
        failures.append(Failure(name, f"{name} must be a string, got {shown(value)}"))
    elif not fully_matches(pattern, value):
        failures.append(Failure(name, f"{name} {rule}, got {shown(value)}"))


def check_switch_object(name: str, value: Any, key: str, failures: list[Failure]) -> None:
    """Objects with one boolean switch, e.g. `lts={"is_lts_enabled": True}`."""
    if _is_placeholder(value):
        return
    if not isinstance(value, Mapping):
        failures.append(Failure(name, f"{name} must be an object like {{'{key}': true}}, got {shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k != key)
    if extra:
        failures.append(Failure(name, f"{name} accepts only '{key}', not {', '.join(extra)}"))
    if key not in value:
        failures.append(Failure(f"{name}.{key}", f"{name}.{key} is required when {name} is set"))
    elif not _is_placeholder(value[key]):
        check_bool(f"{name}.{key}", value[key], failures)


def check_trace_file_settings(news: Mapping[str, Any], flags: tuple[str, ...], failures: list[Failure]) -> None:
    """The settings both kinds of tracker share: file prefix, boolean switches, compression, status,
    digest files and the LTS switch."""
    if known(news.get("file_prefix_name")):
        check_prefix(news["file_prefix_name"], failures)
    for flag in flags:
        if known(news.get(flag)):
            check_bool(flag, news[flag], failures)
    check_choice("compress_type", news.get("compress_type"), COMPRESS_TYPES, failures)
    check_choice("status", news.get("status"), STATUS_VALUES, failures)
    if news.get("log_file_validate") is not None:
        check_switch_object("log_file_validate", news["log_file_validate"], "is_support_validate", failures)
    if news.get("lts") is not None:
        check_switch_object("lts", news["lts"], "is_lts_enabled", failures)


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
        if known(news.get(name)):
            check_pattern(name, news[name], pattern, rule, failures)


def check_bucket(name: str, value: Any, failures: list[Failure]) -> None:
    """An OBS bucket name, unless it is still unknown."""
    if not known(value):
        return
    if not isinstance(value, str):
        failures.append(Failure(name, f"{name} must be a string, got {shown(value)}"))
        return
    problem = bucket_name_problem(value)
    if problem:
        failures.append(Failure(name, f"{name} {problem}, got {shown(value)}"))


def check_tags(name: str, value: Any, failures: list[Failure]) -> None:
    """Resource tags `{key: value}` as CTS's tag API takes them: keys 1 to 128 characters, values 0 to
    255, of letters, digits, spaces and `_.:/=+-@`, no space at either end; keys not starting `_sys_`."""
    if not known(value):
        return
    if not isinstance(value, Mapping):
        failures.append(Failure(name, f"{name} must be an object of tag keys and values, got {shown(value)}"))
        return
    for key, tag_value in value.items():
        where = f"{name}.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY or not fully_matches(_TAG_TEXT, key):
            failures.append(
                Failure(
                    name,
                    f"tag keys are 1 to {MAX_TAG_KEY} letters, digits, spaces and '_.:/=+-@', "
                    f"not starting or ending with a space, got {shown(key)}",
                )
            )
        elif key.startswith(SYSTEM_TAG_PREFIX):
            reason = f"tag keys starting {SYSTEM_TAG_PREFIX!r} belong to the system, got {shown(key)}"
            failures.append(Failure(name, reason))
        if is_placeholder(tag_value):
            continue
        if not isinstance(tag_value, str) or len(tag_value) > MAX_TAG_VALUE or not fully_matches(_TAG_TEXT, tag_value):
            failures.append(
                Failure(
                    where,
                    f"{where} must be 0 to {MAX_TAG_VALUE} letters, digits, spaces and '_.:/=+-@', "
                    f"not starting or ending with a space, got {shown(tag_value)}",
                )
            )
