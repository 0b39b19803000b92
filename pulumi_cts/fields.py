"""The field table each resource declares, and the rules that follow from it: which properties are
inputs or read-only outputs, their defaults, what a refresh keeps, what a diff compares or replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .checks import Failure, check_known_properties, is_unknown
from .scope import DECLARED_SCOPE, SCOPE_FIELDS

ChangedFields = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Field:
    """One property of a resource.

    `default`: the documented value of an undeclared input (None: no default).
    `output_only`: set by CTS; programs pass it only as a None placeholder.
    `replaces`: changing it means a new resource; `identity` names the key of an object value
    that counts (e.g. the bucket name of `data_bucket`).
    `carried`: CTS does not report it, so a refresh keeps the previous input.
    `compared`: a difference is an in-place update; `nested` names the one key of an object value
    that is compared (reported as `name.nested`).
    `kept`: left undeclared, it means "whatever the resource has now": it is not compared, and an
    update carries the current value, so a setting made elsewhere (e.g. in the console) survives.
    """

    name: str
    default: Any = None
    output_only: bool = False
    replaces: bool = False
    carried: bool = False
    compared: bool = True
    nested: str | None = None
    identity: str | None = None
    kept: bool = False


def scope_fields() -> tuple[Field, ...]:
    """The per-resource scope overrides every resource accepts; a change moves it (see `scope`). The
    outputs record which of them the program declared, so that a refresh carries over only those."""
    declared = tuple(Field(name, carried=True, compared=False) for name in SCOPE_FIELDS)
    return (*declared, Field(DECLARED_SCOPE, output_only=True))


def output_only(*names: str) -> tuple[Field, ...]:
    """Read-only results CTS sets; programs pass them as None placeholders so they are readable outputs."""
    return tuple(Field(name, output_only=True) for name in names)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _view(value: Any, key: str | None) -> Any:
    if key is None:
        return value
    return value.get(key) if isinstance(value, Mapping) else value


class FieldTable:
    """The fields of one resource, in the order they are listed to users and compared."""

    def __init__(self, *fields: Field) -> None:
        self.fields = fields
        self.input_fields = tuple(f.name for f in fields if not f.output_only)
        self.output_only_fields = tuple(f.name for f in fields if f.output_only)
        self.kept_fields = tuple(f.name for f in fields if f.kept)
        self.defaults = {f.name: f.default for f in fields if f.default is not None and not f.output_only}

    def check_known(self, news: Mapping[str, Any], failures: list[Failure]) -> None:
        """Reject typos and attempts to set read-only results; `None` placeholders are fine."""
        check_known_properties(news, self.input_fields, self.output_only_fields, failures)

    def declared(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs of a property bag, without the engine's `__provider` and read-only fields."""
        return {k: v for k, v in props.items() if k in self.input_fields}

    def with_defaults(self, news: Mapping[str, Any]) -> dict[str, Any]:
        """Declared inputs (and `__provider`) with defaults filled in and read-only placeholders dropped."""
        inputs = {k: v for k, v in news.items() if k not in self.output_only_fields}
        for key, default in self.defaults.items():
            if inputs.get(key) is None:
                inputs[key] = _copy(default)
        return inputs

    def inputs_from_state(self, state: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs that describe what the service really has: settings from `state`, and the fields
        CTS does not report (scope, provider switches) carried over from the previous inputs."""
        inputs: dict[str, Any] = {}
        for field in self.fields:
            if field.output_only:
                continue
            if field.carried:
                value = old_inputs.get(field.name)
                value = _copy(field.default) if value is None else value
            else:
                value = state.get(field.name)
            if value is not None:
                inputs[field.name] = value
        return inputs

    def comparable(self, merged: Mapping[str, Any]) -> dict[str, Any]:
        """The compared settings of inputs or outputs (defaults already applied), keyed as reported."""
        view: dict[str, Any] = {}
        for field in self.fields:
            if field.compared and not field.output_only:
                key = f"{field.name}.{field.nested}" if field.nested else field.name
                view[key] = _view(merged.get(field.name), field.nested)
        return view

    def undeclared_kept(self, news: Mapping[str, Any]) -> list[str]:
        """The `kept` fields the program leaves to the service."""
        return [name for name in self.kept_fields if news.get(name) is None]

    def replaced_fields(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Fields fixed once created whose declared value differs from the previous outputs, or may."""
        replaced = []
        for field in self.fields:
            if not field.replaces:
                continue
            new = _view(news.get(field.name), field.identity)
            if is_unknown(new) or new != _view(olds.get(field.name), field.identity):
                replaced.append(field.name)
        return replaced


def differing(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Keys of `new` whose value differs from `old`, or may (a preview placeholder)."""
    return [key for key in new if is_unknown(new[key]) or new[key] != old.get(key)]


def changes_by(comparable: Callable[[Mapping[str, Any]], dict[str, Any]], table: FieldTable) -> ChangedFields:
    """A resource's `changed_fields`: the settings whose declared value differs from the previous
    outputs, or may (a preview placeholder), compared in the resource's `comparable` form. A `kept`
    field the program leaves undeclared is not compared."""

    def changed_fields(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        declared = comparable(news)
        for name in table.undeclared_kept(news):
            declared.pop(name, None)
        return differing(comparable(olds), declared)

    return changed_fields


def switch_status(status: Any) -> Any:
    """ "error" is a health condition CTS sets (bucket gone, arrears): the switch is still on."""
    return "enabled" if status == "error" else status


class ResourceSchema(Protocol):
    """What every resource's schema module exposes; request bodies and answer mapping differ for
    real and are hand-written per resource."""

    FIELDS: FieldTable

    def validate(self, news: Mapping[str, Any], /) -> list[Failure]: ...

    def with_defaults(self, news: Mapping[str, Any], /) -> dict[str, Any]: ...

    def changed_fields(self, olds: Mapping[str, Any], news: Mapping[str, Any], /) -> list[str]: ...

    def replaced_fields(self, olds: Mapping[str, Any], news: Mapping[str, Any], /) -> list[str]: ...

    def state_from_answer(self, answer: Mapping[str, Any], /) -> dict[str, Any]: ...

    def inputs_from_state(self, state: Mapping[str, Any], old_inputs: Mapping[str, Any], /) -> dict[str, Any]: ...

    def resource_name(self, props: Mapping[str, Any], /) -> str: ...
