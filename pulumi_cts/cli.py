"""The `pulumi-cts` command line.

`pulumi-cts doctor` resolves the provider settings exactly as `TrackerProvider` does (same `settings.resolve`,
same `CtsClientFactory` and `Transport`), shows where each one came from with secrets masked, then checks
the credential and queries the tracker. It is meant for debugging a pipeline: every line is plain ASCII,
and the exit code says whether the provider would get past authentication. With `--json` it prints one
JSON object instead (each check and its result, each setting and its source), for pipeline steps.

`pulumi-cts emulator ...` runs the local CTS + IAM emulator (`python -m pulumi_cts.emulator ...`).
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import __version__
from .auth import TokenAuth
from .client import CtsClient, CtsClientFactory
from .clouds import _TextScalarLoader
from .errors import ConfigurationError, CtsError
from .scope import Scope, resource_scope
from .settings import CLOUD_SPEC, NAMESPACE, SECRET_NAMES, SPECS, ConfigLookup, Settings, describe, resolve
from .signing import AkSkAuth
from .tracker_schema import API_VERSIONS, DEFAULT_API_VERSION, TRACKER_NAME, state_from_answer
from .transport import Transport

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "StackConfig", "UsageError", "main", "read_stack_config"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PROG = "pulumi-cts"
_OK = "[OK]  "
_FAIL = "[FAIL]"
_SKIP = "[SKIP]"


class UsageError(Exception):
    """The command line or the files it names are unusable (exit code 2)."""


@dataclass
class StackConfig:
    """The `config:` map of a `Pulumi.<stack>.yaml` file, split into what doctor can and cannot use."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    encrypted: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return self.values.get(key)


def read_stack_config(path: Path) -> StackConfig:
    """Read the plain values of a stack file; `{secure: ...}` values are listed in `encrypted`, not read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the stack config file {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise UsageError(f"the stack config file {path} is not UTF-8 text") from None
    try:
        # Keeps numbers as written (a project id such as 0123... must not become an int).
        content = yaml.load(text, Loader=_TextScalarLoader)
    except yaml.YAMLError as exc:
        # Only the position: YAML error texts quote the offending line, which may hold a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"the stack config file {path} is not valid YAML{where}") from None
    if content is None:
        content = {}
    if not isinstance(content, Mapping):
        raise UsageError(f"the stack config file {path} does not hold a mapping")
    config = content.get("config")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise UsageError(f"'config:' in the stack config file {path} is not a mapping")
    stack = StackConfig(path=path)
    for raw_key, value in config.items():
        key = str(raw_key)
        ours = key.startswith(f"{NAMESPACE}:")
        if isinstance(value, Mapping) and "secure" in value:
            if ours:
                stack.encrypted.append(key)
        elif isinstance(value, (Mapping, list)):
            if ours:
                stack.ignored.append(key)
        elif value is not None:
            stack.values[key] = value
    return stack


_KNOWN_KEYS = {f"{NAMESPACE}:{spec.config_key}": spec.env for spec in (CLOUD_SPEC, *SPECS)}
_NAME_OF_KEY = {f"{NAMESPACE}:{spec.config_key}": spec.name for spec in (CLOUD_SPEC, *SPECS)}


def _stack_name(path: Path) -> str | None:
    name = path.name
    for suffix in (".yaml", ".yml"):
        if name.startswith("Pulumi.") and name.endswith(suffix) and len(name) > len("Pulumi.") + len(suffix):
            return name[len("Pulumi.") : -len(suffix)]
    return None


def _supplied_secrets(stack: StackConfig, environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """For each encrypted key the provider reads: the variable (and value) that stands in for it here."""
    supplied: dict[str, tuple[str, str]] = {}
    for key in stack.encrypted:
        for variable in _KNOWN_KEYS.get(key, ()):
            value = (environ.get(variable) or "").strip()
            if value:
                supplied[key] = (variable, value)
                break
    return supplied


def _unknown_key_note(key: str, file_name: str) -> str:
    # Compared without the shared "cts:" prefix, which would make any two keys look alike.
    names = {known.partition(":")[2]: known for known in _KNOWN_KEYS}
    name = key.partition(":")[2]
    same_but_case = [known for short, known in names.items() if short.lower() == name.lower()]
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    suggestion = same_but_case[0] if same_but_case else (names[close[0]] if close else None)
    hint = f"did you mean {suggestion}?" if suggestion else "misspelt?"
    return f"{key} in {file_name} is not a setting pulumi-cts reads ({hint}); ignored"


def _how_to_supply(stack: StackConfig, key: str) -> str:
    stack_name = _stack_name(stack.path)
    command = f"pulumi config get {key}" + (f" --stack {stack_name}" if stack_name else "")
    env = _KNOWN_KEYS.get(key, ())
    if not env:
        return f"see it with: {command}"
    return f'provide it for this check with {" / ".join(env)}, e.g. export {env[0]}="$({command})"'


def _stack_notes(stack: StackConfig, supplied: Mapping[str, tuple[str, str]]) -> list[str]:
    """What doctor could not use from the stack file, and how to supply it."""
    notes: list[str] = []
    for key in stack.encrypted:
        if key in supplied:
            notes.append(
                f"{key} is encrypted in {stack.path.name} (secure:); doctor cannot decrypt it and checked "
                f"the value of {supplied[key][0]} in its place (the provider uses the stack value)"
            )
        elif key in _KNOWN_KEYS:
            notes.append(
                f"{key} is encrypted in {stack.path.name} (secure:) and doctor cannot decrypt it; "
                + _how_to_supply(stack, key)
            )
        else:
            notes.append(_unknown_key_note(key, stack.path.name))
    for key in stack.ignored:
        notes.append(f"{key} in {stack.path.name} is not a plain value; ignored")
    for key in stack.values:
        if key.startswith(f"{NAMESPACE}:") and key not in _KNOWN_KEYS:
            notes.append(_unknown_key_note(key, stack.path.name))
    return notes


_RESULTS = {_OK: "ok", _FAIL: "fail", _SKIP: "skip"}


class _Report:
    """Plain-ASCII output for pipeline logs; with `json_out`, the same findings as one JSON object there."""

    def __init__(self, out: TextIO, json_out: TextIO | None = None) -> None:
        self.out = io.StringIO() if json_out is not None else out
        self.json_out = json_out
        self.failure: str | None = None
        self.facts: dict[str, Any] = {"command": "doctor", "version": __version__}
        self.settings: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.checks: list[dict[str, str]] = []

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def step(self, mark: str, title: str, detail: str) -> None:
        lines = detail.splitlines() or [""]
        self.checks.append({"name": title, "result": _RESULTS[mark], "detail": detail})
        self.line(f"  {mark} {title}: {lines[0]}")
        for extra in lines[1:]:
            self.line(f"         {extra}")

    def ok(self, title: str, detail: str) -> None:
        self.step(_OK, title, detail)

    def fail(self, title: str, detail: str) -> int:
        self.step(_FAIL, title, detail)
        self.failure = title
        return EXIT_FAILED

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.line(f"  Note: {text}")

    def write_json(self, code: int) -> None:
        if self.json_out is None:
            return
        result = {
            **self.facts,
            "result": "ok" if code == EXIT_OK else "fail",
            "exit_code": code,
            "failed_check": self.failure,
            "settings": self.settings,
            "notes": self.notes,
            "checks": self.checks,
        }
        print(json.dumps(result, indent=2), file=self.json_out)

    def table(self, rows: Sequence[tuple[str, str, str]]) -> None:
        header = ("NAME", "VALUE", "SOURCE")
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(2)]
        for name, value, source in (header, *rows):
            self.line(f"  {name:<{widths[0]}}  {value:<{widths[1]}}  {source}")


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _remaining(epoch: float) -> str:
    seconds = int(epoch - datetime.now(timezone.utc).timestamp())
    if seconds <= 0:
        return "already expired"
    hours, rest = divmod(seconds, 3600)
    return f"in {hours}h{rest // 60:02d}m"


def _endpoint_origin(settings: Settings, scope: Scope, from_catalog: bool) -> str:
    if settings.endpoint_override(scope):
        return f"from {settings.source_of('endpoint')}"
    if from_catalog:
        return "from the token's service catalog"
    return "default for the region"


def _describe_method(settings: Settings) -> str:
    if settings.uses_access_keys:
        kind = "temporary access key" if settings.get("security_token") else "access key"
        return f"{kind} {settings.get('access_key')} (AK/SK signing)"
    return f"password of user {settings.get('user_name')} in domain {settings.get('domain_name')}"


def _scope_overrides(args: argparse.Namespace) -> dict[str, str]:
    pairs = {"project_name": args.project_name, "project_id": args.project_id, "region": args.region}
    return {key: value for key, value in pairs.items() if value}


def _credential_step(report: _Report, settings: Settings, scope: Scope, client: CtsClient) -> None:
    auth = client.auth
    if isinstance(auth, TokenAuth):
        token = auth.token()
        project = f"{token.project_name} ({token.project_id})" if token.project_name else token.project_id
        origin = _endpoint_origin(settings, scope, bool(token.cts_endpoint))
        report.ok(
            "IAM token",
            f"obtained from {settings.auth_url_for(scope)} for project {project}, "
            f"expires {_utc(token.expires_at)} ({_remaining(token.expires_at)})\n"
            f"CTS endpoint {client.endpoint} ({origin})",
        )
        return
    if isinstance(auth, AkSkAuth):
        if scope.project_id:
            where = (
                f"from {settings.source_of('project_id')}"
                if scope.project_id == settings.get("project_id")
                else "from --project-id"
            )
        else:
            where = (
                f"looked up with a signed GET {settings.auth_url_for(scope)}/projects?name="
                f"{scope.project_name} (signature accepted)"
            )
        token_note = "; X-Security-Token sent with each request" if settings.get("security_token") else ""
        report.ok(
            "access key",
            f"requests are signed with SDK-HMAC-SHA256, access key {auth.access_key} "
            f"(from {settings.source_of('access_key')}){token_note}\n"
            f"project id {client.project_id} ({where})\n"
            f"CTS endpoint {client.endpoint} ({_endpoint_origin(settings, scope, False)})",
        )
        return
    report.ok("credential", f"CTS client for project {client.project_id} at {client.endpoint}")


def _tracker_step(report: _Report, client: CtsClient, api_version: str) -> None:
    current = client.get_tracker(api_version)
    where = f"project {client.project_id} (API {api_version})"
    if current is None:
        report.ok("tracker query", f"no tracker '{TRACKER_NAME}' in {where} yet (the query itself succeeded)")
        return
    state = state_from_answer(current)
    detail = f"tracker '{TRACKER_NAME}' in {where}: status {state.get('status')}, bucket {state['bucket_name']}"
    if state.get("file_prefix_name"):
        detail += f", prefix {state['file_prefix_name']}"
    if state.get("detail"):
        detail += f" (detail: {state['detail']})"
    report.ok("tracker query", detail)


def _checks(report: _Report, settings: Settings, overrides: Mapping[str, str], blockers: Sequence[str]) -> int:
    if blockers:
        return report.fail("settings complete", "\n".join(blockers))
    try:
        settings.check_credentials()
        scope = resource_scope(overrides, settings.default_scope())
    except ConfigurationError as exc:
        return report.fail("settings complete", str(exc))
    api_version = settings.get("api_version") or DEFAULT_API_VERSION
    if api_version not in API_VERSIONS:
        return report.fail(
            "settings complete",
            f"api_version {api_version!r} (from {settings.source_of('api_version')}) is not one of "
            + ", ".join(API_VERSIONS),
        )
    report.ok(
        "settings complete",
        f"{_describe_method(settings)}; {scope.describe()}; IAM {settings.auth_url_for(scope)}",
    )
    if settings.get("token_cache"):
        report.line(
            f"         (the shared token cache {settings.get('token_cache')} is not used: doctor always asks IAM)"
        )

    transport = Transport(verify=settings.verify, secrets=settings.secret_values())
    factory = CtsClientFactory(settings, transport)
    title = "access key" if settings.uses_access_keys else "IAM token"
    try:
        try:
            client = factory.client_for(scope)
        except CtsError as exc:
            return report.fail(title, str(exc))
        _credential_step(report, settings, scope, client)
        try:
            _tracker_step(report, client, api_version)
        except CtsError as exc:
            return report.fail("tracker query", str(exc))
    finally:
        transport.close()
    return EXIT_OK


def _stack_lookup(stack: StackConfig | None, supplied: Mapping[str, tuple[str, str]]) -> ConfigLookup:
    """The config lookup `resolve` reads the stack file through."""

    def lookup(key: str) -> Any:
        if stack is None:
            return None
        if key in stack.encrypted:
            # Stands in for the encrypted value, so precedence and conflicts are those the provider sees.
            return supplied[key][1] if key in supplied else None
        return stack.get(key)

    return lookup


def _report_inputs(report: _Report, stack: StackConfig | None, cloud: str | None) -> None:
    """The heading: which stack file and cloud entry doctor reads."""
    report.facts.update(stack_config=str(stack.path) if stack is not None else None, cloud=cloud)
    report.line(f"{PROG} doctor")
    if stack is not None:
        report.line(f"Stack config: {stack.path}")
    else:
        report.line("Stack config: none given (--stack-config FILE); using clouds.yaml and environment only")
    if cloud:
        report.line(f"Cloud: {cloud} (--cloud, used as {NAMESPACE}:cloud)")
    report.line()


def _with_stand_in_sources(settings: Settings, supplied: Mapping[str, tuple[str, str]]) -> Settings:
    """Name both the stack key and the variable as the source of each encrypted value a variable stood in for."""
    relabelled = dict(settings.sources)
    for key, (variable, _value) in supplied.items():
        name = _NAME_OF_KEY.get(key)
        if name is not None:
            relabelled[name] = f"stack config {key} (encrypted; checked with {variable})"
    return replace(settings, sources=relabelled)


def _report_settings(report: _Report, settings: Settings, verbose: bool) -> None:
    """Each setting with its source, secrets masked; with `verbose`, what is unset and where doctor looked."""
    report.line("Settings (secrets shown as ***)")
    rows = describe(settings)
    report.settings = {
        name: {"value": shown, "source": source, "secret": name in SECRET_NAMES} for name, shown, source in rows
    }
    if rows:
        report.table(rows)
    else:
        report.line("  (none found)")
    if verbose:
        unset = [spec for spec in SPECS if settings.get(spec.name) is None]
        if unset:
            report.line("  Not set: " + ", ".join(f"{spec.name} ({NAMESPACE}:{spec.config_key})" for spec in unset))
        report.line("  Looked at:")
        for place in settings.looked_at:
            report.line(f"    - {place}")


def _report_stack_notes(report: _Report, stack: StackConfig, supplied: Mapping[str, tuple[str, str]]) -> list[str]:
    """Notes on what doctor could not use from the stack file; returns the encrypted settings that block the checks."""
    for note in _stack_notes(stack, supplied):
        report.note(note)
    return [
        f"{key} is encrypted in {stack.path} and doctor cannot decrypt it: {_how_to_supply(stack, key)}"
        for key in stack.encrypted
        if key in _KNOWN_KEYS and key not in supplied
    ]


def doctor(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    home: Path,
    out: TextIO,
) -> int:
    """Run the doctor checks; returns the exit code. Raises UsageError for an unusable stack file."""
    stack = read_stack_config(Path(args.stack_config)) if args.stack_config else None
    supplied = _supplied_secrets(stack, environ) if stack is not None else {}
    report = _Report(out, json_out=out if args.json else None)
    _report_inputs(report, stack, args.cloud)

    try:
        settings = resolve(_stack_lookup(stack, supplied), environ, cwd=cwd, home=home, cloud=args.cloud)
    except ConfigurationError as exc:
        report.line("Checks")
        code = report.fail("settings complete", str(exc))
        return _summary(report, code)
    settings = _with_stand_in_sources(settings, supplied)

    _report_settings(report, settings, args.verbose)
    blockers = _report_stack_notes(report, stack, supplied) if stack is not None else []
    report.line()

    report.line("Checks")
    code = _checks(report, settings, _scope_overrides(args), blockers)
    return _summary(report, code)


def _summary(report: _Report, code: int) -> int:
    report.line()
    if code == EXIT_OK:
        report.line("Result: OK, all checks passed")
    else:
        report.line(f"Result: FAIL ({report.failure})")
    report.write_json(code)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for the pulumi-cts provider (Cloud Trace Service trackers)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "doctor",
        help="check settings, credentials and the tracker as the provider would",
        description=(
            "Resolve the provider settings exactly as the provider does (stack config > clouds.yaml entry > "
            "OS_* environment), show where each came from (secrets masked), obtain a token or sign a request, "
            "and query the tracker. Exit 0 when all checks pass, 1 when one fails, 2 on usage errors."
        ),
    )
    check.add_argument(
        "--stack-config",
        metavar="FILE",
        help="a Pulumi.<stack>.yaml file whose config: map to read (secure: values cannot be decrypted here)",
    )
    check.add_argument("--cloud", metavar="NAME", help="clouds.yaml entry to use, as if cts:cloud were set")
    check.add_argument("--project-name", metavar="NAME", help="check this project, like a Tracker's project_name")
    check.add_argument("--project-id", metavar="ID", help="check this project, like a Tracker's project_id")
    check.add_argument("--region", metavar="REGION", help="check this region, like a Tracker's region")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="also list unset settings, every source looked at and HTTP calls"
    )
    check.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (each check and its result, each setting and its source; secrets masked)",
    )
    commands.add_parser(
        "emulator",
        help="run the local CTS + IAM emulator (same options as python -m pulumi_cts.emulator)",
        add_help=False,
    )
    commands.add_parser(
        "local",
        help="run a Pulumi Python program's dynamic resources without the Pulumi CLI (pulumi-cts local -h)",
        add_help=False,
    )
    return parser


def _run_emulator(argv: Sequence[str]) -> int:
    from .emulator.__main__ import main as emulator_main

    return emulator_main(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pulumi-cts` console script; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] == "emulator":
        return _run_emulator(arguments[1:])
    if arguments and arguments[0] == "local":
        # Imported here: the rest of this command line must not load the Pulumi SDK or gRPC.
        from .local.cli import run as run_local

        return run_local(arguments[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command != "doctor":
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    handler: logging.Handler | None = None
    http_log = logging.getLogger("pulumi_cts")
    previous_level = http_log.level
    if args.verbose:
        # Transport logs masked headers only; IAM bodies (passwords) are never logged. Under --json, stdout
        # carries the JSON object alone.
        handler = logging.StreamHandler(sys.stderr if args.json else sys.stdout)
        handler.setFormatter(logging.Formatter("    debug: %(message)s"))
        http_log.addHandler(handler)
        http_log.setLevel(logging.DEBUG)
    try:
        return doctor(args, environ=os.environ, cwd=Path.cwd(), home=Path.home(), out=sys.stdout)
    except UsageError as exc:
        print(f"{PROG} doctor: {exc}", file=sys.stderr)
        if args.json:
            print(
                json.dumps(
                    {
                        "command": "doctor",
                        "version": __version__,
                        "result": "usage error",
                        "exit_code": EXIT_USAGE,
                        "error": str(exc),
                    },
                    indent=2,
                )
            )
        return EXIT_USAGE
    except Exception as exc:
        # Not one of the errors pulumi-cts raises on purpose: show what it was, the stack trace only with -v.
        if args.json:
            report = _Report(sys.stdout, json_out=sys.stdout)
            report.fail("unexpected error", f"{type(exc).__name__}: {exc}")
            report.write_json(EXIT_FAILED)
            return EXIT_FAILED
        print(f"  {_FAIL} unexpected error: {type(exc).__name__}: {exc}", file=sys.stdout)
        if args.verbose:
            traceback.print_exc(file=sys.stdout)
        print(f"\nResult: FAIL (unexpected {type(exc).__name__})", file=sys.stdout)
        return EXIT_FAILED
    finally:
        if handler is not None:
            http_log.removeHandler(handler)
            http_log.setLevel(previous_level)


if __name__ == "__main__":
    raise SystemExit(main())
