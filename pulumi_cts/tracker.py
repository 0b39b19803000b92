"""The `Tracker` resource and its `TrackerArgs`, used in Pulumi programs (the program side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, overload

import pulumi
from pulumi.dynamic import Resource

from .arguments import properties, split_arguments
from .provider import TrackerProvider
from .tracker_schema import FIELDS


class LogFileValidateArgs(TypedDict):
    """Trace file integrity verification (digest files)."""

    is_support_validate: pulumi.Input[bool]


class LtsArgs(TypedDict):
    """Transfer of traces to Log Tank Service (log group `CTS`, topic `system-trace`)."""

    is_lts_enabled: pulumi.Input[bool]


class ManagementEventSelectorArgs(TypedDict):
    """Services whose traces are not transferred: only "KMS" (its `createDatakey` traces)."""

    exclude_service: pulumi.Input[list[str]]


@dataclass
class TrackerArgs:
    """Arguments of a `Tracker`; field names are the CTS API's own.

    :param bucket_name: OBS bucket that receives trace files (3-63 characters of lowercase
        letters, digits, '-' and '.'; starts with a letter or digit; not an IP address).
    :param file_prefix_name: prefix of trace file names in the bucket (0-64 characters of
        letters, digits, '.', '_' and '-'). Default: no prefix.
    :param is_obs_created: let CTS create the bucket (it must not exist yet). Default False.
    :param is_support_trace_files_encryption: encrypt trace files with KMS. Default False.
    :param kms_id: KMS key ID; required when encryption is on.
    :param log_file_validate: `{"is_support_validate": bool}`: write digest files to verify trace
        files. Default off.
    :param status: "enabled" (default) or "disabled".
    :param lts: `{"is_lts_enabled": bool}`: also transfer traces to LTS. Default off.
    :param project_name: manage the tracker of this project instead of the provider's.
    :param project_id: manage the tracker of this project (by ID) instead of the provider's.
    :param region: region of that project (defaults to the provider's, or the project name's).
    :param adopt_existing: take over a tracker that already exists in the project and bring it
        to these settings, instead of failing. Default False.
    :param api_version: "v1.0" (default, or the stack's `cts:apiVersion`) or "v3". Switching
        changes only which API manages the same tracker: an in-place update.
    :param compress_type: v3 only: "gzip" (default) or "json" trace files.
    :param is_sort_by_service: v3 only: put the cloud service name in the transfer path.
        Default True.
    :param management_event_selector: v3 only (Huawei Cloud): `{"exclude_service": ["KMS"]}`
        leaves KMS `createDatakey` traces out of the transfer; "KMS" is the only service CTS accepts.
    :param is_organization_tracker: v3 only (Huawei Cloud): also transfer the traces of every
        member account of the organization in this region.
    :param agency_name: v3 only (Huawei Cloud): "cts_admin_trust", the cloud-service agency CTS
        uses (CTS creates it when missing); the only documented value.
    :param tags: v3 only (Huawei Cloud): `{key: value}` set through CTS's tag API. Keys 1-128,
        values 0-255 characters of letters, digits, spaces and `_.:/=+-@`, no space at either end;
        keys may not start with `_sys_`. Declared, they are the tracker's complete set of tags.

    Left undeclared, `management_event_selector`, `is_organization_tracker`, `agency_name` and
    `tags` are never changed by an update: the complete PUT carries the value the tracker has now
    (read with a GET just before it), so a setting made in the console survives `pulumi up`.
    """

    bucket_name: pulumi.Input[str]
    file_prefix_name: pulumi.Input[str] | None = None
    is_obs_created: pulumi.Input[bool] | None = None
    is_support_trace_files_encryption: pulumi.Input[bool] | None = None
    kms_id: pulumi.Input[str] | None = None
    log_file_validate: pulumi.Input[LogFileValidateArgs] | None = None
    status: pulumi.Input[str] | None = None
    lts: pulumi.Input[LtsArgs] | None = None
    project_name: pulumi.Input[str] | None = None
    project_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    adopt_existing: pulumi.Input[bool] | None = None
    api_version: pulumi.Input[str] | None = None
    compress_type: pulumi.Input[str] | None = None
    is_sort_by_service: pulumi.Input[bool] | None = None
    management_event_selector: pulumi.Input[ManagementEventSelectorArgs] | None = None
    is_organization_tracker: pulumi.Input[bool] | None = None
    agency_name: pulumi.Input[str] | None = None
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None


class Tracker(Resource, module="cts", name="Tracker"):
    """The CTS management tracker (`system`) of one project, as a Pulumi resource.

    The resource id is `{project_id}/system`. Every argument of `TrackerArgs` is also an output
    with the value CTS reports; `status` may read "error" with the reason in `detail`.
    """

    bucket_name: pulumi.Output[str]
    """The OBS bucket that receives trace files."""
    file_prefix_name: pulumi.Output[str]
    """Prefix of trace file names in the bucket ("" for none)."""
    is_obs_created: pulumi.Output[bool]
    """Whether CTS was asked to create the bucket (as declared: CTS does not report it)."""
    is_support_trace_files_encryption: pulumi.Output[bool]
    """Whether trace files are encrypted with KMS."""
    kms_id: pulumi.Output[str | None]
    """The KMS key that encrypts trace files, or None without encryption."""
    log_file_validate: pulumi.Output[dict[str, bool]]
    """`{"is_support_validate": bool}`: whether digest files verify the trace files."""
    status: pulumi.Output[str]
    """"enabled", "disabled", or "error" (see `detail`)."""
    lts: pulumi.Output[dict[str, Any]]
    """`{"is_lts_enabled": bool}`, plus the LTS log group and topic names when CTS reports them."""
    project_name: pulumi.Output[str | None]
    """The project the tracker lives in, by name."""
    project_id: pulumi.Output[str]
    """The project the tracker lives in, by ID (the first part of the resource id)."""
    region: pulumi.Output[str]
    """The region of that project."""
    declared_scope: pulumi.Output[list[str]]
    """Which of `project_name`, `project_id` and `region` the program declared; a refresh keeps only those
    as inputs (the outputs above hold where the resource really lives either way)."""
    adopt_existing: pulumi.Output[bool]
    """Whether an existing tracker may be taken over on create (as declared)."""
    tracker_name: pulumi.Output[str]
    """Always "system": a project has one management tracker."""
    detail: pulumi.Output[str | None]
    """Why `status` is "error": bucketPolicyError, noBucket or arrears."""
    create_time: pulumi.Output[int | None]
    """When the tracker was created, in UTC milliseconds since the epoch."""
    domain_id: pulumi.Output[str | None]
    """The account (domain) ID that owns the tracker."""
    api_version: pulumi.Output[str]
    """The CTS API version that manages the tracker: "v1.0" or "v3"."""
    compress_type: pulumi.Output[str | None]
    """v3: "gzip" or "json" trace files; None under v1.0."""
    is_sort_by_service: pulumi.Output[bool | None]
    """v3: whether the cloud service name is part of the transfer path; None under v1.0."""
    tracker_id: pulumi.Output[str | None]
    """CTS's own tracker UUID (the API's `id`)."""
    obs_info: pulumi.Output[dict[str, Any] | None]
    """The OBS settings as CTS reports them, e.g. `is_authorized_bucket` (v3 and newer v1.0 answers)."""
    management_event_selector: pulumi.Output[dict[str, list[str]] | None]
    """`{"exclude_service": [...]}` as CTS reports it, or None where CTS reports none (OTC, v1.0)."""
    is_organization_tracker: pulumi.Output[bool | None]
    """Whether the organization's member accounts are traced too, or None where CTS reports nothing."""
    agency_name: pulumi.Output[str | None]
    """The cloud-service agency CTS uses, or None."""
    tags: pulumi.Output[dict[str, str] | None]
    """The tracker's tags (system tags left out) when declared; None when the program leaves them alone."""

    @overload
    def __init__(self, resource_name: str, args: TrackerArgs, opts: pulumi.ResourceOptions | None = None) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        bucket_name: pulumi.Input[str],
        file_prefix_name: pulumi.Input[str] | None = None,
        is_obs_created: pulumi.Input[bool] | None = None,
        is_support_trace_files_encryption: pulumi.Input[bool] | None = None,
        kms_id: pulumi.Input[str] | None = None,
        log_file_validate: pulumi.Input[LogFileValidateArgs] | None = None,
        status: pulumi.Input[str] | None = None,
        lts: pulumi.Input[LtsArgs] | None = None,
        project_name: pulumi.Input[str] | None = None,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        api_version: pulumi.Input[str] | None = None,
        compress_type: pulumi.Input[str] | None = None,
        is_sort_by_service: pulumi.Input[bool] | None = None,
        management_event_selector: pulumi.Input[ManagementEventSelectorArgs] | None = None,
        is_organization_tracker: pulumi.Input[bool] | None = None,
        agency_name: pulumi.Input[str] | None = None,
        tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        args_obj, opts = split_arguments("Tracker", TrackerArgs, args, kwargs)
        super().__init__(TrackerProvider(), resource_name, properties(args_obj, FIELDS.output_only_fields), opts)

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> Tracker:
        """Look up an existing tracker by its id `{project_id}/system` (read-only, not managed).

        Experimental: dynamic resources support `get` only as far as the engine allows.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return Tracker(resource_name, TrackerArgs(bucket_name=""), merged)
