"""Drive `python -m pulumi.dynamic` over gRPC the way the Pulumi engine does, without the Pulumi CLI.

`EngineHarness` starts the dynamic provider server in a subprocess (unbuffered, with
`PULUMI_PROJECT` set and `pulumi_cts` importable), reads its port from the first stdout line,
and offers one method per engine call. Property bags are plain dicts: they are converted to
protobuf `Struct`s with the SDK's own `serialize_properties` / `deserialize_properties`, so
`rpc.UNKNOWN` travels as a preview unknown and `rpc.wrap_rpc_secret(...)` as a secret.

Every response (and every error's details) is also kept as text in `transcript`, so a test can
assert that a value, such as a password, never left the provider.

What this does not cover: the engine's own step logic (secret annotation of outputs, the
DIFF_UNKNOWN fallback, replacement ordering, state files); the local runner (`pulumi_cts.local`,
tests/local) runs programs with that logic.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from pulumi_cts import TrackerProvider
from pulumi_cts.local.provider_process import DynamicProviderProcess, ProviderCallError
from pulumi_cts.local.provider_process import empty_message as _empty
from pulumi_cts.local.wire import from_struct, to_struct
from tests.support import child_environment

PROVIDER_KEY = "__provider"
DEFAULT_PROJECT = "pulumi-cts-example"
DEFAULT_TYPE = "pulumi-python:dynamic/cts:Tracker"

# The provider falls back to these; a developer's own cloud settings must not leak into tests.
_SCRUBBED_ENV_PREFIXES = ("OS_", "CTS_", "PULUMI_")


# The provider process raises it; tests know it by the harness's name.
EngineCallError = ProviderCallError


@dataclass(frozen=True)
class ConfigureResult:
    accept_secrets: bool
    supports_preview: bool


@dataclass(frozen=True)
class CheckResponse:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]

    @property
    def failed_properties(self) -> list[str]:
        return [prop for prop, _reason in self.failures]


@dataclass(frozen=True)
class DiffResponse:
    changes: str
    """"DIFF_SOME", "DIFF_NONE" or "DIFF_UNKNOWN"."""
    replaces: list[str]
    delete_before_replace: bool

    @property
    def has_changes(self) -> bool:
        return self.changes == "DIFF_SOME"


@dataclass(frozen=True)
class CreateResponse:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class ReadResponse:
    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


@dataclass(frozen=True)
class UpdateResponse:
    outputs: dict[str, Any]


def provider_blob(provider: ResourceProvider | None = None) -> str:
    """The `__provider` value a program would register (for a `Tracker` unless told otherwise)."""
    blob = serialize_provider(provider if provider is not None else TrackerProvider())
    assert isinstance(blob, str)
    return blob


def _child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = child_environment({k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)})
    env.update(extra or {})
    return env


class EngineHarness:
    """One `python -m pulumi.dynamic` process and a gRPC stub to it, like the engine's default provider.

    Use as a context manager; `close()` stops the process. The provider process caches the
    deserialized provider per blob and calls `configure()` once, on its first use, with the
    config of the last `Configure` call: call `configure()` before any other method.
    """

    def __init__(
        self,
        *,
        project: str = DEFAULT_PROJECT,
        stack: str = "test",
        resource_name: str = "audit-trail",
        type_token: str = DEFAULT_TYPE,
        provider: ResourceProvider | None = None,
        python: str = sys.executable,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        call_timeout: float = 30.0,
        startup_timeout: float = 30.0,
    ) -> None:
        self.project = project
        self.urn = f"urn:pulumi:{stack}::{project}::{type_token}::{resource_name}"
        self.blob = provider_blob(provider)
        self.call_timeout = call_timeout
        self.transcript: list[str] = []
        self._python = python
        self._cwd = Path(cwd) if cwd is not None else None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._env = _child_env(env)
        self._startup_timeout = startup_timeout
        self._provider: DynamicProviderProcess | None = None

    # -- process lifecycle -------------------------------------------------------------------

    def start(self) -> EngineHarness:
        if self._provider is not None:
            return self
        if self._cwd is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="pulumi-cts-engine-")
            self._cwd = Path(self._tmpdir.name)
        # The same process the local runner starts: `python -u -m pulumi.dynamic`, `PULUMI_PROJECT` set.
        provider = DynamicProviderProcess(
            project=self.project,
            cwd=self._cwd,
            python=self._python,
            env=self._env,
            call_timeout=self.call_timeout,
            startup_timeout=self._startup_timeout,
        )
        try:
            self._provider = provider.start()
        except BaseException:
            self.close()
            raise
        return self

    def stderr_text(self) -> str:
        """Everything the provider process wrote to stderr so far (logs, tracebacks)."""
        return "" if self._provider is None else self._provider.stderr_text()

    def stdout_text(self) -> str:
        process = None if self._provider is None else self._provider.process
        return "" if process is None else "".join(process.stdout_lines)

    @property
    def pid(self) -> int | None:
        process = None if self._provider is None else self._provider.process
        return None if process is None else process.popen.pid

    def is_running(self) -> bool:
        process = None if self._provider is None else self._provider.process
        return process is not None and process.popen.poll() is None

    def close(self) -> None:
        provider, self._provider = self._provider, None
        if provider is not None:
            provider.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._cwd = None

    def __enter__(self) -> EngineHarness:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        if self._provider is None:
            raise RuntimeError("the engine harness is not started")
        started = time.monotonic()
        try:
            response = self._provider.call(method, request)
        except ProviderCallError as error:
            self.transcript.append(f"{method} ERROR {error.code}: {error.details}")
            raise
        self.transcript.append(f"{method} ({time.monotonic() - started:.3f}s): {response!s}")
        return response

    def _with_provider(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The program always registers `__provider`; add it when a test leaves it out."""
        result = dict(props)
        result.setdefault(PROVIDER_KEY, self.blob)
        return result

    def get_plugin_info(self) -> str:
        return str(self._call("GetPluginInfo", _empty()).version)

    def configure(self, config: Mapping[str, Any], *, secret_keys: tuple[str, ...] = ()) -> ConfigureResult:
        """Send the stack config (full `namespace:key` names); `secret_keys` are sent wrapped as secrets."""
        args = {k: (rpc.wrap_rpc_secret(v) if k in secret_keys else v) for k, v in config.items()}
        response = self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                args=to_struct(args), acceptSecrets=True, acceptResources=True, sends_old_inputs=True
            ),
        )
        return ConfigureResult(accept_secrets=response.acceptSecrets, supports_preview=response.supportsPreview)

    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResponse:
        """`olds` are the previous inputs (`{}` on create), `news` the program's inputs."""
        response = self._call(
            "Check",
            provider_pb2.CheckRequest(urn=self.urn, olds=to_struct(olds), news=to_struct(self._with_provider(news))),
        )
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckResponse(inputs=from_struct(response.inputs), failures=failures)

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], old_inputs: Mapping[str, Any] | None = None
    ) -> DiffResponse:
        """`olds` are the previous *outputs* (state), `news` the new checked inputs."""
        response = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                id=id_,
                urn=self.urn,
                olds=to_struct(olds),
                news=to_struct(self._with_provider(news)),
                old_inputs=to_struct(old_inputs or {}),
            ),
        )
        return DiffResponse(
            changes=provider_pb2.DiffResponse.DiffChanges.Name(response.changes),
            replaces=list(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
        )

    def create(self, props: Mapping[str, Any]) -> CreateResponse:
        response = self._call(
            "Create", provider_pb2.CreateRequest(urn=self.urn, properties=to_struct(self._with_provider(props)))
        )
        return CreateResponse(id=response.id, outputs=from_struct(response.properties))

    def read(self, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> ReadResponse:
        """A refresh: `props` are the previous outputs, `inputs` the previous inputs."""
        request = provider_pb2.ReadRequest(
            id=id_, urn=self.urn, properties=to_struct(props), inputs=to_struct(inputs or {})
        )
        response = self._call("Read", request)
        new_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return ReadResponse(id=response.id, outputs=from_struct(response.properties), inputs=new_inputs)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], old_inputs: Mapping[str, Any] | None = None
    ) -> UpdateResponse:
        """`olds` are the previous outputs, `news` the new checked inputs."""
        response = self._call(
            "Update",
            provider_pb2.UpdateRequest(
                id=id_,
                urn=self.urn,
                olds=to_struct(olds),
                news=to_struct(self._with_provider(news)),
                old_inputs=to_struct(old_inputs or {}),
            ),
        )
        return UpdateResponse(outputs=from_struct(response.properties))

    def delete(self, id_: str, props: Mapping[str, Any], old_inputs: Mapping[str, Any] | None = None) -> None:
        """`props` are the previous outputs."""
        self._call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=id_, urn=self.urn, properties=to_struct(props), old_inputs=to_struct(old_inputs or {})
            ),
        )
