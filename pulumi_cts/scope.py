"""Where a resource lives (region and project), and the resource ids `{project_id}/{name}` that record it.

Free of Pulumi, so the doctor and the settings resolver can use it without loading the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .checks import is_unknown

SCOPE_FIELDS = ("project_name", "project_id", "region")
# The output that records which scope fields the program declared: the outputs always hold the resolved
# project and region, and a refresh, which sees only the outputs, must not turn those into inputs.
DECLARED_SCOPE = "declared_scope"


@dataclass(frozen=True)
class Scope:
    """Where a resource lives: a region and a project, given by id or by name."""

    region: str
    project_id: str | None = None
    project_name: str | None = None

    def __post_init__(self) -> None:
        if not self.project_id and not self.project_name:
            object.__setattr__(self, "project_name", self.region)

    def describe(self) -> str:
        project = self.project_id or self.project_name
        return f"project {project} in {self.region}"


def declared_scope(inputs: Mapping[str, Any]) -> list[str]:
    """The scope fields a program sets (an Unknown counts: it will be set)."""
    return [key for key in SCOPE_FIELDS if inputs.get(key) is not None]


def declared_scope_of_state(outputs: Mapping[str, Any]) -> list[str]:
    """The scope fields the program had declared, as its outputs record them.

    A state written before the record existed counts every scope field it holds as declared.
    """
    recorded = outputs.get(DECLARED_SCOPE)
    if isinstance(recorded, list):
        return [key for key in SCOPE_FIELDS if key in recorded]
    return declared_scope(outputs)


def region_of_project(project_name: str) -> str:
    """Project names are a region or `{region}_{suffix}`."""
    return project_name.split("_", 1)[0]


def resource_scope(inputs: Mapping[str, Any], default: Scope) -> Scope:
    """The scope a resource declares, falling back to the provider's scope field by field."""
    # Only strings count: `check` reports anything else, and diff must not fail on it first.
    project_id, project_name, region = (
        value if isinstance(value, str) else None
        for value in (inputs.get("project_id"), inputs.get("project_name"), inputs.get("region"))
    )
    if project_id:
        return Scope(region=region or default.region, project_id=project_id)
    if project_name:
        return Scope(region=region or region_of_project(project_name), project_name=project_name)
    if region:
        return Scope(region=region, project_name=region)
    return default


def replaced_scope_fields(olds: Mapping[str, Any], news: Mapping[str, Any], default: Scope | None) -> list[str]:
    """Scope properties whose change moves the resource to another project: a replacement.

    `olds` are previous outputs, which record the project the resource really lives in.
    """
    unknown = [key for key in SCOPE_FIELDS if is_unknown(news.get(key))]
    if unknown:
        return unknown
    if default is None:
        declared = [k for k in SCOPE_FIELDS if news.get(k) is not None and news.get(k) != olds.get(k)]
        return declared
    wanted = resource_scope(news, default)
    replaced: list[str] = []
    if olds.get("region") and wanted.region != olds.get("region"):
        replaced.append("region")
    if wanted.project_id:
        if olds.get("project_id") and wanted.project_id != olds.get("project_id"):
            replaced.append("project_id")
    elif olds.get("project_name") and wanted.project_name != olds.get("project_name"):
        replaced.append("project_name")
    return replaced


def resource_id(project_id: str, name: str) -> str:
    """The Pulumi id of a resource: `{project_id}/{name}`."""
    return f"{project_id}/{name}"


def project_of_id(id_: str) -> str | None:
    """The project id in a resource id `{project_id}/{name}`, or None for an id of another form."""
    project, separator, name = id_.partition("/")
    return project if separator and project and name else None


def name_of_id(id_: str) -> str:
    """The name (or CTS id) in a resource id `{project_id}/{name}`; empty for an id of another form."""
    return id_.partition("/")[2]
