"""HTTP handlers of the emulated CTS v3 API: trackers (management and data), key-event notifications, traces, quotas.

The management tracker is the same stored object the v1.0 handlers serve, shown in the v3 shape. Bodies are read
here into `models` values (JSON types and enumerations checked); names, existence and relations are the backend's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.common import (
    body_field,
    body_object,
    empty_response,
    invalid_body,
    json_object,
    json_response,
)
from pulumi_cts.emulator.cts_v1_responses import tracker_resource, tracker_status
from pulumi_cts.emulator.gateway import CtsHandlers
from pulumi_cts.emulator.models import (
    COMPRESS_TYPES,
    TRACE_RATINGS,
    TRACKER_STATUSES,
    TRACKER_TYPES,
    DataBucket,
    Notification,
    NotificationSpec,
    TraceQuery,
    Tracker,
    TrackerRequest,
    TrackerSettings,
    epoch_ms,
)

NOTIFICATION_TYPES = ("smn",)
OPERATION_TYPES = ("complete", "customized")
FILTER_CONDITIONS = ("AND", "OR")
DEFAULT_TRACE_LIMIT = 10
MAX_TRACE_LIMIT = 200
DEFAULT_TRACE_WINDOW = timedelta(hours=1)
# Query parameters that select traces by the trace field of the same name.
TRACE_FIELD_FILTERS = ("service_type", "resource_id", "resource_name", "resource_type", "trace_name", "trace_rating")

_EPOCH_MS = re.compile(r"\d{13}")
_FILTER_RULE = re.compile(r"(api_version|code|trace_rating|trace_type|resource_id|resource_name)\s*(!=|=)\s*\S.*")


# --- trackers ---


def v3_tracker_request(body: Mapping[str, Any], with_status: bool) -> TrackerRequest:
    """Read a v3 tracker body; every field left out takes its default (a PUT replaces, it does not merge)."""
    tracker_type = body.get("tracker_type")
    if tracker_type not in TRACKER_TYPES:
        raise exceptions.InvalidTrackerType(f"The tracker_type must be either system or data, not {tracker_type!r}.")
    tracker_name = body_field(body, "tracker_name", str, "")
    obs_info = body_object(body, "obs_info")
    obs: Mapping[str, Any] = obs_info or {}
    bucket_name = body_field(obs, "bucket_name", str, "")
    if obs_info is not None and not bucket_name:
        raise exceptions.BucketNameEmpty("The transfer OBS bucket cannot be empty: obs_info.bucket_name is required.")
    compress_type = body_field(obs, "compress_type", str, "gzip")
    if compress_type not in COMPRESS_TYPES:
        raise invalid_body(f"obs_info.compress_type must be gzip or json, not {compress_type!r}.")
    settings = TrackerSettings(
        bucket_name=bucket_name,
        file_prefix_name=body_field(obs, "file_prefix_name", str, ""),
        is_obs_created=body_field(obs, "is_obs_created", bool, False),
        compress_type=compress_type,
        is_sort_by_service=body_field(obs, "is_sort_by_service", bool, True),
        bucket_lifecycle=body_field(obs, "bucket_lifecycle", int, None),
        is_lts_enabled=body_field(body, "is_lts_enabled", bool, False),
        is_support_validate=body_field(body, "is_support_validate", bool, False),
        is_support_trace_files_encryption=body_field(body, "is_support_trace_files_encryption", bool, False),
        kms_id=body_field(body, "kms_id", str, ""),
        # A create has no status: a new tracker is always enabled.
        status=tracker_status(body) if with_status else "enabled",
    )
    return TrackerRequest(tracker_type, tracker_name, settings, _data_bucket(body))


def _data_bucket(body: Mapping[str, Any]) -> DataBucket | None:
    data_bucket = body_object(body, "data_bucket")
    if data_bucket is None:
        return None
    events = data_bucket.get("data_event")
    if events is None:
        events = []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise exceptions.InvalidDataEvent(f"The bucket operation (data_event) must be a list, not {events!r}.")
    return DataBucket(body_field(data_bucket, "data_bucket_name", str, ""), tuple(events))


def _tracker_type_filter(request: Request) -> str | None:
    tracker_type = request.args.get("tracker_type") or None
    if tracker_type is not None and tracker_type not in TRACKER_TYPES:
        raise exceptions.InvalidTrackerType(f"The tracker_type must be either system or data, not {tracker_type!r}.")
    return tracker_type


# --- notifications ---


def notification_spec(body: Mapping[str, Any], with_status: bool) -> NotificationSpec:
    """Read a notification body (create, or modify with `with_status`)."""
    name = body.get("notification_name")
    if not isinstance(name, str):
        raise exceptions.InvalidNotificationName(f"The notification_name must be a string, not {name!r}.")
    operation_type = body.get("operation_type")
    if operation_type not in OPERATION_TYPES:
        raise invalid_body(f"operation_type must be complete or customized, not {operation_type!r}.")
    status = "enabled"
    if with_status:
        requested = body.get("status")
        if requested not in TRACKER_STATUSES:
            raise exceptions.InvalidStatus(
                f"The status is required and can only be enabled or disabled, not {requested!r}."
            )
        status = str(requested)
    return NotificationSpec(
        name=name,
        operation_type=str(operation_type),
        operations=_operations(body.get("operations")),
        notify_user_list=_user_groups(body.get("notify_user_list")),
        topic_id=body_field(body, "topic_id", str, ""),
        filter=_filter(body.get("filter")),
        status=status,
    )


def _operations(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise exceptions.InvalidOperations("The operations parameter is invalid: it must be a list.")
    operations = []
    for index, item in enumerate(value):
        where = f"The operations parameter is invalid: operations[{index}]"
        if not isinstance(item, dict):
            raise exceptions.InvalidOperations(f"{where} must be an object.")
        for key in ("service_type", "resource_type"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise exceptions.InvalidOperations(f"{where}.{key} is required.")
        names = item.get("trace_names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise exceptions.InvalidOperations(f"{where}.trace_names must be a non-empty list of names.")
        operations.append(
            {"service_type": item["service_type"], "resource_type": item["resource_type"], "trace_names": list(names)}
        )
    return tuple(operations)


def _user_groups(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid_body("notify_user_list must be a list.")
    groups = []
    for index, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("user_group"), str)
            or not isinstance(item.get("user_list"), list)
            or not all(isinstance(u, str) for u in item["user_list"])
        ):
            raise invalid_body(f"notify_user_list[{index}] must be {{user_group: string, user_list: [string]}}.")
        groups.append({"user_group": item["user_group"], "user_list": list(item["user_list"])})
    return tuple(groups)


def _filter(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_body("filter must be an object.")
    unknown = sorted(set(value) - {"condition", "is_support_filter", "rule"})
    if unknown:
        raise invalid_body(f"filter has unknown fields {unknown}.")
    if value.get("condition") is not None and value["condition"] not in FILTER_CONDITIONS:
        raise invalid_body(f"filter.condition must be AND or OR, not {value['condition']!r}.")
    body_field(value, "is_support_filter", bool, None)
    rules = value.get("rule")
    if rules is not None and (
        not isinstance(rules, list) or not all(isinstance(r, str) and _FILTER_RULE.fullmatch(r) for r in rules)
    ):
        raise invalid_body(
            "filter.rule must be a list of 'FIELD = VALUE' or 'FIELD != VALUE' with FIELD one of api_version, code, "
            f"trace_rating, trace_type, resource_id, resource_name; got {rules!r}."
        )
    return {key: value[key] for key in ("condition", "is_support_filter", "rule") if key in value}


def notification_resource(notification: Notification) -> tuple[str, str, str]:
    return "notification", notification.id, notification.spec.name


# --- traces ---


def _epoch_ms_param(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if _EPOCH_MS.fullmatch(value) is None:
        raise invalid_body(f"{name} must be a 13-digit UTC timestamp in milliseconds, not {value!r}.")
    return int(value)


def trace_query(request: Request, now_ms: int) -> TraceQuery:
    """Read the query string of `GET /v3/{project_id}/traces` (default window: the last hour)."""
    args = request.args
    raw_limit = args.get("limit") or str(DEFAULT_TRACE_LIMIT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_TRACE_LIMIT:
        raise invalid_body(f"limit must be an integer from 1 to {MAX_TRACE_LIMIT}, not {raw_limit!r}.")
    to_ms = _epoch_ms_param(request, "to")
    from_ms = _epoch_ms_param(request, "from")
    if to_ms is None:
        to_ms = now_ms
    if from_ms is None:
        from_ms = to_ms - int(DEFAULT_TRACE_WINDOW.total_seconds() * 1000)
    if from_ms > to_ms:
        raise invalid_body(f"from ({from_ms}) must not be later than to ({to_ms}).")
    tracker_type = args.get("trace_type") or None
    if tracker_type is not None and tracker_type not in TRACKER_TYPES:
        raise invalid_body(f"trace_type must be system or data, not {tracker_type!r}.")
    rating = args.get("trace_rating")
    if rating and rating not in TRACE_RATINGS:
        raise invalid_body(f"trace_rating must be normal, warning or incident, not {rating!r}.")
    return TraceQuery(
        from_ms=from_ms,
        to_ms=to_ms,
        limit=int(raw_limit),
        marker=args.get("next") or None,
        trace_id=args.get("trace_id") or None,
        tracker_type=tracker_type,
        tracker_name=args.get("tracker_name") or None,
        user=args.get("user") or None,
        fields=tuple((key, str(args[key])) for key in TRACE_FIELD_FILTERS if args.get(key)),
    )


class CtsV3Response(CtsHandlers):
    """Handles the CTS v3 calls."""

    def _put_answer(self, description: dict[str, Any]) -> Response:
        if self.backend.config.put_body:
            return json_response(description)
        # The documented answer is 200 without a body.
        return empty_response()

    # --- trackers ---

    def create_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        tracker_request = v3_tracker_request(json_object(request), with_status=False)
        tracker = self.backend.create_v3_tracker(project, tracker_request)
        self._record(request, project, caller, "createTracker", tracker_resource(tracker), 201, "v3")
        return json_response(tracker.v3_description(), 201)

    def update_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        tracker_request = v3_tracker_request(json_object(request), with_status=True)
        tracker = self.backend.update_v3_tracker(project, tracker_request)
        self._record(request, project, caller, "updateTracker", tracker_resource(tracker), 200, "v3")
        return self._put_answer(tracker.v3_description())

    def list_trackers(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        trackers = self.backend.list_v3_trackers(
            project.id, request.args.get("tracker_name") or None, _tracker_type_filter(request)
        )
        return json_response({"trackers": [t.v3_description() for t in trackers]})

    def delete_trackers(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        deleted: list[Tracker] = self.backend.delete_v3_trackers(
            project.id, request.args.get("tracker_name") or None, _tracker_type_filter(request)
        )
        for tracker in deleted:
            self._record(request, project, caller, "deleteTracker", tracker_resource(tracker), 204, "v3")
        return Response(status=204)

    # --- key-event notifications ---

    def create_notification(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        spec = notification_spec(json_object(request), with_status=False)
        notification = self.backend.create_notification(project, spec)
        self._record(request, project, caller, "createNotification", notification_resource(notification), 201, "v3")
        return json_response(notification.description(), 201)

    def update_notification(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        body = json_object(request)
        notification_id = body.get("notification_id")
        if not isinstance(notification_id, str) or not notification_id:
            raise invalid_body("notification_id is required.")
        spec = notification_spec(body, with_status=True)
        notification = self.backend.update_notification(project, notification_id, spec)
        self._record(request, project, caller, "updateNotification", notification_resource(notification), 200, "v3")
        return json_response(notification.description())

    def list_notifications(self, request: Request, project_id: str, notification_type: str) -> Response:
        project = self._project(request, project_id)
        if notification_type not in NOTIFICATION_TYPES:
            raise exceptions.InvalidNotificationType(
                f"The notification_type can only be smn, not {notification_type!r}."
            )
        found = self.backend.list_notifications(project.id, request.args.get("notification_name") or None)
        return json_response({"notifications": [n.description() for n in found]})

    def delete_notifications(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        ids = [i.strip() for i in request.args.get("notification_id", "").split(",") if i.strip()]
        if not ids:
            raise invalid_body("notification_id is required: one id or several separated by commas.")
        for notification in self.backend.delete_notifications(project.id, ids):
            self._record(request, project, caller, "deleteNotification", notification_resource(notification), 204, "v3")
        return Response(status=204)

    # --- traces and quotas ---

    def list_traces(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        query = trace_query(request, epoch_ms(self.backend.clock()))
        traces, marker = self.backend.query_traces(project.id, query)
        return json_response({"traces": traces, "meta_data": {"count": len(traces), "marker": marker}})

    def get_quotas(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        return json_response({"resources": self.backend.quotas(project.id)})
