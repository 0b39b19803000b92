"""A Pulumi project on disk: `Pulumi.yaml` (name, runtime, main) and the stack's `Pulumi.<stack>.yaml` config."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The project or its stack config cannot be used (a usage error)."""


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    """The directory with `Pulumi.yaml`."""
    program: Path
    """The program: a directory with `__main__.py`, or a `.py` file."""


@dataclass
class StackConfig:
    """The stack's config as the language host passes it: `namespace:key` to string, and the secret keys."""

    values: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)
    encrypted: list[str] = field(default_factory=list)
    """`secure:` keys of the stack file that no `--secret` supplied (this runner cannot decrypt them)."""

    @property
    def secret_values(self) -> list[str]:
        return [self.values[key] for key in sorted(self.secret_keys) if key in self.values]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except yaml.YAMLError:
        raise ProjectError(f"{path} is not valid YAML") from None


def load_project(directory: Path) -> Project:
    path = directory / "Pulumi.yaml"
    if not path.is_file():
        raise ProjectError(f"no Pulumi.yaml in {directory} (use --cwd DIR to name the project directory)")
    data = _read_yaml(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ProjectError(f"{path} has no project name")
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, Mapping) else runtime
    if runtime_name != "python":
        raise ProjectError(
            f"{path}: runtime {runtime_name!r} is not python; the local runner runs Python programs only"
        )
    main = data.get("main") or "."
    program = (directory / str(main)).resolve()
    entry = program / "__main__.py" if program.is_dir() else program
    if not entry.is_file():
        raise ProjectError(f"{path}: the program {entry} does not exist")
    return Project(name=str(data["name"]), root=directory.resolve(), program=program)


def config_key(project: str, key: str) -> str:
    """A key as the CLI writes it: `bucketName` in project `p` is `p:bucketName`."""
    if not key or key.startswith(":") or key.endswith(":"):
        raise ProjectError(f"invalid config key {key!r}")
    return key if ":" in key else f"{project}:{key}"


def _config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list)):
        return json.dumps(value)
    return str(value)


def parse_assignment(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise ProjectError(f"expected KEY=VALUE, got {text.split('=')[0]!r}")
    return key, value


def load_stack_config(
    project: Project,
    stack: str,
    config: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> StackConfig:
    """`Pulumi.<stack>.yaml`'s plain values, then `config` and `secrets` (which win), keys namespaced."""
    result = StackConfig()
    path = project.root / f"Pulumi.{stack}.yaml"
    if path.is_file():
        data = _read_yaml(path) or {}
        block = data.get("config") if isinstance(data, Mapping) else None
        if block is not None and not isinstance(block, Mapping):
            raise ProjectError(f"'config:' in {path} is not a mapping")
        for raw_key, value in (block or {}).items():
            key = config_key(project.name, str(raw_key))
            if isinstance(value, Mapping) and "secure" in value:
                result.encrypted.append(key)
            elif value is not None:
                result.values[key] = _config_text(value)
    for raw_key, value in (config or {}).items():
        key = config_key(project.name, raw_key)
        result.values[key] = value
        result.secret_keys.discard(key)
    for raw_key, value in (secrets or {}).items():
        key = config_key(project.name, raw_key)
        result.values[key] = value
        result.secret_keys.add(key)
    result.encrypted = [key for key in result.encrypted if key not in result.values]
    return result
