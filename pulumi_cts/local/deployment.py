"""Steps of one run, planned and executed as the Pulumi engine does them, one at a time.

The monitor hands every registration to `Deployment`; it decides the step (create, update, same,
replace), calls the dynamic provider (or a stand-in), records the result in the state (saved after
every step of an update, so a failed run keeps what it did) and answers with the outputs the
program sees. After the program, `finish` deletes what left it, dependents first.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import state as state_file
from .analysis import AnalyzedResource, Analyzer, PolicyViolation
from .provider_process import DynamicProviderProcess, ProviderCallError
from .state import ResourceState, StackState
from .wire import contains_secret, contains_unknown, reveal, wrap_secret

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
DYNAMIC_PREFIX = "pulumi-python:dynamic"
PROVIDER_KEY = "__provider"

OPERATIONS = ("preview", "up", "refresh", "destroy")
CHANGE_KINDS = ("create", "update", "delete", "replace", "same")


class StepFailed(Exception):
    """A step failed; the message names the resource and says why (no traceback)."""


@dataclass
class Step:
    urn: str
    type: str
    op: str
    diffs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "op": self.op, "diffs": list(self.diffs)}


def stand_in_id(urn: str) -> str:
    """The id a stand-in reports for a resource: stable for a URN, so tests can seed the emulator with it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, urn))


def make_urn(stack: str, project: str, type_: str, name: str, parent: str = "") -> str:
    """The URN the Pulumi engine gives: the parent's whole type chain before the type, the root stack's left out."""
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != STACK_TYPE:
            type_ = parent_type + "$" + type_
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def package_of(type_: str) -> str:
    return type_.split(":", 1)[0]


def _describe(resource_type: str, urn: str) -> str:
    return f"{urn.rsplit('::', 1)[-1]} ({resource_type})"


def _annotate(values: Mapping[str, Any], *sources: Mapping[str, Any], extra: Iterable[str] = ()) -> dict[str, Any]:
    """Outputs marked secret as the engine marks them: an input of the same name held a secret, or listed."""
    listed = set(extra)
    result: dict[str, Any] = {}
    for key, value in values.items():
        secret = key in listed or any(contains_secret(source.get(key)) for source in sources)
        result[key] = wrap_secret(value) if secret and not contains_secret(value) else value
    return result


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], *, skip_provider: bool) -> list[str]:
    keys = []
    for key in sorted(set(old) | set(new)):
        if skip_provider and key == PROVIDER_KEY:
            continue
        if key not in new or contains_unknown(new[key]) or reveal(new[key]) != reveal(old.get(key)):
            keys.append(key)
    return keys


def _depends_on(dependent: ResourceState, resource: ResourceState) -> bool:
    return dependent.parent == resource.urn or resource.urn in dependent.dependencies


def delete_order(resources: Sequence[ResourceState]) -> list[ResourceState]:
    """Dependents first; on a dependency cycle the latest registered goes first."""
    remaining = list(resources)
    ordered: list[ResourceState] = []
    while remaining:
        for candidate in reversed(remaining):
            if not any(_depends_on(other, candidate) for other in remaining if other is not candidate):
                break
        else:
            candidate = remaining[-1]
        ordered.append(candidate)
        remaining = [resource for resource in remaining if resource is not candidate]
    return ordered


@dataclass(frozen=True)
class Registration:
    """A `RegisterResource` request, as plain data."""

    type: str
    name: str
    custom: bool
    parent: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registered:
    urn: str
    id: str
    outputs: dict[str, Any]


class Deployment:
    """One run of `operation` over a stack's state."""

    def __init__(
        self,
        *,
        operation: str,
        project: str,
        stack: str,
        old: StackState,
        provider_factory: Callable[[], DynamicProviderProcess],
        state_dir: Path,
        stand_ins: Iterable[str] = (),
        analyzers: Sequence[Analyzer] = (),
        configured_secrets: Sequence[str] = (),
    ) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        self.operation = operation
        self.project = project
        self.stack = stack
        self.dry_run = operation == "preview"
        self.old = copy.deepcopy(old)
        self.state = copy.deepcopy(old)
        self.state_dir = state_dir
        self.stand_ins = set(stand_ins)
        self.analyzers = list(analyzers)
        self.configured_secrets = list(configured_secrets)
        self.steps: list[Step] = []
        self.violations: list[PolicyViolation] = []
        self.failure: StepFailed | None = None
        self.registered: set[str] = set()
        self.stack_urn = ""
        self.outputs: dict[str, Any] = dict(old.outputs)
        self._provider_factory = provider_factory
        self._provider: DynamicProviderProcess | None = None
        self._provider_starting: Future[DynamicProviderProcess] | None = None
        self._lock = threading.RLock()

    # -- plumbing ---------------------------------------------------------------------------------

    def start_provider_early(self) -> None:
        """Start the provider process now, while the program starts: both take about as long."""
        if self._provider is None and self._provider_starting is None:
            self._provider_starting = Future()
            starting = self._provider_starting

            def start() -> None:
                try:
                    starting.set_result(self._provider_factory())
                except BaseException as error:
                    starting.set_exception(error)

            threading.Thread(target=start, daemon=True).start()

    @property
    def provider(self) -> DynamicProviderProcess:
        if self._provider is None:
            starting, self._provider_starting = self._provider_starting, None
            self._provider = starting.result() if starting is not None else self._provider_factory()
        return self._provider

    def close(self) -> None:
        starting, self._provider_starting = self._provider_starting, None
        if starting is not None and self._provider is None:
            try:
                self._provider = starting.result()
            except Exception:
                self._provider = None
        if self._provider is not None:
            self._provider.close()
            self._provider = None

    def save(self) -> None:
        if not self.dry_run:
            state_file.save(self.state_dir, self.state, self.configured_secrets)

    def fail(self, message: str) -> StepFailed:
        failure = StepFailed(message)
        if self.failure is None:
            self.failure = failure
        return failure

    def _provider_call(self, what: str, resource_type: str, urn: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ProviderCallError as error:
            raise self.fail(f"{_describe(resource_type, urn)}: {what} failed: {error.summary}") from None

    def _step(self, urn: str, resource_type: str, op: str, diffs: Sequence[str] = ()) -> None:
        self.steps.append(Step(urn=urn, type=resource_type, op=op, diffs=list(diffs)))

    def _analyze(self, resource: AnalyzedResource) -> None:
        self._enforce(_describe(resource.type, resource.urn), lambda analyzer: analyzer.analyze(resource))

    def _enforce(self, subject: str, ask: Callable[[Analyzer], Sequence[PolicyViolation]]) -> None:
        """Ask every analyzer, keep what they found, and stop the run on a mandatory violation."""
        mandatory: list[PolicyViolation] = []
        for analyzer in self.analyzers:
            found = list(ask(analyzer))
            self.violations.extend(found)
            mandatory.extend(v for v in found if v.enforcement == "mandatory")
        if mandatory:
            names = ", ".join(sorted({v.policy for v in mandatory}))
            raise self.fail(f"{subject}: mandatory policy violated: {names}")

    @staticmethod
    def analyzed(resource: ResourceState | Registration, urn: str, inputs: Mapping[str, Any]) -> AnalyzedResource:
        properties = {key: reveal(value) for key, value in inputs.items() if key != PROVIDER_KEY}
        return AnalyzedResource(
            urn=urn,
            type=resource.type,
            name=urn.rsplit("::", 1)[-1],
            properties=properties,
            custom=resource.custom,
            parent=resource.parent,
            dependencies=tuple(resource.dependencies),
            protect=resource.protect,
        )

    def _kind(self, resource_type: str, urn: str) -> str:
        if resource_type.startswith(DYNAMIC_PREFIX):
            return "dynamic"
        if resource_type in self.stand_ins:
            return "stand-in"
        package = package_of(resource_type)
        raise self.fail(
            f"{_describe(resource_type, urn)}: type {resource_type} needs the resource plugin of package "
            f"'{package}', which the local runner does not run; use the Pulumi CLI for this program, or give a "
            f"stand-in for the type (--stand-in {resource_type})"
        )

    # -- registrations ------------------------------------------------------------------------------

    def register(self, request: Registration) -> Registered:
        with self._lock:
            urn = make_urn(self.stack, self.project, request.type, request.name, request.parent)
            if urn in self.registered:
                raise self.fail(f"{_describe(request.type, urn)}: a resource with this URN was registered twice")
            self.registered.add(urn)
            if request.type == STACK_TYPE:
                self.stack_urn = urn
            if not request.custom:
                return self._register_component(request, urn)
            return self._register_custom(request, urn)

    def _register_component(self, request: Registration, urn: str) -> Registered:
        old = self.state.find(urn)
        self._step(urn, request.type, "same" if old is not None else "create")
        record = ResourceState(
            urn=urn,
            type=request.type,
            custom=False,
            inputs=dict(request.inputs),
            outputs=dict(old.outputs) if old is not None else {},
            parent=request.parent,
            dependencies=list(request.dependencies),
            protect=request.protect,
            retain_on_delete=request.retain_on_delete,
        )
        self.state.put(record)
        self.save()
        return Registered(urn=urn, id="", outputs={})

    def _register_custom(self, request: Registration, urn: str) -> Registered:
        kind = self._kind(request.type, urn)
        old = self.state.find(urn)
        news = dict(request.inputs)
        if old is not None:
            for key in request.ignore_changes:
                top = key.split(".", 1)[0].split("[", 1)[0]
                if top in old.inputs:
                    news[top] = old.inputs[top]
                else:
                    news.pop(top, None)
        record = ResourceState(
            urn=urn,
            type=request.type,
            custom=True,
            parent=request.parent,
            dependencies=list(request.dependencies),
            protect=request.protect,
            retain_on_delete=request.retain_on_delete,
            delete_before_replace=request.delete_before_replace,
            additional_secret_outputs=list(request.additional_secret_outputs),
        )
        if self.analyzers:
            self._analyze(self.analyzed(request, urn, news))

        checked = self._check(request.type, urn, old, news) if kind == "dynamic" else news
        op, diffs, delete_first = self._plan(kind, request, urn, old, checked)
        self._step(urn, request.type, op, diffs)
        record.inputs = checked

        if self.dry_run:
            if op == "same" and old is not None:
                record.id, record.outputs = old.id, old.outputs
            else:
                # Only the inputs are known: every output the provider computes is Unknown to dependents.
                record.id = old.id if op == "update" and old is not None else ""
                record.outputs = dict(checked)
            self.state.put(record)
            return Registered(urn=urn, id=record.id, outputs=record.outputs)

        if op == "same" and old is not None:
            record.id, record.outputs, record.inputs = old.id, old.outputs, old.inputs
        elif op == "update" and old is not None:
            record.id = old.id
            record.outputs = self._update(kind, request.type, urn, old, checked, record)
        elif op == "replace" and old is not None:
            if delete_first:
                self._delete(old)
            else:
                old.pending_delete = True
            record.id, record.outputs = self._create(kind, request.type, urn, checked, record)
        else:
            record.id, record.outputs = self._create(kind, request.type, urn, checked, record)
        self.state.put(record)
        self.save()
        return Registered(urn=urn, id=record.id, outputs=record.outputs)

    def _check(self, resource_type: str, urn: str, old: ResourceState | None, news: dict[str, Any]) -> dict[str, Any]:
        olds = reveal(old.inputs) if old is not None else {}
        result = self._provider_call("check", resource_type, urn, lambda: self.provider.check(urn, olds, reveal(news)))
        if result.failures:
            problems = "; ".join(f"{prop}: {reason}" if prop else reason for prop, reason in result.failures)
            raise self.fail(f"{_describe(resource_type, urn)}: invalid inputs: {problems}")
        return _annotate(result.inputs, news)

    def _plan(
        self, kind: str, request: Registration, urn: str, old: ResourceState | None, checked: dict[str, Any]
    ) -> tuple[str, list[str], bool]:
        """The step for a resource: (op, changed properties, delete before create)."""
        if old is None:
            return "create", [], False
        if kind != "dynamic":
            changed = _changed_keys(old.inputs, checked, skip_provider=True)
            return ("update" if changed else "same"), changed, False
        diff = self._provider_call(
            "diff",
            request.type,
            urn,
            lambda: self.provider.diff(urn, old.id, reveal(old.outputs), reveal(checked), reveal(old.inputs)),
        )
        if diff.changes == "DIFF_UNKNOWN":
            # As the engine does: compare old and new inputs, `__provider` included.
            changed = _changed_keys(old.inputs, checked, skip_provider=False)
            return ("update" if changed else "same"), changed, False
        if diff.changes == "DIFF_NONE" and not diff.replaces:
            return "same", [], False
        if diff.replaces:
            if old.protect:
                raise self.fail(
                    f"{_describe(request.type, urn)}: the resource is protected and a change of "
                    f"{', '.join(diff.replaces)} needs a replacement; remove protect=True first"
                )
            delete_first = diff.delete_before_replace or request.delete_before_replace
            return "replace", list(diff.replaces), delete_first
        # The provider says whether it changes, not where: name the inputs that differ from the last ones, else
        # (a change seen only in the outputs, e.g. after a refresh) the inputs that differ from the outputs.
        changed = _changed_keys(old.inputs, checked, skip_provider=True) or [
            key for key in _changed_keys(old.outputs, checked, skip_provider=True) if key in checked
        ]
        return "update", changed, False

    def _create(
        self, kind: str, resource_type: str, urn: str, checked: dict[str, Any], record: ResourceState
    ) -> tuple[str, dict[str, Any]]:
        if kind != "dynamic":
            return stand_in_id(urn), dict(checked)
        new_id, outputs = self._provider_call(
            "create", resource_type, urn, lambda: self.provider.create(urn, reveal(checked))
        )
        return new_id, _annotate(outputs, checked, extra=record.additional_secret_outputs)

    def _update(
        self,
        kind: str,
        resource_type: str,
        urn: str,
        old: ResourceState,
        checked: dict[str, Any],
        record: ResourceState,
    ) -> dict[str, Any]:
        if kind != "dynamic":
            return dict(checked)
        outputs = self._provider_call(
            "update",
            resource_type,
            urn,
            lambda: self.provider.update(urn, old.id, reveal(old.outputs), reveal(checked), reveal(old.inputs)),
        )
        return _annotate(outputs, checked, extra=record.additional_secret_outputs)

    def _delete(self, resource: ResourceState) -> None:
        if resource.protect:
            raise self.fail(
                f"{_describe(resource.type, resource.urn)}: the resource is protected and cannot be deleted; "
                "set protect=False and run up first"
            )
        if resource.custom and not resource.retain_on_delete and not resource.external and not self.dry_run:
            if resource.type.startswith(DYNAMIC_PREFIX):
                self._provider_call(
                    "delete",
                    resource.type,
                    resource.urn,
                    lambda: self.provider.delete(
                        resource.urn, resource.id, reveal(resource.outputs), reveal(resource.inputs)
                    ),
                )
            elif resource.type not in self.stand_ins:
                self._kind(resource.type, resource.urn)
        self.state.remove(resource)
        self.save()

    # -- reads ------------------------------------------------------------------------------------

    def read(self, resource_type: str, name: str, parent: str, id_: str, properties: dict[str, Any]) -> Registered:
        with self._lock:
            urn = make_urn(self.stack, self.project, resource_type, name, parent)
            if resource_type == STACK_REFERENCE_TYPE:
                return Registered(urn=urn, id=id_, outputs=self._stack_reference(urn, id_ or properties.get("name")))
            kind = self._kind(resource_type, urn)
            if kind == "dynamic":
                result = self._provider_call(
                    "read",
                    resource_type,
                    urn,
                    lambda: self.provider.read(urn, id_, reveal(properties), reveal(properties)),
                )
                if not result.id:
                    raise self.fail(f"{_describe(resource_type, urn)}: read failed: no resource with id {id_!r}")
                outputs = _annotate(result.outputs, properties)
            else:
                outputs = dict(properties)
            record = ResourceState(
                urn=urn,
                type=resource_type,
                custom=True,
                id=id_,
                inputs=dict(properties),
                outputs=outputs,
                parent=parent,
                external=True,
            )
            self.registered.add(urn)
            self.state.put(record)
            self._step(urn, resource_type, "read")
            self.save()
            return Registered(urn=urn, id=id_, outputs=outputs)

    def _stack_reference(self, urn: str, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise self.fail(f"{_describe(STACK_REFERENCE_TYPE, urn)}: no stack name given")
        stack = name.rsplit("/", 1)[-1]
        if not state_file.state_path(self.state_dir, stack).is_file():
            raise self.fail(
                f"{_describe(STACK_REFERENCE_TYPE, urn)}: no stack '{stack}' in the state folder {self.state_dir} "
                "(the local runner resolves stack references there)"
            )
        other = state_file.load(self.state_dir, self.project, stack)
        secret_names = sorted(key for key, value in other.outputs.items() if contains_secret(value))
        return {"name": name, "outputs": dict(other.outputs), "secretOutputNames": secret_names}

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        with self._lock:
            if urn == self.stack_urn:
                self.outputs = outputs
                if not self.dry_run:
                    self.state.outputs = outputs
            resource = self.state.find(urn)
            if resource is not None and not resource.custom:
                resource.outputs = outputs
            self.save()

    # -- after the program --------------------------------------------------------------------------

    def finish(self) -> None:
        """After a successful program: the stack analysis, then deletes of what left the program."""
        with self._lock:
            if self.analyzers:
                resources = [
                    self.analyzed(resource, resource.urn, resource.inputs)
                    for resource in self.state.resources
                    if resource.urn in self.registered and not resource.pending_delete
                ]
                self._enforce(f"stack {self.stack}", lambda analyzer: analyzer.analyze_stack(resources))
            gone = [r for r in self.state.resources if r.pending_delete or r.urn not in self.registered]
            for resource in delete_order(gone):
                self._leaving_step(resource)
                self._delete(resource)
            if not self.dry_run:
                self.state.outputs = self.outputs
                self.save()

    def _leaving_step(self, resource: ResourceState) -> None:
        """The step of a resource leaving the stack; one the program only read is discarded, as the engine shows it."""
        if not resource.pending_delete:
            self._step(resource.urn, resource.type, "discard" if resource.external else "delete")

    def destroy(self) -> None:
        with self._lock:
            for resource in delete_order(list(self.state.resources)):
                self._leaving_step(resource)
                self._delete(resource)
            self.outputs = {}
            self.state.outputs = {}
            self.save()

    def refresh(self) -> None:
        with self._lock:
            for resource in list(self.state.resources):
                if not resource.custom or not resource.type.startswith(DYNAMIC_PREFIX) or resource.pending_delete:
                    self._step(resource.urn, resource.type, "same")
                    continue
                result = self._provider_call(
                    "read",
                    resource.type,
                    resource.urn,
                    lambda r=resource: self.provider.read(r.urn, r.id, reveal(r.outputs), reveal(r.inputs)),  # type: ignore[misc]
                )
                if not result.id:
                    self._step(resource.urn, resource.type, "delete")
                    self.state.remove(resource)
                    self.save()
                    continue
                outputs = _annotate(
                    result.outputs, resource.inputs, resource.outputs, extra=resource.additional_secret_outputs
                )
                changed = _changed_keys(resource.outputs, outputs, skip_provider=True)
                self._step(resource.urn, resource.type, "update" if changed else "same", changed)
                resource.id = result.id
                resource.outputs = outputs
                if result.inputs is not None:
                    resource.inputs = _annotate(result.inputs, resource.inputs)
                self.save()

    def changes(self) -> dict[str, int]:
        counts = dict.fromkeys(CHANGE_KINDS, 0)
        for step in self.steps:
            if step.op in counts:
                counts[step.op] += 1
        return counts
