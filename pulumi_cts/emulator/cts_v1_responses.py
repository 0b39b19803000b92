"""HTTP handlers of the emulated CTS v1.0 API, which knows only the management tracker, and of the v1.0 and v2.0
trace queries: parse the request, call the backend, serialize.

Handler names match the `cts.*` endpoints in `urls.py`; errors are raised as `exceptions.EmulatorError` subclasses.
Every successful mutating call is also recorded as a CTS trace. `tracker_status` and `tracker_resource` are shared
with the v3 handlers, which serve the same stored tracker.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.common import (
    FieldTypeError,
    TracedResource,
    body_field,
    body_object,
    empty_response,
    invalid_body,
    json_object,
    json_response,
    optional_field,
    trace_query,
    traces_page,
)
from pulumi_cts.emulator.gateway import CtsHandlers
from pulumi_cts.emulator.models import (
    SMN_OPERATIONS,
    SMN_TOPIC,
    TRACKER_NAME,
    TRACKER_STATUSES,
    SmnSettings,
    Tracker,
    TrackerSettings,
    epoch_ms,
)

MAX_SMN_USERS = 50


def tracker_settings(body: Mapping[str, Any], with_status: bool) -> TrackerSettings:
    """Read a v1.0 tracker body; every field left out takes its default (a PUT replaces, it does not merge)."""
    validate = body_object(body, "log_file_validate") or {}
    lts = body_object(body, "lts") or {}
    body_field(lts, "log_group_name", str, "")
    body_field(lts, "log_topic_name", str, "")
    fields = {
        "file_prefix_name": body_field(body, "file_prefix_name", str, ""),
        "is_obs_created": body_field(body, "is_obs_created", bool, False),
        "is_support_trace_files_encryption": body_field(body, "is_support_trace_files_encryption", bool, False),
        "kms_id": body_field(body, "kms_id", str, ""),
        "is_support_validate": body_field(validate, "is_support_validate", bool, False),
        "is_lts_enabled": body_field(lts, "is_lts_enabled", bool, False),
    }
    bucket_name = body_field(body, "bucket_name", str, "")
    if not bucket_name:
        raise exceptions.BucketNameEmpty()
    status = tracker_status(body) if with_status else "enabled"
    return TrackerSettings(bucket_name=bucket_name, status=status, smn=smn_settings(body), **fields)


def _smn_field(smn: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    try:
        return optional_field(smn, key, kind, default)
    except FieldTypeError as e:
        raise invalid_body(f"smn.{e.key} must be a {e.expected}.") from e


def _smn_names(smn: Mapping[str, Any], key: str) -> tuple[str, ...]:
    names = _smn_field(smn, key, list, [])
    if not all(isinstance(name, str) and name for name in names):
        raise invalid_body(f"smn.{key} must be a list of names.")
    return tuple(names)


def smn_settings(body: Mapping[str, Any]) -> SmnSettings | None:
    """The tracker's own SMN notification (v1.0), checked the way the console checks it; None if not sent."""
    smn = body_object(body, "smn")
    if smn is None:
        return None
    unknown = sorted(set(smn) - {field.name for field in dataclasses.fields(SmnSettings)})
    if unknown:
        raise invalid_body(f"smn has unknown fields {unknown}.")
    settings = SmnSettings(
        is_support_smn=_smn_field(smn, "is_support_smn", bool, False),
        topic_id=_smn_field(smn, "topic_id", str, ""),
        is_send_all_key_operation=_smn_field(smn, "is_send_all_key_operation", bool, False),
        operations=_smn_names(smn, "operations"),
        need_notify_user_list=_smn_names(smn, "need_notify_user_list"),
    )
    unknown_operations = sorted(set(settings.operations) - set(SMN_OPERATIONS))
    if unknown_operations:
        raise invalid_body(f"smn.operations can hold {', '.join(SMN_OPERATIONS)}, not {unknown_operations}.")
    if len(settings.need_notify_user_list) > MAX_SMN_USERS:
        raise invalid_body(f"smn.need_notify_user_list allows at most {MAX_SMN_USERS} users.")
    if settings.is_support_smn:
        if SMN_TOPIC.fullmatch(settings.topic_id) is None:
            raise invalid_body(
                f"smn.topic_id must be an SMN topic URN urn:smn:REGION:PROJECT:NAME, not {settings.topic_id!r}."
            )
        # All key operations, or a chosen ("typical") few: never both, never none.
        if settings.is_send_all_key_operation and settings.operations:
            raise invalid_body("smn.operations must be left out when is_send_all_key_operation is true.")
        if not settings.is_send_all_key_operation and not settings.operations:
            raise invalid_body("smn.operations needs at least one of delete, create, login.")
    return settings


def tracker_status(body: Mapping[str, Any]) -> str:
    """The `status` of a modify body: enabled (also when left out) or disabled."""
    status = body.get("status")
    if status is None:
        return "enabled"
    if status not in TRACKER_STATUSES:
        raise exceptions.InvalidStatus(f"The status can only be enabled or disabled, not {status!r}.")
    return str(status)


def tracker_resource(tracker: Tracker, api_version: str) -> TracedResource:
    """The tracker as a trace names it, readable where the API version of the call reads it."""
    if api_version == "v1.0":
        url = f"/v1.0/{tracker.project_id}/tracker?tracker_name={tracker.tracker_name}"
    else:
        url = f"/v3/{tracker.project_id}/trackers?tracker_name={tracker.tracker_name}"
    return TracedResource("tracker", tracker.id, tracker.tracker_name, url)


def _structured(value: Any) -> Any:
    """A trace's request or response as v1.0 types it: the JSON it holds, if it holds any."""
    if not isinstance(value, str) or not value:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class CtsResponse(CtsHandlers):
    """Handles the CTS v1.0 tracker calls (which only know the management tracker)."""

    def _description(self, tracker: Tracker) -> dict[str, Any]:
        return tracker.description(self.backend.config.response_shape)

    def create_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        settings = tracker_settings(json_object(request), with_status=False)
        tracker = self.backend.create_tracker(project, settings)
        answer = self._description(tracker)
        self._record(request, project, caller, "createTracker", tracker_resource(tracker, "v1.0"), 201, "v1.0", answer)
        return json_response(answer, 201)

    def get_tracker(self, request: Request, project_id: str) -> Response:
        project = self._project(request, project_id)
        name = request.args.get("tracker_name")
        tracker = self.backend.get_tracker(project.id)
        if not name:
            # Without a name the v1.0 API answers a list (it anticipated several trackers).
            return json_response([self._description(tracker)] if tracker else [])
        if tracker is None or name != TRACKER_NAME:
            raise exceptions.TrackerNotFound()
        return json_response(self._description(tracker))

    def update_tracker(self, request: Request, project_id: str, tracker_name: str) -> Response:
        project, caller = self._access(request, project_id)
        if tracker_name != TRACKER_NAME:
            raise exceptions.InvalidTrackerName()
        if self.backend.get_tracker(project.id) is None:
            raise exceptions.TrackerNotFound()
        settings = tracker_settings(json_object(request), with_status=True)
        tracker = self.backend.update_tracker(project, settings)
        answer = self._description(tracker) if self.backend.config.put_body else None
        self._record(request, project, caller, "updateTracker", tracker_resource(tracker, "v1.0"), 200, "v1.0", answer)
        # By default the documented answer, 200 without a body (evidence at EmulatorConfig.put_body).
        return empty_response() if answer is None else json_response(answer)

    def delete_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        name = request.args.get("tracker_name")
        if name and name != TRACKER_NAME:
            raise exceptions.TrackerNotFound()
        tracker = self.backend.get_tracker(project.id)
        if tracker is None or not self.backend.delete_tracker(project.id):
            raise exceptions.TrackerNotFound()
        self._record(request, project, caller, "deleteTracker", tracker_resource(tracker, "v1.0"), 204, "v1.0")
        return Response(status=204)

    # --- v1.0 and v2.0 trace queries (the tracker is named in the path) ---

    def list_traces(self, request: Request, project_id: str, tracker_name: str) -> Response:
        """`GET /v1.0/{project_id}/{tracker_name}/trace`: request and response as JSON structures."""
        page = self._traces(request, project_id, tracker_name)
        for trace in page["traces"]:
            trace["request"], trace["response"] = _structured(trace["request"]), _structured(trace["response"])
        return json_response(page)

    def list_traces_v2(self, request: Request, project_id: str, tracker_name: str) -> Response:
        """`GET /v2.0/{project_id}/{tracker_name}/trace`: request and response as strings (as in v3)."""
        return json_response(self._traces(request, project_id, tracker_name))

    def _traces(self, request: Request, project_id: str, tracker_name: str) -> dict[str, Any]:
        project = self._project(request, project_id)
        query = trace_query(request.args, epoch_ms(self.backend.clock()), path_tracker_name=tracker_name)
        return traces_page(*self.backend.query_traces(project.id, query))
