"""HTTP handlers of the emulated CTS v1.0 API, which knows only the management tracker: parse the request, call
the backend, serialize.

Handler names match the `cts.*` endpoints in `urls.py`; errors are raised as `exceptions.EmulatorError` subclasses.
Every successful mutating call is also recorded as a CTS trace. `tracker_status` and `tracker_resource` are shared
with the v3 handlers, which serve the same stored tracker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.common import body_field, body_object, empty_response, json_object, json_response
from pulumi_cts.emulator.gateway import CtsHandlers
from pulumi_cts.emulator.models import TRACKER_NAME, TRACKER_STATUSES, Tracker, TrackerSettings


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
    return TrackerSettings(bucket_name=bucket_name, status=status, **fields)


def tracker_status(body: Mapping[str, Any]) -> str:
    """The `status` of a modify body: enabled (also when left out) or disabled."""
    status = body.get("status")
    if status is None:
        return "enabled"
    if status not in TRACKER_STATUSES:
        raise exceptions.InvalidStatus(f"The status can only be enabled or disabled, not {status!r}.")
    return str(status)


def tracker_resource(tracker: Tracker) -> tuple[str, str, str]:
    return "tracker", tracker.id, tracker.tracker_name


class CtsResponse(CtsHandlers):
    """Handles the CTS v1.0 tracker calls (which only know the management tracker)."""

    def _description(self, tracker: Tracker) -> dict[str, Any]:
        return tracker.description(self.backend.config.response_shape)

    def create_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        settings = tracker_settings(json_object(request), with_status=False)
        tracker = self.backend.create_tracker(project, settings)
        self._record(request, project, caller, "createTracker", tracker_resource(tracker), 201, "v1.0")
        return json_response(self._description(tracker), 201)

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
        self._record(request, project, caller, "updateTracker", tracker_resource(tracker), 200, "v1.0")
        if self.backend.config.put_body:
            return json_response(self._description(tracker))
        # The documented answer is 200 without a body.
        return empty_response()

    def delete_tracker(self, request: Request, project_id: str) -> Response:
        project, caller = self._access(request, project_id)
        name = request.args.get("tracker_name")
        if name and name != TRACKER_NAME:
            raise exceptions.TrackerNotFound()
        tracker = self.backend.get_tracker(project.id)
        if tracker is None or not self.backend.delete_tracker(project.id):
            raise exceptions.TrackerNotFound()
        self._record(request, project, caller, "deleteTracker", tracker_resource(tracker), 204, "v1.0")
        return Response(status=204)
