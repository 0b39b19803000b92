"""`get_traces`: query recorded traces (`GET /v3/{project_id}/traces`) from a program or a pipeline,
e.g. to assert that the audit trail really records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pulumi

from .client import shared_factory
from .scope import Scope, resource_scope
from .settings import ConfigLookup, resolve

TRACE_RATINGS = ("normal", "warning", "incident")
MAX_PAGE = 200  # the API's largest page


@dataclass(frozen=True)
class GetTracesResult:
    """Traces newest first, and the marker to continue from (None when there are no more)."""

    traces: list[dict[str, Any]] = field(default_factory=list)
    marker: str | None = None

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.traces[0] if self.traces else None


def _stack_config(key: str) -> Any:
    # The raw value: secrets too, without Pulumi's warning meant for program authors.
    return pulumi.runtime.config.get_config(key)


def _milliseconds(value: datetime | int | float | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime (UTC is safest)")
        return str(int(value.timestamp() * 1000))
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 10**12:
        raise ValueError(f"{name} must be a datetime or a 13-digit UTC millisecond time stamp, got {value!r}")
    return str(int(value))


def get_traces(
    *,
    limit: int = 10,
    trace_type: str = "system",
    from_time: datetime | int | None = None,
    to_time: datetime | int | None = None,
    tracker_name: str | None = None,
    service_type: str | None = None,
    user: str | None = None,
    resource_id: str | None = None,
    resource_name: str | None = None,
    resource_type: str | None = None,
    trace_id: str | None = None,
    trace_name: str | None = None,
    trace_rating: str | None = None,
    project_name: str | None = None,
    project_id: str | None = None,
    region: str | None = None,
    config: ConfigLookup | None = None,
) -> GetTracesResult:
    """Up to `limit` traces of the last 7 days matching the filters, newest first.

    Settings (credentials, region, project) are resolved like the provider's: stack config
    `cts:*`, then clouds.yaml, then `OS_*`. `config` replaces the stack config (for pipelines
    that run outside `pulumi up`, pass e.g. `lambda key: None` to use only the environment).
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive whole number, got {limit!r}")
    if trace_rating is not None and trace_rating not in TRACE_RATINGS:
        raise ValueError(f"trace_rating must be one of {', '.join(TRACE_RATINGS)}, got {trace_rating!r}")
    if (from_time is None) != (to_time is None):
        raise ValueError("from_time and to_time are used together: give both or neither")
    filters: dict[str, str | None] = {
        "trace_type": trace_type,
        "from": _milliseconds(from_time, "from_time"),
        "to": _milliseconds(to_time, "to_time"),
        "tracker_name": tracker_name,
        "service_type": service_type,
        "user": user,
        "resource_id": resource_id,
        "resource_name": resource_name,
        "resource_type": resource_type,
        "trace_id": trace_id,
        "trace_name": trace_name,
        "trace_rating": trace_rating,
    }
    params = {k: v for k, v in filters.items() if v is not None}
    settings = resolve(config or _stack_config)
    scope: Scope = resource_scope(
        {"project_name": project_name, "project_id": project_id, "region": region}, settings.default_scope()
    )
    client = shared_factory(settings).client_for(scope)
    traces: list[dict[str, Any]] = []
    marker: str | None = None
    while len(traces) < limit:
        page = client.list_traces({**params, "limit": str(min(MAX_PAGE, limit - len(traces))), **_after(marker)})
        found = list(page["traces"])
        traces.extend(found)
        marker = (page.get("meta_data") or {}).get("marker")
        if not found or not marker:
            marker = None if not found else marker
            break
    return GetTracesResult(traces=traces[:limit], marker=marker)


def _after(marker: str | None) -> dict[str, str]:
    return {"next": marker} if marker else {}


def get_traces_output(
    *,
    limit: pulumi.Input[int] = 10,
    trace_type: pulumi.Input[str] = "system",
    from_time: pulumi.Input[datetime | int] | None = None,
    to_time: pulumi.Input[datetime | int] | None = None,
    tracker_name: pulumi.Input[str] | None = None,
    service_type: pulumi.Input[str] | None = None,
    user: pulumi.Input[str] | None = None,
    resource_id: pulumi.Input[str] | None = None,
    resource_name: pulumi.Input[str] | None = None,
    resource_type: pulumi.Input[str] | None = None,
    trace_id: pulumi.Input[str] | None = None,
    trace_name: pulumi.Input[str] | None = None,
    trace_rating: pulumi.Input[str] | None = None,
    project_name: pulumi.Input[str] | None = None,
    project_id: pulumi.Input[str] | None = None,
    region: pulumi.Input[str] | None = None,
    config: ConfigLookup | None = None,
) -> pulumi.Output[GetTracesResult]:
    """`get_traces` for `Input` arguments (e.g. a tracker's outputs): waits for them, then queries."""
    # Every parameter but `config` is an Input to wait for.
    inputs = {name: value for name, value in locals().items() if name != "config"}
    return pulumi.Output.all(**inputs).apply(lambda resolved: get_traces(**resolved, config=config))
