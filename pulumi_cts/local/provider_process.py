"""One `python -m pulumi.dynamic` server in a subprocess, called over gRPC as the Pulumi engine calls it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import grpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from .wire import from_struct, to_struct, wrap_secret


class ProviderCallError(Exception):
    """A provider call failed; `details` is what the server sent (for a provider exception, the traceback)."""

    def __init__(self, method: str, code: grpc.StatusCode | None, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        name = code.name if code is not None else "UNKNOWN"
        super().__init__(f"{method} failed with gRPC status {name}:\n{details}")

    @property
    def summary(self) -> str:
        """The last line of the details: for a Python traceback, the exception and its message."""
        lines = [line.strip() for line in self.details.splitlines() if line.strip()]
        return lines[-1] if lines else f"{self.method} failed"


@dataclass(frozen=True)
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    changes: str
    """"DIFF_SOME", "DIFF_NONE" or "DIFF_UNKNOWN"."""
    replaces: list[str]
    delete_before_replace: bool


@dataclass(frozen=True)
class ReadResult:
    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


@dataclass
class ServerProcess:
    """A subprocess that prints its port on the first stdout line, then serves; stdout keeps being drained."""

    popen: subprocess.Popen[bytes]
    stderr_file: IO[bytes]
    stdout_lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> ServerProcess:
        # Lives as long as the process: closed in stop().
        stderr_file = tempfile.TemporaryFile(prefix="pulumi-dynamic-stderr-")  # noqa: SIM115
        popen = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file, cwd=cwd, env=dict(env)
        )
        return cls(popen=popen, stderr_file=stderr_file)

    def read_port(self, timeout: float) -> int:
        stdout = self.popen.stdout
        assert stdout is not None
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = result[0].decode().strip() if result else ""
        if not line.isdigit():
            self.popen.poll()
            raise RuntimeError(
                f"{' '.join(map(str, self.popen.args))} did not print its port "  # type: ignore[arg-type]
                f"(first stdout line {line!r}, exit code {self.popen.returncode}); stderr:\n{self.stderr_text()}"
            )
        # Keep draining stdout so that provider prints can never block the server.
        threading.Thread(target=drain, args=(stdout, self.stdout_lines), daemon=True).start()
        return int(line)

    def stderr_text(self) -> str:
        handle = self.stderr_file
        if handle.closed:
            return ""
        handle.flush()
        handle.seek(0)
        return handle.read().decode(errors="replace")

    def stop(self) -> None:
        popen = self.popen
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=5)
        if popen.stdout is not None:
            popen.stdout.close()
        self.stderr_file.close()


def drain(stream: IO[bytes], lines: list[str]) -> None:
    try:
        for raw in iter(stream.readline, b""):
            lines.append(raw.decode(errors="replace"))
    except (OSError, ValueError):
        pass  # closed by stop()


def empty_message() -> Any:
    # google.protobuf ships no type information; load it untyped.
    return importlib.import_module("google.protobuf.empty_pb2").Empty()


class DynamicProviderProcess:
    """`python -m pulumi.dynamic` started as the engine starts it: in the program directory, `PULUMI_PROJECT` set."""

    def __init__(
        self,
        *,
        project: str,
        cwd: Path,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
        call_timeout: float = 120.0,
        startup_timeout: float = 30.0,
    ) -> None:
        self.project = project
        self.cwd = cwd
        self.python = python
        self.env = dict(os.environ if env is None else env)
        self.env["PULUMI_PROJECT"] = project
        self.env["PYTHONUNBUFFERED"] = "1"
        self.call_timeout = call_timeout
        self.startup_timeout = startup_timeout
        self.process: ServerProcess | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None

    def start(self) -> DynamicProviderProcess:
        if self.process is not None:
            return self
        # The engine passes its own address as the only argument; the Python server ignores it.
        self.process = ServerProcess.start(
            [self.python, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"],
            cwd=self.cwd,
            env=self.env,
        )
        try:
            port = self.process.read_port(self.startup_timeout)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
        except BaseException:
            self.close()
            raise
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def close(self) -> None:
        self._stub = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process, self.process = self.process, None
        if process is not None:
            process.stop()

    def __enter__(self) -> DynamicProviderProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stderr_text(self) -> str:
        return "" if self.process is None else self.process.stderr_text()

    def call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise RuntimeError("the dynamic provider process is not started")
        try:
            return getattr(self._stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            details = (error.details() if hasattr(error, "details") else None) or str(error)
            raise ProviderCallError(method, code, details) from None

    def configure(self, config: Mapping[str, str], secret_keys: Sequence[str] = ()) -> None:
        """All stack config, as the engine sends it to dynamic providers: secrets marked secret."""
        args = {key: (wrap_secret(value) if key in secret_keys else value) for key, value in config.items()}
        self.call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables={key: str(value) for key, value in config.items()},
                args=to_struct(args),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
            ),
        )

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckResult:
        response = self.call("Check", provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news)))
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckResult(inputs=from_struct(response.inputs), failures=failures)

    def diff(
        self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], old_inputs: Mapping[str, Any]
    ) -> DiffResult:
        response = self.call(
            "Diff",
            provider_pb2.DiffRequest(
                id=id_, urn=urn, olds=to_struct(olds), news=to_struct(news), old_inputs=to_struct(old_inputs)
            ),
        )
        return DiffResult(
            changes=provider_pb2.DiffResponse.DiffChanges.Name(response.changes),
            replaces=list(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
        )

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.call("Create", provider_pb2.CreateRequest(urn=urn, properties=to_struct(props)))
        return str(response.id), from_struct(response.properties)

    def read(self, urn: str, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any]) -> ReadResult:
        request = provider_pb2.ReadRequest(id=id_, urn=urn, properties=to_struct(props), inputs=to_struct(inputs))
        response = self.call("Read", request)
        new_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return ReadResult(id=str(response.id), outputs=from_struct(response.properties), inputs=new_inputs)

    def update(
        self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], old_inputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = self.call(
            "Update",
            provider_pb2.UpdateRequest(
                id=id_, urn=urn, olds=to_struct(olds), news=to_struct(news), old_inputs=to_struct(old_inputs)
            ),
        )
        return from_struct(response.properties)

    def delete(self, urn: str, id_: str, props: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> None:
        self.call(
            "Delete",
            provider_pb2.DeleteRequest(id=id_, urn=urn, properties=to_struct(props), old_inputs=to_struct(old_inputs)),
        )
