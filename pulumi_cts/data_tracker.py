"""The `DataTracker` resource: a CTS v3 data tracker that records OBS object reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, overload

import pulumi
from pulumi.dynamic import Resource

from .arguments import properties, split_arguments
from .data_tracker_schema import OUTPUT_ONLY_FIELDS
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
    :param compress_type: "gzip" (default) or "json".
    :param is_sort_by_service: put the service name in the transfer path (default True).
    :param lts: `{"is_lts_enabled": bool}`: also send traces to LTS.
    :param log_file_validate: `{"is_support_validate": bool}`: write digest files.
    :param status: "enabled" (default) or "disabled".
    :param project_name: project of the tracker (default: the provider's).
    :param project_id: project of the tracker, by ID.
    :param region: region of that project.
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


class DataTracker(Resource, module="cts", name="DataTracker"):
    """A CTS data tracker; its id is `{project_id}/{tracker_name}`."""

    tracker_name: pulumi.Output[str]
    data_bucket: pulumi.Output[dict[str, Any]]
    bucket_name: pulumi.Output[str | None]
    file_prefix_name: pulumi.Output[str]
    is_obs_created: pulumi.Output[bool]
    bucket_lifecycle: pulumi.Output[int | None]
    compress_type: pulumi.Output[str]
    is_sort_by_service: pulumi.Output[bool]
    lts: pulumi.Output[dict[str, Any]]
    log_file_validate: pulumi.Output[dict[str, bool]]
    status: pulumi.Output[str]
    project_name: pulumi.Output[str | None]
    project_id: pulumi.Output[str]
    region: pulumi.Output[str]
    tracker_id: pulumi.Output[str | None]
    detail: pulumi.Output[str | None]
    create_time: pulumi.Output[int | None]
    domain_id: pulumi.Output[str | None]
    obs_info: pulumi.Output[dict[str, Any] | None]

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
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        args_obj, opts = split_arguments("DataTracker", DataTrackerArgs, args, kwargs)
        super().__init__(DataTrackerProvider(), resource_name, properties(args_obj, OUTPUT_ONLY_FIELDS), opts)
