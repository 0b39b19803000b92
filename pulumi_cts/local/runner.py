"""`LocalStack`: preview, up, refresh, destroy and outputs of a Pulumi Python program, without the Pulumi CLI.

A test and demo tool, not a deployment engine: the program runs under the real SDK runtime in a
child process, its dynamic resources through one `python -m pulumi.dynamic` process per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import state as state_file
from .analysis import Analyzer
from .deployment import CHANGE_KINDS, Deployment, StepFailed
from .launcher import ERROR_PREFIX
from .project import Project, ProjectError, StackConfig, load_project, load_stack_config
from .provider_process import DynamicProviderProcess
from .services import LogMessage, Services
from .state import StateError
from .wire import UNKNOWN, is_secret, reveal

DEFAULT_STATE_DIR = Path(".work") / "local-state"
SECRET_MARK = "[secret]"
UNKNOWN_MARK = "[unknown]"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class LocalRunError(Exception):
    """A run failed (exit code 1): a step, the program, or changes under `expect_no_changes`."""

    def __init__(self, message: str, summary: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.summary = dict(summary)


class LocalUsageError(Exception):
    """The project, its config or the arguments cannot be used (exit code 2)."""


def shown(value: Any) -> Any:
    """A value for output: secrets as `[secret]`, preview unknowns as `[unknown]`."""
    if is_secret(value):
        return SECRET_MARK
    if value == UNKNOWN:
        return UNKNOWN_MARK
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown(item) for item in value]
    return value


@dataclass
class RunResult:
    """What one run did: the `--json` summary, its exit code, and the error message when it failed."""

    summary: dict[str, Any]
    exit_code: int = EXIT_OK
    error: str = ""
    logs: list[LogMessage] = field(default_factory=list)
    program_output: str = ""


def _program_python(project: Project) -> str:
    """The Python of the project's virtualenv (`runtime.options.virtualenv`) when it exists, else this one."""
    try:
        data = yaml.safe_load((project.root / "Pulumi.yaml").read_text(encoding="utf-8"))
        options = data.get("runtime", {}).get("options", {}) if isinstance(data.get("runtime"), dict) else {}
        virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    except (OSError, yaml.YAMLError, AttributeError):
        virtualenv = None
    if isinstance(virtualenv, str):
        candidate = project.root / virtualenv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if candidate.exists():
            return str(candidate)
    return sys.executable


class LocalStack:
    """A stack of the Pulumi project in `project_dir`, run locally; each method returns the `--json` summary."""

    def __init__(
        self,
        project_dir: str | Path = ".",
        stack: str = "dev",
        *,
        state_dir: str | Path | None = None,
        config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        stand_ins: Sequence[str] = (),
        analyzers: Sequence[Analyzer] = (),
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.project_dir = Path(project_dir)
        self.stack = stack
        self.state_dir = Path(state_dir) if state_dir is not None else self.project_dir / DEFAULT_STATE_DIR
        self.config = dict(config or {})
        self.secrets = dict(secrets or {})
        self.stand_ins = list(stand_ins)
        self.analyzers = list(analyzers)
        self.python = python
        self.env = dict(env) if env is not None else None
        self.timeout = timeout

    # -- public API -----------------------------------------------------------------------------------

    def preview(self, *, expect_no_changes: bool = False) -> dict[str, Any]:
        return self._checked(self.run("preview", expect_no_changes=expect_no_changes))

    def up(self, *, expect_no_changes: bool = False) -> dict[str, Any]:
        return self._checked(self.run("up", expect_no_changes=expect_no_changes))

    def refresh(self, *, expect_no_changes: bool = False) -> dict[str, Any]:
        return self._checked(self.run("refresh", expect_no_changes=expect_no_changes))

    def destroy(self) -> dict[str, Any]:
        return self._checked(self.run("destroy"))

    def outputs(self) -> dict[str, Any]:
        """The stack outputs as stored, secrets revealed (the `--json` summary shows them as `[secret]`)."""
        project = self._project()
        return {key: reveal(value) for key, value in self._load(project).outputs.items()}

    def state(self) -> state_file.StackState:
        return self._load(self._project())

    @staticmethod
    def _checked(result: RunResult) -> dict[str, Any]:
        if result.exit_code == EXIT_USAGE:
            raise LocalUsageError(result.error)
        if result.exit_code != EXIT_OK:
            raise LocalRunError(result.error, result.summary)
        return result.summary

    # -- a run --------------------------------------------------------------------------------------------

    def _project(self) -> Project:
        try:
            return load_project(self.project_dir)
        except ProjectError as error:
            raise LocalUsageError(str(error)) from None

    def _load(self, project: Project) -> state_file.StackState:
        try:
            return state_file.load(self.state_dir, project.name, self.stack)
        except StateError as error:
            raise LocalUsageError(str(error)) from None

    def _stack_config(self, project: Project) -> StackConfig:
        try:
            config = load_stack_config(project, self.stack, self.config, self.secrets)
        except ProjectError as error:
            raise LocalUsageError(str(error)) from None
        if config.encrypted:
            keys = ", ".join(config.encrypted)
            raise LocalUsageError(
                f"{keys} in Pulumi.{self.stack}.yaml is encrypted (secure:), which the local runner cannot "
                f"decrypt: give the value with --secret KEY=VALUE"
            )
        return config

    def output_summary(self) -> dict[str, Any]:
        project = self._project()
        return summary_of("output", [], self._load(project).outputs)

    def run(self, operation: str, *, expect_no_changes: bool = False) -> RunResult:
        """Run one operation; never raises for a failed step or program (see `RunResult.exit_code`).

        With analyzers, `up` previews first, as the Pulumi CLI does: a mandatory policy violation
        stops the run before any change (the preview's result is returned).
        """
        if operation == "up" and self.analyzers:
            checked = self._run(operation="preview", expect_no_changes=False)
            if checked.exit_code != EXIT_OK:
                return checked
        return self._run(operation, expect_no_changes=expect_no_changes)

    def _run(self, operation: str, *, expect_no_changes: bool) -> RunResult:
        try:
            project = self._project()
            config = self._stack_config(project)
            old = self._load(project)
        except LocalUsageError as error:
            return RunResult(summary=summary_of(operation, [], {}), exit_code=EXIT_USAGE, error=str(error))
        python = self.python or _program_python(project)
        environment = dict(os.environ if self.env is None else self.env)

        def start_provider() -> DynamicProviderProcess:
            provider = DynamicProviderProcess(
                project=project.name,
                cwd=project.program if project.program.is_dir() else project.program.parent,
                python=python,
                env=environment,
            ).start()
            try:
                provider.configure(config.values, sorted(config.secret_keys))
            except BaseException:
                provider.close()
                raise
            return provider

        deployment = Deployment(
            operation=operation,
            project=project.name,
            stack=self.stack,
            old=old,
            provider_factory=start_provider,
            state_dir=self.state_dir,
            stand_ins=self.stand_ins,
            analyzers=self.analyzers,
            configured_secrets=config.secret_values,
        )
        result = RunResult(summary={})
        try:
            if operation in ("preview", "up"):
                deployment.start_provider_early()
                self._run_program(project, config, deployment, python, environment, result)
            elif operation == "refresh":
                deployment.refresh()
            else:
                deployment.destroy()
        except StepFailed:
            pass  # recorded in deployment.failure
        finally:
            deployment.close()
        if deployment.failure is not None:
            result.exit_code, result.error = EXIT_FAILED, str(deployment.failure)
        outputs = deployment.outputs if operation != "destroy" else {}
        result.summary = summary_of(operation, deployment.steps, outputs, deployment)
        if result.exit_code == EXIT_OK and expect_no_changes:
            changed = [step for step in deployment.steps if step.op not in ("same", "read")]
            if changed:
                result.exit_code = EXIT_FAILED
                result.error = f"no changes were expected, but {len(changed)} step(s) would change the stack"
        return result

    def _run_program(
        self,
        project: Project,
        config: StackConfig,
        deployment: Deployment,
        python: str,
        environment: dict[str, str],
        result: RunResult,
    ) -> None:
        with Services(deployment) as services:
            child_env = dict(environment)
            child_env["PULUMI_CONFIG"] = json.dumps(config.values)
            child_env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(config.secret_keys))
            child_env["PULUMI_PROJECT"] = project.name
            child_env["PULUMI_STACK"] = self.stack
            child_env["PYTHONUNBUFFERED"] = "1"
            mode = "preview" if deployment.dry_run else "update"
            command = [
                python, "-m", "pulumi_cts.local.launcher", services.address, services.address,
                project.name, self.stack, str(project.program), mode,
            ]  # fmt: skip
            try:
                completed = subprocess.run(
                    command,
                    cwd=project.root,
                    env=child_env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                deployment.fail(f"the program did not finish within {self.timeout:.0f} seconds")
                return
            result.logs = list(services.engine.messages)
            result.program_output = completed.stdout
        if completed.returncode != 0:
            if deployment.failure is None:
                lines = [line for line in completed.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
                reason = lines[-1][len(ERROR_PREFIX) :] if lines else _last_line(completed.stderr)
                deployment.fail(f"the program failed: {reason}")
            return
        if deployment.failure is None:
            deployment.finish()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"


def summary_of(
    operation: str, steps: Sequence[Any], outputs: Mapping[str, Any], deployment: Deployment | None = None
) -> dict[str, Any]:
    changes = dict.fromkeys(CHANGE_KINDS, 0)
    for step in steps:
        if step.op in changes:
            changes[step.op] += 1
    summary: dict[str, Any] = {
        "operation": operation,
        "changes": changes,
        "outputs": {key: shown(value) for key, value in outputs.items()},
        "steps": [step.to_json() for step in steps],
    }
    if deployment is not None and deployment.analyzers:
        summary["policyViolations"] = [violation.to_json() for violation in deployment.violations]
    return summary
