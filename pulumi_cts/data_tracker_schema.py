"""The data tracker's fields (CTS v3, `tracker_type=data`, Huawei Cloud): validation, bodies, state.

A data tracker records OBS data events (reads and writes of objects) of one tracked bucket and
may transfer them to another bucket. The tracked bucket and the name never change in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .checks import (
    Failure,
    check_bucket,
    check_scope,
    check_tags,
    check_trace_file_settings,
    fully_matches,
    is_placeholder,
    known,
    shown,
)
from .fields import Field, FieldTable, changes_by, output_only, scope_fields, switch_status
from .tracker_schema import comparable_kept

RESERVED_NAMES = ("system", "system-trace")
DATA_EVENTS = ("READ", "WRITE")
BUCKET_LIFECYCLE_CHOICES = (0, 30, 60, 90, 180, 1095)  # days; 0 keeps trace files forever
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")

FIELDS = FieldTable(
    Field("tracker_name", replaces=True, compared=False),
    # The tracked bucket is fixed; the recorded events change in place.
    Field("data_bucket", replaces=True, identity="data_bucket_name", nested="data_event"),
    Field("bucket_name"),
    Field("file_prefix_name", default=""),
    Field("is_obs_created", default=False, compared=False),
    # CTS reports 0 (forever) when none was set: undeclared, the tracker keeps what it has.
    Field("bucket_lifecycle", kept=True),
    Field("compress_type", default="gzip"),
    Field("is_sort_by_service", default=True),
    Field("lts", default={"is_lts_enabled": False}, nested="is_lts_enabled"),
    Field("log_file_validate", default={"is_support_validate": False}, nested="is_support_validate"),
    Field("status", default="enabled"),
    *scope_fields(),
    # Through CTS's tag API; undeclared, the tracker keeps the tags it has (see `fields.Field.kept`).
    Field("tags", kept=True),
    *output_only("tracker_id", "detail", "create_time", "domain_id", "obs_info"),
)


def validate(news: Mapping[str, Any]) -> list[Failure]:
    """Every problem of the declared inputs, one Failure per problem. Never raises."""
    failures: list[Failure] = []
    FIELDS.check_known(news, failures)
    name = news.get("tracker_name")
    if name is None:
        failures.append(Failure("tracker_name", "tracker_name is required"))
    elif not is_placeholder(name):
        if name in RESERVED_NAMES:
            failures.append(Failure("tracker_name", f"tracker_name cannot be {shown(name)}: it is reserved"))
        elif not fully_matches(_NAME, name):
            failures.append(
                Failure(
                    "tracker_name",
                    "tracker_name must be 1 to 32 letters, digits, '_' and '-', starting with a letter or digit, "
                    f"got {shown(name)}",
                )
            )
    _check_data_bucket(news.get("data_bucket"), failures)
    check_bucket("bucket_name", news.get("bucket_name"), failures)
    check_trace_file_settings(news, ("is_obs_created", "is_sort_by_service"), failures)
    lifecycle = news.get("bucket_lifecycle")
    # Numbers reach the provider as floats: 30.0 is 30 days, 30.5 is not a choice.
    if known(lifecycle) and (
        isinstance(lifecycle, bool)
        or not isinstance(lifecycle, int | float)
        or lifecycle not in BUCKET_LIFECYCLE_CHOICES
    ):
        days = ", ".join(str(d) for d in BUCKET_LIFECYCLE_CHOICES)
        failures.append(
            Failure("bucket_lifecycle", f"bucket_lifecycle must be one of {days} days, got {shown(lifecycle)}")
        )
    transfer_only = [k for k in ("file_prefix_name", "is_obs_created", "bucket_lifecycle") if news.get(k) is not None]
    if news.get("bucket_name") is None and transfer_only:
        failures.append(Failure(transfer_only[0], f"{transfer_only[0]} needs bucket_name (the transfer bucket)"))
    data_bucket = news.get("data_bucket")
    if (
        isinstance(data_bucket, Mapping)
        and isinstance(news.get("bucket_name"), str)
        and data_bucket.get("data_bucket_name") == news.get("bucket_name")
    ):
        failures.append(Failure("bucket_name", "the transfer bucket cannot be the tracked bucket (data_bucket)"))
    check_tags("tags", news.get("tags"), failures)
    check_scope(news, failures)
    return failures


def _check_data_bucket(value: Any, failures: list[Failure]) -> None:
    if value is None:
        failures.append(
            Failure("data_bucket", "data_bucket is required: {'data_bucket_name': ..., 'data_event': ['READ','WRITE']}")
        )
        return
    if is_placeholder(value):
        return
    if not isinstance(value, Mapping):
        failures.append(Failure("data_bucket", f"data_bucket must be an object, got {shown(value)}"))
        return
    extra = sorted(str(k) for k in value if k not in ("data_bucket_name", "data_event"))
    if extra:
        failures.append(
            Failure("data_bucket", f"data_bucket accepts data_bucket_name and data_event, not {', '.join(extra)}")
        )
    if value.get("data_bucket_name") is None:
        failures.append(Failure("data_bucket.data_bucket_name", "data_bucket.data_bucket_name is required"))
    else:
        check_bucket("data_bucket.data_bucket_name", value["data_bucket_name"], failures)
    events = value.get("data_event")
    if events is None or is_placeholder(events):
        return
    named = [e for e in events if not is_placeholder(e)] if isinstance(events, list | tuple) else []
    if (
        not isinstance(events, list | tuple)
        or not events
        or any(not isinstance(e, str) or e not in DATA_EVENTS for e in named)
        or len(set(named)) != len(named)
    ):
        failures.append(
            Failure(
                "data_bucket.data_event", f"data_bucket.data_event must be READ, WRITE or both, got {shown(events)}"
            )
        )


def with_defaults(news: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs with documented defaults filled in and read-only placeholders dropped."""
    inputs = FIELDS.with_defaults(news)
    data_bucket = inputs.get("data_bucket")
    if isinstance(data_bucket, Mapping) and data_bucket.get("data_event") is None:
        inputs["data_bucket"] = {**data_bucket, "data_event": list(DATA_EVENTS)}
    if isinstance(inputs.get("bucket_lifecycle"), float) and float(inputs["bucket_lifecycle"]).is_integer():
        inputs["bucket_lifecycle"] = int(inputs["bucket_lifecycle"])
    return inputs


def desired_body(
    inputs: Mapping[str, Any], *, create_bucket: bool, with_status: bool, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The complete v3 body: every setting explicit, so a PUT never resets one by omission.

    `inputs` are complete: checked, with defaults applied. An undeclared `bucket_lifecycle` carries
    the value of `current` (the tracker's state).
    """
    merged = inputs
    body: dict[str, Any] = {
        "tracker_type": "data",
        "tracker_name": merged["tracker_name"],
        "data_bucket": {
            "data_bucket_name": merged["data_bucket"]["data_bucket_name"],
            "data_event": sorted(merged["data_bucket"]["data_event"]),
        },
        "is_lts_enabled": bool(merged["lts"]["is_lts_enabled"]),
        "is_support_validate": bool(merged["log_file_validate"]["is_support_validate"]),
    }
    if merged.get("bucket_name"):
        obs_info: dict[str, Any] = {
            "bucket_name": merged["bucket_name"],
            "file_prefix_name": merged["file_prefix_name"],
            "is_obs_created": bool(create_bucket and merged["is_obs_created"]),
            "compress_type": merged["compress_type"],
            "is_sort_by_service": bool(merged["is_sort_by_service"]),
        }
        lifecycle = merged.get("bucket_lifecycle")
        if lifecycle is None and current is not None:
            lifecycle = current.get("bucket_lifecycle")
        if lifecycle is not None:
            obs_info["bucket_lifecycle"] = int(lifecycle)
        body["obs_info"] = obs_info
    if with_status:
        body["status"] = merged["status"]
    return body


def state_from_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    obs_info = answer.get("obs_info") if isinstance(answer.get("obs_info"), Mapping) else {}
    assert isinstance(obs_info, Mapping)
    data_bucket = answer.get("data_bucket") if isinstance(answer.get("data_bucket"), Mapping) else {}
    assert isinstance(data_bucket, Mapping)
    lts = answer.get("lts")
    lts_enabled = lts.get("is_lts_enabled") if isinstance(lts, Mapping) else answer.get("is_lts_enabled")
    lifecycle = obs_info.get("bucket_lifecycle")
    return {
        "tracker_name": answer.get("tracker_name"),
        "tracker_id": answer.get("id"),
        "data_bucket": {
            "data_bucket_name": data_bucket.get("data_bucket_name"),
            "data_event": sorted(data_bucket.get("data_event") or []),
        },
        "bucket_name": obs_info.get("bucket_name") or None,
        "file_prefix_name": obs_info.get("file_prefix_name") or "",
        "is_obs_created": bool(obs_info.get("is_obs_created", False)),
        "bucket_lifecycle": int(lifecycle)
        if isinstance(lifecycle, int | float | str) and str(lifecycle).isdigit()
        else None,
        "compress_type": obs_info.get("compress_type") or "gzip",
        "is_sort_by_service": bool(obs_info.get("is_sort_by_service", True)),
        "lts": {"is_lts_enabled": bool(lts_enabled)},
        "log_file_validate": {"is_support_validate": bool(answer.get("is_support_validate", False))},
        "status": answer.get("status") or "enabled",
        "detail": answer.get("detail"),
        "create_time": int(answer["create_time"]) if isinstance(answer.get("create_time"), int | float) else None,
        "domain_id": answer.get("domain_id"),
        "obs_info": dict(obs_info) or None,
    }


def _comparable(values: Mapping[str, Any]) -> dict[str, Any]:
    view = FIELDS.comparable(with_defaults(values))
    events = view["data_bucket.data_event"]
    # In a fixed order only when they are names: an old state may hold other values, and a diff
    # must still tell that they differ instead of failing to sort them.
    if isinstance(events, list) and all(isinstance(e, str) for e in events):
        view["data_bucket.data_event"] = sorted(events)
    view["status"] = switch_status(view["status"])
    return {**view, **comparable_kept(view)}


changed_fields = changes_by(_comparable, FIELDS)
# The tracked bucket and the name are fixed once created: changing them means a new tracker.
replaced_fields = FIELDS.replaced_fields


def inputs_from_state(state: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that describe what the service really has; the scope is carried over."""
    inputs = FIELDS.inputs_from_state(state, old_inputs)
    inputs["status"] = "disabled" if state.get("status") == "disabled" else "enabled"
    return inputs


def resource_name(props: Mapping[str, Any]) -> str:
    """The name part of the resource id: the tracker's own name."""
    return str(props.get("tracker_name") or "")
