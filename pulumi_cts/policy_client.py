"""Run a Pulumi policy pack without the Pulumi CLI: start it, configure it, analyze resources over gRPC.

`PolicyAnalyzer` does what the engine does with `--policy-pack DIR`: it starts the pack's
`__main__.py` (which serves the Analyzer gRPC service on 127.0.0.1 and prints its port), applies
the policy configuration of `--policy-pack-config FILE` (levels and properties, with the defaults
of each policy's config schema filled in), and sends `Analyze` per resource, `AnalyzeStack` for
the whole stack and `Remediate`. Preview unknowns travel as the engine's sentinel string.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from .local.analysis import AnalyzedResource, PolicyViolation

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine sends a value unknown during preview
LEVELS = ("advisory", "mandatory", "disabled", "remediate")  # index = the protocol's enum value
_KINDS = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource", analyzer_pb2.POLICY_TYPE_STACK: "stack"}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int, float),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class PolicyPackError(Exception):
    """A pack that does not start or answer, or a policy configuration that does not fit the pack."""


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the pack describes it: `kind` is "resource" or "stack"."""

    name: str
    description: str
    enforcement_level: str
    kind: str
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    policies: tuple[PolicyInfo, ...]
    initial_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def policy(self, name: str) -> PolicyInfo:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)


@dataclass(frozen=True)
class StackResource:
    """A resource as the engine shows it to a pack: inputs for `analyze`, outputs for `analyze_stack`.

    Values unknown during a preview are `pulumi.output.Unknown()` (or the `UNKNOWN` string).
    """

    type: str
    urn: str
    properties: Mapping[str, Any]
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    protect: bool = False

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Violation:
    """One diagnostic of a pack; `level` is "advisory", "mandatory", "remediate" or "disabled"."""

    pack: str
    policy: str
    level: str
    message: str
    urn: str = ""
    description: str = ""

    @property
    def blocks(self) -> bool:
        """Whether it stops a deployment (a remediate-level violation is one remediation did not fix)."""
        return self.level in ("mandatory", "remediate")

    @property
    def detail(self) -> str:
        """The message without the policy description the pack puts in front of it."""
        text = self.message
        if self.description and text.startswith(self.description):
            text = text[len(self.description) :]
        return " ".join(text.split())

    def line(self) -> str:
        """`mandatory: pulumi-cts/cts-tracker-enabled: Tracker 'audit-trail' (...)...` (one line)."""
        return f"{self.level}: {self.pack}/{self.policy}: {self.detail}"


@dataclass(frozen=True)
class Remediation:
    """A policy's rewrite of a resource's properties (`properties` None when it only left a diagnostic)."""

    pack: str
    policy: str
    properties: dict[str, Any] | None
    diagnostic: str = ""


def read_policy_config(path: str | Path) -> dict[str, Any]:
    """A `--policy-pack-config` file: JSON `{"policy-name": "mandatory" | {"enforcementLevel": ..., ...}}`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyPackError(f"cannot read policy config {path}: {exc.strerror}") from None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise PolicyPackError(f"policy config {path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise PolicyPackError(f"policy config {path} must be a JSON object of policy names")
    return config


def resolve_policy_config(info: PackInfo, config: Mapping[str, Any] | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Level and properties of every policy: the given config (key "all" sets every level), else the
    pack's initial config, else the policy's defaults; schema defaults fill the missing properties."""
    config = dict(config or {})
    known = {p.name for p in info.policies}
    unknown = sorted(k for k in config if k != "all" and k not in known)
    if unknown:
        raise PolicyPackError(
            f"policy config names {', '.join(unknown)}: pack {info.name} has {', '.join(sorted(known))}"
        )
    everyone = _level("all", config["all"]) if "all" in config else None
    resolved: dict[str, tuple[str, dict[str, Any]]] = {}
    for policy in info.policies:
        properties = {
            k: v["default"] for k, v in policy.config_schema.items() if isinstance(v, Mapping) and "default" in v
        }
        level = everyone or policy.enforcement_level
        for source in (info.initial_config.get(policy.name), config.get(policy.name)):
            if isinstance(source, str):
                level = _level(policy.name, source)
            elif isinstance(source, Mapping):
                level = _level(policy.name, source["enforcementLevel"]) if "enforcementLevel" in source else level
                properties.update({k: v for k, v in source.items() if k != "enforcementLevel"})
            elif source is not None:
                raise PolicyPackError(f"policy config of {policy.name} must be a level or an object, got {source!r}")
        _check_properties(policy, properties)
        resolved[policy.name] = (level, properties)
    return resolved


def _level(policy: str, value: Any) -> str:
    if value not in LEVELS:
        raise PolicyPackError(f"enforcement level of {policy} must be one of {', '.join(LEVELS)}, got {value!r}")
    return str(value)


def _check_properties(policy: PolicyInfo, properties: Mapping[str, Any]) -> None:
    for key, value in properties.items():
        schema = policy.config_schema.get(key)
        if not isinstance(schema, Mapping):
            allowed = ", ".join(policy.config_schema) or "none"
            raise PolicyPackError(f"{policy.name} has no config property {key!r} (properties: {allowed})")
        expected = _JSON_TYPES.get(str(schema.get("type")), (object,))
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise PolicyPackError(f"{policy.name}.{key} must be of type {schema.get('type')}, got {value!r}")
        if schema.get("type") == "integer" and isinstance(value, float) and not value.is_integer():
            raise PolicyPackError(f"{policy.name}.{key} must be a whole number, got {value!r}")
        if (
            isinstance(schema.get("minimum"), int | float)
            and isinstance(value, int | float)
            and value < schema["minimum"]
        ):
            raise PolicyPackError(f"{policy.name}.{key} must be at least {schema['minimum']}, got {value!r}")
    missing = [k for k in policy.required if k not in properties]
    if missing:
        raise PolicyPackError(f"{policy.name} needs config {', '.join(missing)}")


def _wire(value: Any) -> Any:
    """A property value as the engine marshals it: unknowns as the sentinel, tuples as lists."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(values))
    return struct


class PolicyAnalyzer:
    """One running policy pack. Use as a context manager, or call `close()`.

    :param pack_dir: folder with `PulumiPolicy.yaml` and `__main__.py`.
    :param python: interpreter that has the pack's requirements (default: this one).
    :param stack_config: the stack's configuration (`"ns:key": "value"`), readable by policies.
    :param policy_config: as in a `--policy-pack-config` file; applied at start (see `configure`).
    """

    def __init__(
        self,
        pack_dir: str | Path,
        *,
        python: str | None = None,
        stack_config: Mapping[str, str] | None = None,
        project: str = "",
        stack: str = "",
        dry_run: bool = True,
        policy_config: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.timeout = timeout
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file() or not (self.pack_dir / "__main__.py").is_file():
            raise PolicyPackError(f"{pack_dir} is not a Python policy pack (needs PulumiPolicy.yaml and __main__.py)")
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PULUMI_CONFIG": json.dumps(dict(stack_config or {})),
            "PULUMI_PROJECT": project or "project",
            "PULUMI_STACK": stack or "stack",
            "PULUMI_DRY_RUN": "true" if dry_run else "false",
        }
        # Kept open as long as the pack runs: its last line explains a pack that fails to start.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [python or sys.executable, "-u", "__main__.py"],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        try:
            port = self._read_port()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            self.info = self._call(self._stub.GetAnalyzerInfo, empty_pb2.Empty(), "GetAnalyzerInfo", parse_info)
            self.config = self.configure(policy_config)
        except BaseException:
            self.close()
            raise

    def _read_port(self) -> int:
        assert self._process.stdout is not None
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(self._process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.timeout)
        first = lines[0].strip() if lines else b""
        if not first.isdigit():
            raise PolicyPackError(f"policy pack {self.pack_dir} did not start: {self._errors() or 'no port printed'}")
        return int(first)

    def _errors(self) -> str:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(5)
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def _call(self, method: Any, request: Any, name: str, parse: Any) -> Any:
        try:
            return parse(method(request, timeout=self.timeout))
        except grpc.RpcError as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            last = (details or "").strip().splitlines()[-1:] or [str(exc.code())]
            raise PolicyPackError(f"policy pack {self.info_name} failed in {name}: {last[0]}") from None

    @property
    def info_name(self) -> str:
        info = getattr(self, "info", None)
        return info.name if info is not None else str(self.pack_dir)

    def configure(self, policy_config: Mapping[str, Any] | None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Send every policy's level and properties (as the engine does: all of them, defaults included)."""
        resolved = resolve_policy_config(self.info, policy_config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, properties) in resolved.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = LEVELS.index(level)
            entry.properties.update(_wire(properties))
        self._call(self._stub.Configure, request, "Configure", lambda _: None)
        self.config = resolved
        return resolved

    def analyze(self, resource: StackResource) -> list[Violation]:
        """`Analyze`: the resource policies on one resource's inputs."""
        # A resource policy's diagnostic carries no URN: it is the analyzed resource's, as the engine reports it.
        return self._call(  # type: ignore[no-any-return]
            self._stub.Analyze, self._request(resource), "Analyze", lambda r: self._violations(r, resource.urn)
        )

    def analyze_stack(self, resources: Iterable[StackResource]) -> list[Violation]:
        """`AnalyzeStack`: the stack policies on every resource of the stack."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for resource in resources:
            entry = request.resources.add()
            entry.type, entry.urn, entry.name, entry.parent = (
                resource.type,
                resource.urn,
                resource.name,
                resource.parent,
            )
            entry.properties.CopyFrom(_struct(resource.properties))
            entry.options.protect = resource.protect
            entry.dependencies.extend(resource.dependencies)
            for key, urns in resource.property_dependencies.items():
                entry.propertyDependencies[key].urns.extend(urns)
        return self._call(self._stub.AnalyzeStack, request, "AnalyzeStack", self._violations)  # type: ignore[no-any-return]

    def remediate(self, resource: StackResource) -> list[Remediation]:
        """`Remediate`: the fixes of every policy configured at level "remediate", in order."""

        def parse(response: Any) -> list[Remediation]:
            return [
                Remediation(
                    r.policyPackName,
                    r.policyName,
                    json_format.MessageToDict(r.properties) if r.HasField("properties") else None,
                    r.diagnostic,
                )
                for r in response.remediations
            ]

        return self._call(self._stub.Remediate, self._request(resource), "Remediate", parse)  # type: ignore[no-any-return]

    def _request(self, resource: StackResource) -> analyzer_pb2.AnalyzeRequest:
        request = analyzer_pb2.AnalyzeRequest(type=resource.type, urn=resource.urn, name=resource.name)
        request.properties.CopyFrom(_struct(resource.properties))
        request.options.protect = resource.protect
        request.options.parent = resource.parent
        return request

    @staticmethod
    def _violations(response: Any, urn: str = "") -> list[Violation]:
        return [
            Violation(
                d.policyPackName, d.policyName, LEVELS[d.enforcementLevel], d.message, d.urn or urn, d.description
            )
            for d in response.diagnostics
        ]

    def close(self) -> None:
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> PolicyAnalyzer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def parse_info(response: Any) -> PackInfo:
    policies = tuple(
        PolicyInfo(
            name=p.name,
            description=p.description,
            enforcement_level=LEVELS[p.enforcementLevel],
            kind=_KINDS.get(p.policy_type, "unknown"),
            config_schema=json_format.MessageToDict(p.configSchema.properties),
            required=tuple(p.configSchema.required),
        )
        for p in response.policies
    )
    initial: dict[str, dict[str, Any]] = {}
    for name, value in response.initialConfig.items():
        entry: dict[str, Any] = json_format.MessageToDict(value.properties)
        # Level 0 (advisory) is also the protocol's "not set": count it only for a level-only entry.
        if value.enforcementLevel or not entry:
            entry["enforcementLevel"] = LEVELS[value.enforcementLevel]
        initial[name] = entry
    return PackInfo(response.name, response.version, policies, initial)


def start_policy_packs(
    pack_dirs: Sequence[str | Path],
    config_file: str | Path | None = None,
    *,
    python: str | None = None,
    stack_config: Mapping[str, str] | None = None,
    project: str = "",
    stack: str = "",
    dry_run: bool = True,
) -> list[PolicyAnalyzer]:
    """Start every pack of `--policy-pack DIR...` with the one `--policy-pack-config FILE`.

    Each pack gets the entries that name its policies ("all" goes to every pack); an entry that
    names a policy of no pack is an error, as is a pack that does not start. Nothing is left
    running when this raises.
    """
    config = read_policy_config(config_file) if config_file is not None else {}
    started: list[PolicyAnalyzer] = []
    try:
        for folder in pack_dirs:
            started.append(
                PolicyAnalyzer(
                    folder, python=python, stack_config=stack_config, project=project, stack=stack, dry_run=dry_run
                )
            )
        names = {p.name for analyzer in started for p in analyzer.info.policies}
        strays = sorted(k for k in config if k != "all" and k not in names)
        if strays:
            raise PolicyPackError(f"{config_file} names {', '.join(strays)}, a policy of none of the policy packs")
        for analyzer in started:
            mine = {p.name for p in analyzer.info.policies} | {"all"}
            analyzer.configure({k: v for k, v in config.items() if k in mine})
    except BaseException:
        for analyzer in started:
            analyzer.close()
        raise
    return started


class RunnerAnalyzer:
    """A started pack as the local runner's `Analyzer` (`pulumi-cts local ... --policy-pack DIR`).

    A violation at level "remediate" is one the pack could not fix: it stops the run like a
    mandatory one (the runner does not apply remediations).
    """

    def __init__(self, pack: PolicyAnalyzer) -> None:
        self.pack = pack

    def analyze(self, resource: AnalyzedResource) -> list[PolicyViolation]:
        return self._converted(self.pack.analyze(self._resource(resource)))

    def analyze_stack(self, resources: Sequence[AnalyzedResource]) -> list[PolicyViolation]:
        return self._converted(self.pack.analyze_stack([self._resource(r) for r in resources]))

    @staticmethod
    def _resource(resource: AnalyzedResource) -> StackResource:
        return StackResource(
            resource.type,
            resource.urn,
            resource.properties,
            parent=resource.parent,
            dependencies=resource.dependencies,
            protect=resource.protect,
        )

    @staticmethod
    def _converted(violations: Sequence[Violation]) -> list[PolicyViolation]:
        return [
            PolicyViolation(v.pack, v.policy, v.detail, "mandatory" if v.blocks else "advisory", v.urn)
            for v in violations
        ]


def check_stack(
    analyzers: Sequence[PolicyAnalyzer], inputs: Sequence[StackResource], outputs: Sequence[StackResource] | None = None
) -> list[Violation]:
    """Every pack's verdict on a stack: `Analyze` on each resource's inputs, then `AnalyzeStack`
    (on `outputs`, the resources as they will be after the run; by default the inputs)."""
    violations: list[Violation] = []
    for analyzer in analyzers:
        for resource in inputs:
            violations.extend(analyzer.analyze(resource))
        violations.extend(analyzer.analyze_stack(outputs if outputs is not None else inputs))
    return violations
