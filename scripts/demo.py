#!/usr/bin/env python3
"""End-to-end demo: the example stack against the embedded CTS emulator.

    python3 scripts/dev.py demo   # creates .venv, installs the package, runs this script in it
    .venv/bin/python scripts/demo.py [--stack demo] [--state-dir DIR] [--project-dir DIR]

With the Pulumi CLI on PATH: start `python -m pulumi_cts.emulator` on a free local port, use a
file backend under `.work/pulumi-state` (through PULUMI_BACKEND_URL, so the global `pulumi login`
is untouched), create the stack, write its `cts:*` config (password as a secret), then `pulumi up`,
`pulumi stack output`, `pulumi preview --expect-no-changes` and `pulumi destroy`.

Without it (or with `--local`): the same program through the pulumi-cts local runner (state under
`.work/local-state`): up, outputs, a preview with no changes, a config change applied in place,
a change made behind the stack's back shown by refresh and put right by up, then destroy.

The emulator is stopped whatever happens, also on Ctrl-C. Only the standard library is imported
at the top; the package runs in the emulator, the Pulumi program and the local runner.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = REPO_ROOT / "examples" / "pulumi-project"
POLICY_PACK = REPO_ROOT / "policy-pack"
WORK_DIR = REPO_ROOT / ".work"
DEFAULT_STATE_DIR = WORK_DIR / "pulumi-state"

BUCKET = "demo-trace-bucket"
REGION = "eu-de"
DEMO_PASSPHRASE = "pulumi-cts-demo-passphrase"
DEMO_PASSWORD = "demo-password-not-a-secret"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_CLI = 3
EXIT_INTERRUPTED = 130

INSTALL_MESSAGE = """\
The Pulumi CLI (`pulumi`) was not found on PATH, and the demo needs it to run `pulumi up`.

Install it, open a new shell (or add ~/.pulumi/bin to PATH), and run the demo again:

    curl -fsSL https://get.pulumi.com | sh

Other ways (Homebrew, Windows, Docker, a pinned version): https://www.pulumi.com/docs/install/

Nothing was started. The tests (`python3 scripts/dev.py test`) run without the CLI.
"""


class DemoError(Exception):
    """A step failed; the message says which and why."""


def find_pulumi() -> str | None:
    return shutil.which("pulumi")


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


# -- the emulator ------------------------------------------------------------------------------


class EmulatorProcess:
    """`python -m pulumi_cts.emulator` in a subprocess; its base URL is the first line it prints."""

    def __init__(self, python: str, kms_key: str, log_path: Path) -> None:
        self.python = python
        self.kms_key = kms_key
        self.log_path = log_path
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 30.0) -> str:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w", encoding="utf-8")
        command = [
            self.python,
            "-m",
            "pulumi_cts.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--bucket",
            BUCKET,
            "--kms-key",
            self.kms_key,
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=REPO_ROOT,
        )
        first: list[str] = []
        stdout = self._process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = first[0].strip() if first else ""
        if not line.startswith("http://"):
            self.stop()
            raise DemoError(
                f"the emulator did not start (first line {line!r}); see {self.log_path}:\n{self._log_text()}"
            )
        self.base_url = line
        threading.Thread(target=self._copy_stdout, args=(stdout,), daemon=True).start()
        return line

    def _copy_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            if self._log is not None and not self._log.closed:
                self._log.write(line)

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8")[-4000:]
        except OSError:
            return ""

    def trackers(self) -> dict[str, Any]:
        """The emulator's trackers, straight from its control API."""
        with urllib.request.urlopen(f"{self.base_url}/_emulator/state", timeout=10) as answer:
            state = json.load(answer)
        trackers = state.get("trackers") or {}
        return dict(trackers) if isinstance(trackers, dict) else {str(i): t for i, t in enumerate(trackers)}

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


# -- the Pulumi CLI ------------------------------------------------------------------------------


class Pulumi:
    """Runs `pulumi` in the project directory with the demo's backend and passphrase."""

    def __init__(self, executable: str, project_dir: Path, stack: str, env: Mapping[str, str]) -> None:
        self.executable = executable
        self.project_dir = project_dir
        self.stack = stack
        self.env = dict(env)

    def run(
        self,
        *args: str,
        stdin_text: str | None = None,
        capture: bool = False,
        check: bool = True,
        shown: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = [self.executable, *args, "--cwd", str(self.project_dir), "--non-interactive"]
        print(f"$ pulumi {shown or ' '.join(args)}", flush=True)
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin_text is not None else None,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            text=True,
            env=self.env,
        )
        try:
            out, err = process.communicate(stdin_text)
        except KeyboardInterrupt:
            # After Ctrl-C, pulumi got the same signal from the terminal; after a SIGTERM sent to
            # this script only, pass it on. Then give pulumi time to cancel and save its state.
            if _terminated.is_set() and process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        result = subprocess.CompletedProcess(command, process.returncode, out, err)
        if check and result.returncode != 0:
            detail = f"\n{err}" if capture and err else ""
            raise DemoError(f"`pulumi {shown or ' '.join(args)}` failed with exit code {result.returncode}{detail}")
        return result

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        if secret:
            # Through stdin, so that the value never shows up in a process listing.
            self.run("config", "set", "--secret", key, "--stack", self.stack, stdin_text=value)
        else:
            self.run("config", "set", key, value, "--stack", self.stack)


_terminated = threading.Event()


def _on_sigterm(signum: int, frame: object) -> None:
    _terminated.set()
    raise KeyboardInterrupt


def demo_env(state_dir: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of every `pulumi` call: a local file backend, a demo passphrase, no cloud settings."""
    # The provider falls back to OS_* / CTS_* variables: a real cloud's settings must not mix in.
    env = {k: v for k, v in base.items() if not k.startswith(("OS_", "CTS_"))}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env["PULUMI_BACKEND_URL"] = state_dir.resolve().as_uri()
    env["PULUMI_CONFIG_PASSPHRASE"] = DEMO_PASSPHRASE
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    return env


def link_program_venv(project_dir: Path) -> Path | None:
    """Let the dynamic provider process find the project's virtualenv.

    The language host resolves `virtualenv: .venv` against the project root, but the engine starts
    the dynamic provider (`pulumi-resource-pulumi-python`) in the program directory, where the
    shim looks for `.venv` again (pulumi/pulumi#7061). A link from the program directory to the
    root virtualenv serves both. Returns the link when this call created it.
    """
    if project_dir.resolve() != REPO_ROOT:
        return None
    link = EXAMPLE_DIR / ".venv"
    if link.exists() or link.is_symlink():
        return None
    link.symlink_to(Path("..") / ".." / ".venv", target_is_directory=True)
    return link


def check_outputs(outputs: Mapping[str, Any]) -> None:
    tracker_id = str(outputs.get("trackerId", ""))
    if not tracker_id.endswith("/system"):
        raise DemoError(f"unexpected trackerId {tracker_id!r}")
    if outputs.get("trackerStatus") != "enabled":
        raise DemoError(f"unexpected trackerStatus {outputs.get('trackerStatus')!r}")
    if outputs.get("bucketName") != BUCKET:
        raise DemoError(f"unexpected bucketName {outputs.get('bucketName')!r}")
    if tracker_id.split("/", 1)[0] != outputs.get("trackerProjectId"):
        raise DemoError("trackerId does not name the tracker's project")


def run_demo(pulumi: Pulumi, emulator: EmulatorProcess) -> None:
    say("starting the CTS emulator")
    base_url = emulator.start()
    print(f"emulator at {base_url} (log: {emulator.log_path})", flush=True)

    say(f"stack {pulumi.stack} in {pulumi.env['PULUMI_BACKEND_URL']}")
    # A stack left over from an interrupted run points at an emulator that no longer exists.
    pulumi.run("stack", "rm", pulumi.stack, "--yes", "--force", capture=True, check=False)
    pulumi.run("stack", "select", "--create", pulumi.stack)

    say("stack configuration")
    pulumi.set_config("cts:authUrl", f"{base_url}/v3")
    pulumi.set_config("cts:region", REGION)
    pulumi.set_config("cts:domainName", "OTC-EU-DE-DEMO")
    pulumi.set_config("cts:userName", "demo-user")
    pulumi.set_config("cts:password", DEMO_PASSWORD, secret=True)
    pulumi.set_config("bucketName", BUCKET)
    pulumi.set_config("kmsKeyId", emulator.kms_key)

    say("pulumi up")
    pulumi.run("up", "--yes", "--stack", pulumi.stack)

    say("stack outputs")
    pulumi.run("stack", "output", "--stack", pulumi.stack)
    outputs = json.loads(pulumi.run("stack", "output", "--json", "--stack", pulumi.stack, capture=True).stdout)
    check_outputs(outputs)
    if len(emulator.trackers()) != 1:
        raise DemoError("the emulator has no tracker after `pulumi up`")

    say("pulumi preview --expect-no-changes (the stack matches the program)")
    pulumi.run("preview", "--expect-no-changes", "--stack", pulumi.stack)

    say("pulumi destroy")
    pulumi.run("destroy", "--yes", "--stack", pulumi.stack)
    if emulator.trackers():
        raise DemoError("the tracker is still there after `pulumi destroy`")


# -- without the Pulumi CLI: the local runner ----------------------------------------------------


def change_behind_the_stack(base_url: str, status: str) -> None:
    """What a console user would do: set the tracker's status through the emulator's CTS API."""
    identity = {
        "methods": ["password"],
        "password": {"user": {"name": "console-user", "password": "console", "domain": {"name": "demo"}}},
    }
    body = json.dumps({"auth": {"identity": identity, "scope": {"project": {"name": REGION}}}}).encode()
    request = urllib.request.Request(
        f"{base_url}/v3/auth/tokens", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = answer.headers["X-Subject-Token"]
        project_id = json.load(answer)["token"]["project"]["id"]
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    tracker_url = f"{base_url}/v1.0/{project_id}/tracker"
    with urllib.request.urlopen(
        urllib.request.Request(f"{tracker_url}?tracker_name=system", headers=headers), timeout=10
    ) as answer:
        current = json.load(answer)
    current = current[0] if isinstance(current, list) else current
    # A full body: CTS resets every field a PUT leaves out.
    writable = ("bucket_name", "file_prefix_name", "is_support_trace_files_encryption", "kms_id", "log_file_validate")
    update = {key: current[key] for key in writable if current.get(key) is not None}
    update["status"] = status
    request = urllib.request.Request(
        f"{tracker_url}/system", data=json.dumps(update).encode(), method="PUT", headers=headers
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def run_local_demo(project_dir: Path, stack_name: str, state_dir: Path, emulator: EmulatorProcess) -> None:
    from pulumi_cts.local import Analyzer, LocalStack
    from pulumi_cts.local.cli import render
    from pulumi_cts.local.state import state_path
    from pulumi_cts.policy_client import RunnerAnalyzer, start_policy_packs

    say("the Pulumi CLI is not on PATH: running the example stack with the pulumi-cts local runner")
    print(
        "(a test and demo tool that runs the program and its dynamic resources for real, without the Pulumi\n"
        " engine; real deployments use the Pulumi CLI: https://www.pulumi.com/docs/install/)",
        flush=True,
    )
    say("starting the CTS emulator")
    base_url = emulator.start()
    print(f"emulator at {base_url} (log: {emulator.log_path})", flush=True)
    # A stack left over from an interrupted run points at an emulator that no longer exists.
    state_path(state_dir, stack_name).unlink(missing_ok=True)
    config = {
        "cts:authUrl": f"{base_url}/v3",
        "cts:region": REGION,
        "cts:domainName": "OTC-EU-DE-DEMO",
        "cts:userName": "demo-user",
        "bucketName": BUCKET,
        "kmsKeyId": emulator.kms_key,
    }
    secrets = {"cts:password": DEMO_PASSWORD}

    def run(
        operation: str,
        shown: str,
        extra: Mapping[str, str] | None = None,
        analyzers: Sequence[Analyzer] = (),
        **options: bool,
    ) -> dict[str, Any]:
        stack = LocalStack(
            project_dir,
            stack_name,
            state_dir=state_dir,
            config={**config, **(extra or {})},
            secrets=secrets,
            analyzers=analyzers,
        )
        print(f"$ pulumi-cts local {shown}", flush=True)
        result = stack.run(operation, **options)
        render(result, stack_name, sys.stdout)
        sys.stdout.flush()
        if result.exit_code != 0:
            raise DemoError(f"`pulumi-cts local {shown}` failed: {result.error}")
        return result.summary

    def tracker() -> dict[str, Any]:
        found = list(emulator.trackers().values())
        if len(found) != 1:
            raise DemoError(f"the emulator has {len(found)} trackers, expected one")
        return dict(found[0])

    say("up: the tracker is created in the emulator")
    run("up", "up")
    print(f"emulator: tracker status {tracker()['status']}, bucket {tracker()['bucket_name']}", flush=True)

    say("stack outputs")
    outputs = LocalStack(project_dir, stack_name, state_dir=state_dir).outputs()
    print(json.dumps(outputs, indent=2), flush=True)
    check_outputs(outputs)

    say("preview --expect-no-changes (the stack matches the program)")
    run("preview", "preview --expect-no-changes", expect_no_changes=True)

    say("preview with the compliance policy pack (policy-pack/)")
    packs = start_policy_packs([POLICY_PACK], stack=stack_name, stack_config=config)
    try:
        checked = run("preview", "preview --policy-pack policy-pack", analyzers=[RunnerAnalyzer(p) for p in packs])
        names = [policy.name for pack in packs for policy in pack.info.policies]
    finally:
        for pack in packs:
            pack.close()
    blocking = [v for v in checked.get("policyViolations", []) if v["enforcementLevel"] == "mandatory"]
    if blocking:
        raise DemoError(f"the example stack violates mandatory policies: {blocking}")
    print(f"policy pack passed: no mandatory violation of its {len(names)} policies ({', '.join(names)})", flush=True)

    say("a config change (filePrefixName=audit) applied as an in-place update")
    changed = run("up", "up --config filePrefixName=audit", {"filePrefixName": "audit"})
    if changed["changes"]["update"] != 1 or changed["changes"]["replace"]:
        raise DemoError(f"expected one in-place update, got {changed['changes']}")
    print(f"emulator: file prefix {tracker()['file_prefix_name']}", flush=True)
    config["filePrefixName"] = "audit"

    say("a change behind the stack's back: the tracker is disabled through the emulator's CTS API")
    change_behind_the_stack(base_url, "disabled")
    print(f"emulator: tracker status {tracker()['status']}", flush=True)

    say("refresh: the drift is read into the state")
    refreshed = run("refresh", "refresh")
    if refreshed["changes"]["update"] != 1:
        raise DemoError("refresh did not see the disabled tracker")

    say("up: the program's settings are put back")
    run("up", "up")
    if tracker()["status"] != "enabled":
        raise DemoError("the tracker is still disabled after up")
    print(f"emulator: tracker status {tracker()['status']}", flush=True)

    say("destroy")
    run("destroy", "destroy")
    if emulator.trackers():
        raise DemoError("the tracker is still there after destroy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--stack", default="demo", help="stack name (default: demo)")
    parser.add_argument(
        "--project-dir", type=Path, default=REPO_ROOT, help="directory with Pulumi.yaml (default: the repository)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="file backend directory (.work/pulumi-state), or the local runner's state folder (.work/local-state)",
    )
    parser.add_argument(
        "--check-cli", action="store_true", help="only check that the Pulumi CLI is installed, then exit"
    )
    parser.add_argument(
        "--local", action="store_true", help="use the pulumi-cts local runner even when the Pulumi CLI is installed"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    executable = None if args.local else find_pulumi()
    if args.check_cli:
        if executable is None:
            print(INSTALL_MESSAGE, file=sys.stderr, end="")
            return EXIT_NO_CLI
        return EXIT_OK
    if executable is None:
        return main_local(args)

    project_dir: Path = args.project_dir.resolve()
    if project_dir == REPO_ROOT and not (REPO_ROOT / ".venv" / "bin" / "python").exists():
        print(
            "The project's virtualenv .venv does not exist yet: run `python3 scripts/dev.py demo` instead.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    emulator = EmulatorProcess(sys.executable, str(uuid.uuid4()), state_dir.resolve().parent / "emulator.log")
    pulumi = Pulumi(executable, project_dir, args.stack, demo_env(state_dir, os.environ))
    link = link_program_venv(project_dir)
    try:
        code = run_guarded(lambda: run_demo(pulumi, emulator), emulator)
    finally:
        if link is not None:
            link.unlink(missing_ok=True)
    if code == EXIT_OK:
        say("done: the tracker was created, read back unchanged and destroyed")
    return code


def run_guarded(story: Callable[[], None], emulator: EmulatorProcess) -> int:
    """Run one demo story; the emulator is stopped whatever happens. SIGTERM (e.g. from a CI runner)
    ends the story like Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        story()
    except DemoError as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        emulator.stop()
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def main_local(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir.resolve()
    state_dir: Path = args.state_dir if args.state_dir != DEFAULT_STATE_DIR else WORK_DIR / "local-state"
    emulator = EmulatorProcess(sys.executable, str(uuid.uuid4()), state_dir.resolve().parent / "emulator.log")
    started = time.monotonic()
    code = run_guarded(lambda: run_local_demo(project_dir, args.stack, state_dir, emulator), emulator)
    if code != EXIT_OK:
        return code
    say(
        "done: the tracker was created, updated in place, its drift corrected and destroyed "
        f"({time.monotonic() - started:.1f} s, local runner)"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
