"""`pulumi-cts local {preview,up,refresh,destroy,output}`: the local runner on the command line.

Human output follows the Pulumi CLI's (steps, `Resources:`, `Outputs:`); `--json` prints the run's
summary as one JSON object. Exit 0 on success, 1 when a step fails or `--expect-no-changes` sees
changes, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..policy_client import PolicyAnalyzer, PolicyPackError, RunnerAnalyzer, start_policy_packs
from .project import ProjectError, load_project, load_stack_config, parse_assignment
from .runner import DEFAULT_STATE_DIR, EXIT_OK, EXIT_USAGE, LocalStack, LocalUsageError, RunResult

BANNER = "pulumi-cts local runner (a test and demo tool, not the Pulumi engine; deploy with the Pulumi CLI)"
OPERATIONS = ("preview", "up", "refresh", "destroy", "output")
_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "+-", "read": ">", "discard": "<"}
_DONE = {"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced"}
_TO_DO = {"create": "to create", "update": "to update", "delete": "to delete", "replace": "to replace"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulumi-cts local",
        description="Run a Pulumi Python program's dynamic resources for real, without the Pulumi CLI "
        "(a test and demo tool; real deployments use the Pulumi CLI).",
    )
    parser.add_argument("operation", choices=OPERATIONS)
    parser.add_argument("--cwd", metavar="DIR", default=".", help="the project directory (with Pulumi.yaml)")
    parser.add_argument("--stack", metavar="NAME", default="dev", help="the stack (default: dev)")
    parser.add_argument(
        "--state-dir", metavar="DIR", help=f"the state folder (default: {DEFAULT_STATE_DIR} in the project directory)"
    )
    parser.add_argument("--config", metavar="KEY=VALUE", action="append", default=[], help="a plain config value")
    parser.add_argument("--secret", metavar="KEY=VALUE", action="append", default=[], help="a secret config value")
    parser.add_argument(
        "--stand-in",
        metavar="TYPE",
        action="append",
        default=[],
        help="a resource type answered with its inputs as outputs and a generated id",
    )
    parser.add_argument("--policy-pack", metavar="DIR", action="append", default=[], help="a policy pack to run")
    parser.add_argument("--policy-pack-config", metavar="FILE", help="the policy packs' config")
    parser.add_argument("--expect-no-changes", action="store_true", help="fail (exit 1) when any step changes")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render(result: RunResult, stack: str, out: TextIO) -> None:
    """The human form of a run, as the Pulumi CLI prints it."""
    summary = result.summary
    operation = summary["operation"]
    print(BANNER, file=out)
    print(f"{operation} of stack {stack}", file=out)
    for message in result.logs:
        if message.severity in ("warning", "error"):
            print(f"    {message.severity}: {message.message}", file=out)
    steps = summary["steps"]
    if steps:
        print(file=out)
    for step in steps:
        if step["op"] == "same":
            continue
        name = step["urn"].rsplit("::", 1)[-1]
        diffs = f" [diff: {' '.join('~' + d for d in step['diffs'])}]" if step["diffs"] else ""
        print(f"    {_SYMBOLS.get(step['op'], ' '):<2} {step['op']:<8} {step['type']} {name}{diffs}", file=out)
    if operation != "output":
        words = _TO_DO if operation == "preview" else _DONE
        parts = [f"{count} {words[kind]}" for kind, count in summary["changes"].items() if kind != "same" and count]
        if summary["changes"]["same"]:
            parts.append(f"{summary['changes']['same']} unchanged")
        print(f"\nResources: {', '.join(parts) if parts else 'no resources'}", file=out)
    violations = summary.get("policyViolations") or []
    if violations:
        print("\nPolicies:", file=out)
        for violation in violations:
            name = violation["urn"].rsplit("::", 1)[-1] if violation["urn"] else f"stack {stack}"
            print(
                f"    {violation['enforcementLevel']}: {violation['policyPack']}/{violation['policy']} ({name}): "
                f"{violation['message']}",
                file=out,
            )
    outputs: Mapping[str, Any] = summary["outputs"]
    if outputs:
        print("\nOutputs:", file=out)
        width = max(len(key) for key in outputs)
        for key in sorted(outputs):
            print(f"    {key:<{width}}: {_value(outputs[key])}", file=out)


def run(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.policy_pack_config and not args.policy_pack:
        print("pulumi-cts local: --policy-pack-config needs at least one --policy-pack DIR", file=err)
        return EXIT_USAGE
    try:
        config = dict(parse_assignment(item) for item in args.config)
        secrets = dict(parse_assignment(item) for item in args.secret)
    except ProjectError as error:
        print(f"pulumi-cts local: {error}", file=err)
        return EXIT_USAGE
    packs: list[PolicyAnalyzer] = []
    if args.policy_pack and args.operation in ("preview", "up"):
        try:
            # Policy packs see the plain stack config (e.g. cts:projectName, from Pulumi.<stack>.yaml or
            # --config), never the secrets.
            plain = load_stack_config(load_project(Path(args.cwd)), args.stack, config).values
            packs = start_policy_packs(
                args.policy_pack,
                args.policy_pack_config,
                stack_config=plain,
                stack=args.stack,
                dry_run=args.operation == "preview",
            )
        except (PolicyPackError, ProjectError) as error:
            print(f"pulumi-cts local: {error}", file=err)
            return EXIT_USAGE
    try:
        return _run_stack(args, config, secrets, [RunnerAnalyzer(pack) for pack in packs], out, err)
    finally:
        for pack in packs:
            pack.close()


def _run_stack(
    args: argparse.Namespace,
    config: dict[str, str],
    secrets: dict[str, str],
    analyzers: list[RunnerAnalyzer],
    out: TextIO,
    err: TextIO,
) -> int:
    project_dir = Path(args.cwd)
    stack = LocalStack(
        project_dir,
        args.stack,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        config=config,
        secrets=secrets,
        stand_ins=args.stand_in,
        analyzers=analyzers,
    )
    if args.operation == "output":
        try:
            result = RunResult(summary=stack.output_summary())
        except LocalUsageError as error:
            print(f"pulumi-cts local: {error}", file=err)
            return EXIT_USAGE
    else:
        result = stack.run(args.operation, expect_no_changes=args.expect_no_changes)
    if result.exit_code == EXIT_USAGE:
        print(f"pulumi-cts local: {result.error}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result.summary, indent=2), file=out)
    else:
        render(result, args.stack, out)
    if result.exit_code != EXIT_OK:
        print(f"error: {result.error}", file=err)
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
