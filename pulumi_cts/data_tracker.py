"""The `DataTracker` resource: a CTS v3 data tracker that records OBS object reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, overload

import pulumi
from pulumi.dynamic import Resource

from .arguments import properties, split_arguments
from .data_tracker_schema import FIELDS
from .provider import DataTrackerProvider
from .tracker import LogFileValidateArgs, LtsArgs


class DataBucketArgs(TypedDict, total=False):
    """The tracked bucket and the events recorded (default both)."""

    data_bucket_name: pulumi.Input[str]
    data_event: pulumi.Input[list[str]]


@dataclass
class DataTrackerArgs:
    """Arguments of a `DataTracker` (Huawei Cloud CTS v3, `tracker_type=data`).

    :param tracker_name: 1-32 letters, digits, '_' and '-'; not "system" or "system-trace".
        Changing it replaces the tracker.
    :param data_bucket: `{"data_bucket_name": ..., "data_event": ["READ", "WRITE"]}`: the bucket
        whose object operations are recorded. Changing the bucket replaces the tracker.
    :param bucket_name: transfer bucket for trace files (optional; not the tracked bucket).
    :param file_prefix_name: prefix of trace files in the transfer bucket.
    :param is_obs_created: let CTS create the transfer bucket.
    :param bucket_lifecycle: days trace files are kept: 0 (forever), 30, 60, 90, 180 or 1095.
        Left out, an update keeps what the tracker has.
    :param compress_type: "gzip" (default) or "json".
    :param is_sort_by_service: put the service name in the transfer path (default True).
    :param lts: `{"is_lts_enabled": bool}`: also send traces to LTS.
    :param log_file_validate: `{"is_support_validate": bool}`: write digest files.
    :param status: "enabled" (default) or "disabled".
    :param project_name: project of the tracker (default: the provider's).
    :param project_id: project of the tracker, by ID.
    :param region: region of that project.
    :param tags: `{key: value}` set through CTS's tag API (rules as for `Tracker`). Declared, they
        are the tracker's complete set of tags; undeclared, an update leaves its tags alone.
    """

    tracker_name: pulumi.Input[str]
    data_bucket: pulumi.Input[DataBucketArgs]
    bucket_name: pulumi.Input[str] | None = None
    file_prefix_name: pulumi.Input[str] | None = None
    is_obs_created: pulumi.Input[bool] | None = None
    bucket_lifecycle: pulumi.Input[int] | None = None
    compress_type: pulumi.Input[str] | None = None
    is_sort_by_service: pulumi.Input[bool] | None = None
    lts: pulumi.Input[LtsArgs] | None = None
    log_file_validate: pulumi.Input[LogFileValidateArgs] | None = None
    status: pulumi.Input[str] | None = None
    project_name: pulumi.Input[str] | None = None
    project_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None


class DataTracker(Resource, module="cts", name="DataTracker"):
    """A CTS data tracker; its id is `{project_id}/{tracker_name}`."""

    tracker_name: pulumi.Output[str]
    """The tracker's name, the second part of the resource id."""
    data_bucket: pulumi.Output[dict[str, Any]]
    """`{"data_bucket_name": str, "data_event": [...]}`: the tracked bucket and the recorded events, sorted."""
    bucket_name: pulumi.Output[str | None]
    """The transfer bucket for trace files, or None when traces are not transferred to OBS."""
    file_prefix_name: pulumi.Output[str]
    """Prefix of trace files in the transfer bucket ("" for none)."""
    is_obs_created: pulumi.Output[bool]
    """Whether CTS created the transfer bucket, as CTS reports it."""
    bucket_lifecycle: pulumi.Output[int | None]
    """Days trace files are kept in the transfer bucket (0: forever), or None when CTS reports none."""
    compress_type: pulumi.Output[str]
    """"gzip" or "json" trace files."""
    is_sort_by_service: pulumi.Output[bool]
    """Whether the cloud service name is part of the transfer path."""
    lts: pulumi.Output[dict[str, Any]]
    """`{"is_lts_enabled": bool}`: whether traces also go to LTS."""
    log_file_validate: pulumi.Output[dict[str, bool]]
    """`{"is_support_validate": bool}`: whether digest files verify the trace files."""
    status: pulumi.Output[str]
    """"enabled", "disabled", or "error" (see `detail`)."""
    project_name: pulumi.Output[str | None]
    """The project the tracker lives in, by name."""
    project_id: pulumi.Output[str]
    """The project the tracker lives in, by ID (the first part of the resource id)."""
    region: pulumi.Output[str]
    """The region of that project."""
    declared_scope: pulumi.Output[list[str]]
    """Which of `project_name`, `project_id` and `region` the program declared; a refresh keeps only those
    as inputs (the outputs above hold where the resource really lives either way)."""
    tracker_id: pulumi.Output[str | None]
    """CTS's own tracker UUID (the API's `id`)."""
    detail: pulumi.Output[str | None]
    """Why `status` is "error", as CTS reports it."""
    create_time: pulumi.Output[int | None]
    """When the tracker was created, in UTC milliseconds since the epoch."""
    domain_id: pulumi.Output[str | None]
    """The account (domain) ID that owns the tracker."""
    obs_info: pulumi.Output[dict[str, Any] | None]
    """The transfer settings as CTS reports them, or None without a transfer bucket."""
    tags: pulumi.Output[dict[str, str] | None]
    """The tracker's tags (system tags left out) when declared; None when the program leaves them alone."""

    @overload
    def __init__(
        self, resource_name: str, args: DataTrackerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        tracker_name: pulumi.Input[str],
        data_bucket: pulumi.Input[DataBucketArgs],
        bucket_name: pulumi.Input[str] | None = None,
        file_prefix_name: pulumi.Input[str] | None = None,
        is_obs_created: pulumi.Input[bool] | None = None,
        bucket_lifecycle: pulumi.Input[int] | None = None,
        compress_type: pulumi.Input[str] | None = None,
        is_sort_by_service: pulumi.Input[bool] | None = None,
        lts: pulumi.Input[LtsArgs] | None = None,
        log_file_validate: pulumi.Input[LogFileValidateArgs] | None = None,
        status: pulumi.Input[str] | None = None,
        project_name: pulumi.Input[str] | None = None,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        args_obj, opts = split_arguments("DataTracker", DataTrackerArgs, args, kwargs)
        super().__init__(DataTrackerProvider(), resource_name, properties(args_obj, FIELDS.output_only_fields), opts)

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> DataTracker:
        """Look up an existing data tracker by its id `{project_id}/{tracker_name}` (read-only, not managed).

        Experimental: dynamic resources support `get` only as far as the engine allows.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return DataTracker(resource_name, DataTrackerArgs(tracker_name="", data_bucket={}), merged)
