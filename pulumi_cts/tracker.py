"""The `Tracker` resource and its `TrackerArgs`, used in Pulumi programs (the program side)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict, overload

import pulumi
from pulumi.dynamic import Resource

from .provider import TrackerProvider
from .schema import OUTPUT_ONLY_FIELDS


class LogFileValidateArgs(TypedDict):
    """Trace file integrity verification (digest files)."""

    is_support_validate: pulumi.Input[bool]


class LtsArgs(TypedDict):
    """Transfer of traces to Log Tank Service (log group `CTS`, topic `system-trace`)."""

    is_lts_enabled: pulumi.Input[bool]


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


class Tracker(Resource, module="cts", name="Tracker"):
    """The CTS management tracker (`system`) of one project, as a Pulumi resource.

    The resource id is `{project_id}/system`. Every argument of `TrackerArgs` is also an output
    with the value CTS reports; `status` may read "error" with the reason in `detail`.
    """

    bucket_name: pulumi.Output[str]
    file_prefix_name: pulumi.Output[str]
    is_obs_created: pulumi.Output[bool]
    is_support_trace_files_encryption: pulumi.Output[bool]
    kms_id: pulumi.Output[str | None]
    log_file_validate: pulumi.Output[dict[str, bool]]
    status: pulumi.Output[str]
    """"enabled", "disabled", or "error" (see `detail`)."""
    lts: pulumi.Output[dict[str, Any]]
    project_name: pulumi.Output[str | None]
    project_id: pulumi.Output[str]
    region: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]
    tracker_name: pulumi.Output[str]
    """Always "system": a project has one management tracker."""
    detail: pulumi.Output[str | None]
    """Why `status` is "error": bucketPolicyError, noBucket or arrears."""
    create_time: pulumi.Output[int | None]
    domain_id: pulumi.Output[str | None]

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
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        args_obj, opts = _split_arguments(args, kwargs)
        props: dict[str, Any] = {k: v for k, v in asdict(args_obj).items()}
        for name in OUTPUT_ONLY_FIELDS:
            props[name] = None
        super().__init__(TrackerProvider(), resource_name, props, opts)

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> Tracker:
        """Look up an existing tracker by its id `{project_id}/system` (read-only, not managed).

        Experimental: dynamic resources support `get` only as far as the engine allows.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return Tracker(resource_name, TrackerArgs(bucket_name=""), merged)


def _split_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[TrackerArgs, Any]:
    opts = kwargs.pop("opts", None)
    positional = list(args)
    if positional and isinstance(positional[0], TrackerArgs):
        args_obj = positional.pop(0)
        if kwargs:
            raise TypeError(f"pass either TrackerArgs or keyword arguments, not both ({', '.join(kwargs)})")
    else:
        try:
            args_obj = TrackerArgs(**kwargs)
        except TypeError as exc:
            raise TypeError(f"Tracker: {exc}") from None
    if positional:
        opts = positional.pop(0)
    if positional:
        raise TypeError("Tracker takes a name, optionally TrackerArgs, and opts")
    if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
        raise TypeError("opts must be a pulumi.ResourceOptions")
    return args_obj, opts
