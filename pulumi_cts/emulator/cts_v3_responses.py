"""HTTP handlers of the emulated CTS v3 API: trackers (management and data) and their tags, key-event
notifications, traces and what is queried from them, quotas, and the transfer-bucket check.

The management tracker is the same stored object the v1.0 handlers serve, shown in the v3 shape. Bodies are read
here into `models` values (JSON types and enumerations checked); names, existence and relations are the backend's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.common import (
    TracedResource,
    body_field,
    body_object,
    empty_response,
    invalid_body,
    json_object,
    json_response,
    trace_query,
    traces_page,
)
from pulumi_cts.emulator.cts_v1_responses import tracker_resource, tracker_status
from pulumi_cts.emulator.gateway import CtsHandlers
from pulumi_cts.emulator.models import (
    COMPRESS_TYPES,
    EXCLUDABLE_SERVICES,
    NOTIFICATION_TYPES,
    TRACKER_STATUSES,
    TRACKER_TYPES,
    DataBucket,
    Notification,
    NotificationSpec,
    Tracker,
    TrackerRequest,
    TrackerSettings,
    epoch_ms,
)

OPERATION_TYPES = ("complete", "customized")
FILTER_CONDITIONS = ("AND", "OR")
MAX_AGENCY_NAME = 64
TAGGED_RESOURCE_TYPE = "cts-tracker"
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 255
# Letters and digits of any script, spaces and _ . : / = + - @ (the tag management service's rule).
_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
# The operations this emulator traces, by service and resource type, for key-event notifications to pick from.
TRACED_OPERATIONS = (
    (
        "CTS",
        "tracker",
        ("createTracker", "updateTracker", "deleteTracker", "batchCreateResourceTags", "batchDeleteResourceTags"),
    ),
    ("CTS", "notification", ("createNotification", "updateNotification", "deleteNotification")),
    ("IAM", "user", ("login",)),
)
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
        agency_name=agency_name(body),
        is_organization_tracker=body_field(body, "is_organization_tracker", bool, False),
        exclude_service=_excluded_services(body),
    )
    return TrackerRequest(tracker_type, tracker_name, settings, _data_bucket(body))


def agency_name(body: Mapping[str, Any]) -> str:
    """The cloud-service agency CTS acts through (`cts_admin_trust` makes CTS create it); empty if none."""
    name = body_field(body, "agency_name", str, "")
    if len(name) > MAX_AGENCY_NAME:
        raise invalid_body(f"agency_name has at most {MAX_AGENCY_NAME} characters, got {len(name)}.")
    return str(name)


def _excluded_services(body: Mapping[str, Any]) -> tuple[str, ...]:
    selector = body_object(body, "management_event_selector")
    if selector is None:
        return ()
    unknown = sorted(set(selector) - {"exclude_service"})
    if unknown:
        raise invalid_body(f"management_event_selector has unknown fields {unknown}.")
    services = selector.get("exclude_service") or []
    if (
        not isinstance(services, list)
        or not set(services) <= set(EXCLUDABLE_SERVICES)
        or len(set(services)) != len(services)
    ):
        raise invalid_body(
            f"management_event_selector.exclude_service can only list {', '.join(EXCLUDABLE_SERVICES)} "
            f"(once), got {services!r}."
        )
    return tuple(services)


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
        agency_name=agency_name(body),
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


def notification_resource(notification: Notification) -> TracedResource:
    spec = notification.spec
    url = f"/v3/{notification.project_id}/notifications/{spec.notification_type}?notification_name={spec.name}"
    return TracedResource("notification", notification.id, spec.name, url)


# --- tags ---


def _tag_text(value: Any, where: str, limit: int, *, may_be_empty: bool) -> str:
    if not isinstance(value, str):
        raise invalid_body(f"{where} must be a string.")
    if not value and not may_be_empty:
        raise invalid_body(f"{where} cannot be empty.")
    if len(value) > limit or _TAG_TEXT.fullmatch(value) is None or value != value.strip(" "):
        raise invalid_body(
            f"{where} has at most {limit} letters, digits, spaces and _ . : / = + - @, and no space at either end; "
            f"got {value!r}."
        )
    return value


def tags_of_body(body: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The (key, value) pairs of a batch body; value None where the tag names only a key."""
    tags = body.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise invalid_body("tags must be a list of {key, value} objects.")
    found: list[tuple[str, str | None]] = []
    for index, tag in enumerate(tags):
        where = f"tags[{index}]"
        if not isinstance(tag, dict):
            raise invalid_body(f"{where} must be an object with key and value.")
        key = _tag_text(tag.get("key"), f"{where}.key", MAX_TAG_KEY, may_be_empty=False)
        if key.startswith("_sys_"):
            raise invalid_body(f"{where}.key cannot start with _sys_ (reserved for the system).")
        value = tag.get("value")
        found.append(
            (key, None if value is None else _tag_text(value, f"{where}.value", MAX_TAG_VALUE, may_be_empty=True))
        )
    return found


def _tagged_resource_type(resource_type: str) -> None:
    if resource_type != TAGGED_RESOURCE_TYPE:
        raise invalid_body(f"resource_type can only be {TAGGED_RESOURCE_TYPE}, not {resource_type!r}.")


class CtsV3Response(CtsHandlers):
    """Handles the CTS v3 calls."""

    # --- trackers ---

    def create_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        tracker_request = v3_tracker_request(json_object(request), with_status=False)
        tracker = self.backend.create_v3_tracker(project, tracker_request)
        answer = tracker.v3_description()
        self._record(request, project, caller, "createTracker", tracker_resource(tracker, "v3"), 201, "v3", answer)
        return json_response(answer, 201)

    def update_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        tracker_request = v3_tracker_request(json_object(request), with_status=True)
        tracker = self.backend.update_v3_tracker(project, tracker_request)
        answer = tracker.v3_description() if self.backend.config.put_body else None
        self._record(request, project, caller, "updateTracker", tracker_resource(tracker, "v3"), 200, "v3", answer)
        # The documented answer is 200 without a body (see EmulatorConfig.put_body).
        return empty_response() if answer is None else json_response(answer)

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
            self._record(request, project, caller, "deleteTracker", tracker_resource(tracker, "v3"), 204, "v3")
        return Response(status=204)

    # --- tracker tags ---

    def create_tags(self, request: Request, project_id: str, resource_type: str, resource_id: str) -> Response:
        project, caller = self._access(request, project_id)
        _tagged_resource_type(resource_type)
        tags = [(key, value or "") for key, value in tags_of_body(json_object(request))]
        tracker = self.backend.add_tracker_tags(project.id, resource_id, tags)
        self._record(request, project, caller, "batchCreateResourceTags", tracker_resource(tracker, "v3"), 204, "v3")
        return Response(status=204)

    def delete_tags(self, request: Request, project_id: str, resource_type: str, resource_id: str) -> Response:
        project, caller = self._access(request, project_id)
        _tagged_resource_type(resource_type)
        tracker = self.backend.remove_tracker_tags(project.id, resource_id, tags_of_body(json_object(request)))
        self._record(request, project, caller, "batchDeleteResourceTags", tracker_resource(tracker, "v3"), 204, "v3")
        return Response(status=204)

    def list_tags(self, request: Request, project_id: str, resource_type: str, resource_id: str) -> Response:
        project = self._project(request, project_id)
        _tagged_resource_type(resource_type)
        tags = self.backend.tracker_tags(project.id, resource_id)
        return json_response({"tags": [{"key": key, "value": value} for key, value in tags]})

    # --- key-event notifications ---

    def create_notification(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        spec = notification_spec(json_object(request), with_status=False)
        notification = self.backend.create_notification(project, spec)
        answer = notification.description()
        self._record(
            request, project, caller, "createNotification", notification_resource(notification), 201, "v3", answer
        )
        return json_response(answer, 201)

    def update_notification(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        body = json_object(request)
        notification_id = body.get("notification_id")
        if not isinstance(notification_id, str) or not notification_id:
            raise invalid_body("notification_id is required.")
        spec = notification_spec(body, with_status=True)
        notification = self.backend.update_notification(project, notification_id, spec)
        answer = notification.description()
        self._record(
            request, project, caller, "updateNotification", notification_resource(notification), 200, "v3", answer
        )
        return json_response(answer)

    def list_notifications(self, request: Request, project_id: str, notification_type: str) -> Response:
        project = self._project(request, project_id)
        if notification_type not in NOTIFICATION_TYPES:
            raise exceptions.InvalidNotificationType(
                f"The notification_type can only be smn or fun, not {notification_type!r}."
            )
        found = self.backend.list_notifications(
            project.id, request.args.get("notification_name") or None, notification_type
        )
        return json_response({"notifications": [n.description() for n in found]})

    def delete_notifications(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        ids = [i.strip() for i in request.args.get("notification_id", "").split(",") if i.strip()]
        if not ids:
            raise invalid_body("notification_id is required: one id or several separated by commas.")
        for notification in self.backend.delete_notifications(project.id, ids):
            self._record(request, project, caller, "deleteNotification", notification_resource(notification), 204, "v3")
        return Response(status=204)

    # --- traces and what is queried from them ---

    def list_traces(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        query = trace_query(request.args, epoch_ms(self.backend.clock()))
        return json_response(traces_page(*self.backend.query_traces(project.id, query)))

    def list_operations(self, request: Request, project_id: str) -> Response:
        self._project(request, project_id)
        service_type = request.args.get("service_type") or None
        resource_type = request.args.get("resource_type") or None
        return json_response(
            {
                "operations": [
                    {"service_type": service, "resource_type": resource, "operation_list": list(names)}
                    for service, resource, names in TRACED_OPERATIONS
                    if service_type in (None, service) and resource_type in (None, resource)
                ]
            }
        )

    def list_user_resources(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        return json_response({"users": [{"name": name} for name in self.backend.trace_users(project.id)]})

    def list_trace_resources(self, request: Request, domain_id: str) -> Response:
        types = self.backend.trace_resource_types(self._account_access(request, domain_id))
        return json_response(
            {"resources": [{"service_type": service, "resource": resources} for service, resources in types.items()]}
        )

    def check_buckets(self, request: Request, domain_id: str) -> Response:
        self._account_access(request, domain_id)
        buckets = json_object(request).get("buckets")
        if not isinstance(buckets, list):
            raise invalid_body("buckets must be a list of {bucket_name, bucket_location, kms_id, ...} objects.")
        return json_response({"buckets": [self._check_bucket(index, item) for index, item in enumerate(buckets)]})

    def _check_bucket(self, index: int, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise invalid_body(f"buckets[{index}] must be an object.")
        name = body_field(item, "bucket_name", str, "")
        if not name:
            raise invalid_body(f"buckets[{index}].bucket_name is required.")
        location = body_field(item, "bucket_location", str, "")
        kms_id = body_field(item, "kms_id", str, "")
        encrypted = body_field(item, "is_support_trace_files_encryption", bool, False)
        problem = self.backend.check_transfer_bucket(name, location, kms_id, encrypted)
        return {
            "bucket_name": name,
            "bucket_location": location or self.backend.bucket_location(name) or "",
            "kms_id": kms_id,
            "is_support_trace_files_encryption": encrypted,
            "check_bucket_response": {
                "success": problem is None,
                "response_code": 200 if problem is None else problem.status,
                "error_code": "" if problem is None else problem.error_code,
                "error_message": "" if problem is None else problem.error_msg,
            },
        }

    # --- quotas ---

    def get_quotas(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        return json_response({"resources": self.backend.quotas(project.id)})
