"""The package's shape: one field table per resource matching its arguments, documented outputs,
a public surface listed once, errors in one tree, no import cycle, and a doctor without Pulumi."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest
from pulumi.dynamic import Resource

import pulumi_cts
from pulumi_cts import (
    DataTracker,
    DataTrackerArgs,
    Notification,
    NotificationArgs,
    Tracker,
    TrackerArgs,
    data_tracker_schema,
    errors,
    get_traces,
    get_traces_output,
    notification_schema,
    tracker_schema,
)

PACKAGE = Path(pulumi_cts.__file__).parent
RESOURCES = [
    (Tracker, TrackerArgs, tracker_schema),
    (DataTracker, DataTrackerArgs, data_tracker_schema),
    (Notification, NotificationArgs, notification_schema),
]


@pytest.mark.parametrize(("resource", "args", "schema"), RESOURCES)
def test_each_field_table_lists_exactly_the_arguments_and_outputs(
    resource: type[Resource], args: type, schema: ModuleType
) -> None:
    assert set(schema.FIELDS.input_fields) == {f.name for f in fields(args)}
    outputs = {name for name, kind in resource.__annotations__.items() if str(kind).startswith("pulumi.Output[")}
    assert set(schema.FIELDS.input_fields) | set(schema.FIELDS.output_only_fields) == outputs


@pytest.mark.parametrize(("resource", "args", "schema"), RESOURCES)
def test_every_output_is_documented(resource: type[Resource], args: type, schema: ModuleType) -> None:
    (definition,) = ast.parse(inspect.getsource(resource)).body
    assert isinstance(definition, ast.ClassDef)
    undocumented = []
    body = definition.body
    for statement, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            documented = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            )
            if not documented:
                undocumented.append(statement.target.id)
    assert undocumented == []


@pytest.mark.parametrize("resource", [Tracker, DataTracker, Notification])
def test_every_resource_can_be_looked_up_by_id(resource: type[Resource]) -> None:
    parameters = list(inspect.signature(resource.get).parameters)  # type: ignore[attr-defined]
    assert parameters == ["resource_name", "id", "opts"]


def test_get_traces_output_takes_the_parameters_of_get_traces() -> None:
    assert list(inspect.signature(get_traces_output).parameters) == list(inspect.signature(get_traces).parameters)


def test_the_public_names_are_listed_once_and_nothing_else() -> None:
    listed = dir(pulumi_cts)
    public = [name for name in listed if not name.startswith("_")]
    assert public == sorted(pulumi_cts.__all__)
    assert len(listed) == len(set(listed))
    for name in pulumi_cts.__all__:
        assert getattr(pulumi_cts, name) is not None
    assert dir(pulumi_cts) == listed  # loading the names does not list them twice


def test_every_error_type_of_the_package_is_a_cts_error() -> None:
    from pulumi_cts.clouds import CloudsConfigError
    from pulumi_cts.signing import SignatureError

    for kind in (CloudsConfigError, SignatureError, errors.ResponseLostError):
        assert issubclass(kind, errors.CtsError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.CtsError)
    assert issubclass(errors.TrackerNotFoundError, errors.NotFoundError)
    assert issubclass(errors.NotificationNotFoundError, errors.NotFoundError)
    assert not issubclass(errors.NotificationNotFoundError, errors.TrackerNotFoundError)


def test_the_doctor_loads_neither_pulumi_nor_grpc() -> None:
    code = "import sys, pulumi_cts.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def _imports_of(path: Path, package: str) -> set[str]:
    """The package modules a module imports, wherever in the module the import statement is."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if module.endswith(".__init__"):
        module = module.removesuffix(".__init__")
        parent = module
    else:
        parent = module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = parent
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _is_module(candidate) else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == package and _is_module(name) and name != module}


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[module] = _imports_of(path, PACKAGE.name)
    return graph


def test_no_module_of_the_package_imports_itself_back() -> None:
    graph = import_graph()
    assert graph["pulumi_cts.provider"] >= {"pulumi_cts.tracker_schema", "pulumi_cts.client"}  # the walk sees imports
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            module, path = stack.pop()
            for imported in graph.get(module, set()):
                # A package's __init__ runs before its modules: importing it is not a dependency back.
                if imported == start:
                    cycles.append(" -> ".join([*path, imported]))
                elif imported not in seen:
                    seen.add(imported)
                    stack.append((imported, [*path, imported]))
    assert cycles == []
