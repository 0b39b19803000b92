"""The local runner's state: one JSON file per stack, written atomically with mode 0600.

The file is not encrypted (the Pulumi CLI encrypts secret values with the stack's secrets
provider; this runner has none). Secret values are kept in the SDK's secret wrapper, so they stay
secret when read back, and a value that holds a configured secret (a `--secret` value or a
`secure:` config value) is never written: it is replaced by `REDACTED` before the file is saved.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
REDACTED = "[redacted: holds a configured secret]"


class StateError(Exception):
    """The state file cannot be read or written."""


@dataclass
class ResourceState:
    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    pending_delete: bool = False
    """An old copy of a replaced resource, still to be deleted."""
    external: bool = False
    """Read with `Resource.get`: tracked, never deleted."""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceState:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class StackState:
    project: str
    stack: str
    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def find(self, urn: str, *, pending: bool = False) -> ResourceState | None:
        for resource in self.resources:
            if resource.urn == urn and resource.pending_delete == pending:
                return resource
        return None

    def put(self, resource: ResourceState) -> None:
        """Replace the live resource with the same URN, or append it."""
        for index, existing in enumerate(self.resources):
            if existing.urn == resource.urn and not existing.pending_delete:
                self.resources[index] = resource
                return
        self.resources.append(resource)

    def remove(self, resource: ResourceState) -> None:
        self.resources = [existing for existing in self.resources if existing is not resource]


def state_path(state_dir: Path, stack: str) -> Path:
    return state_dir / f"{stack.replace('/', '.')}.json"


def load(state_dir: Path, project: str, stack: str) -> StackState:
    path = state_path(state_dir, stack)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StackState(project=project, stack=stack)
    except OSError as exc:
        raise StateError(f"cannot read the state file {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        data = json.loads(text)
        resources = [ResourceState.from_json(item) for item in data.get("resources", [])]
        outputs = dict(data.get("outputs", {}))
        stored_project = str(data.get("project", project))
    except (ValueError, TypeError, AttributeError) as exc:
        raise StateError(f"the state file {path} is not a state file of this runner ({type(exc).__name__})") from None
    return StackState(project=stored_project, stack=stack, resources=resources, outputs=outputs)


def _redact(value: Any, forbidden: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return REDACTED if any(secret in value for secret in forbidden) else value
    if isinstance(value, dict):
        return {key: _redact(item, forbidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, forbidden) for item in value]
    return value


def save(state_dir: Path, state: StackState, configured_secrets: Iterable[str] = ()) -> Path:
    """Write the state atomically (a 0600 temporary file renamed over the old one)."""
    forbidden = tuple(secret for secret in configured_secrets if secret)
    data = {
        "version": FORMAT_VERSION,
        "project": state.project,
        "stack": state.stack,
        "resources": [_redact(asdict(resource), forbidden) for resource in state.resources],
        "outputs": _redact(state.outputs, forbidden),
    }
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_path(state_dir, state.stack)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=state_dir)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
