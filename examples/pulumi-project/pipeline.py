"""Deploy the example stack from a CI pipeline with the Pulumi Automation API.

Selects (or creates) a stack of the project in the repository root (its ``Pulumi.yaml`` runs this
directory's ``__main__.py``), writes the stack configuration, runs ``up`` and prints the outputs.

Provider settings come from the usual OpenStack variables of the CI job, and the password goes
into the stack configuration as a secret (encrypted with the stack's secrets provider)::

    OS_AUTH_URL       -> cts:authUrl      (optional; default IAM of the region)
    OS_REGION_NAME    -> cts:region       (required, e.g. eu-de)
    OS_DOMAIN_NAME    -> cts:domainName   (OS_USER_DOMAIN_NAME also accepted)
    OS_USERNAME       -> cts:userName
    OS_PASSWORD       -> cts:password     (secret)
    OS_PROJECT_NAME   -> cts:projectName  (optional)
    OS_CTS_ENDPOINT_OVERRIDE -> cts:endpoint (optional)

The backend and the secrets passphrase are the CLI's: set ``PULUMI_BACKEND_URL`` (or log in) and
``PULUMI_CONFIG_PASSPHRASE`` (or use a cloud secrets provider) in the job. Example::

    python examples/pulumi-project/pipeline.py --stack prod --bucket-name my-trace-bucket \\
        --kms-key-id 0d0466b0-...-e4a1 --refresh

The Pulumi CLI must be on PATH; this module imports without it, and ``main`` stops with an
explanation when it is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pulumi import automation as auto

from pulumi_cts.settings import SPECS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The directory with the ``Pulumi.yaml`` whose ``main`` is this example."""

INSTALL_HINT = (
    "The Pulumi CLI was not found on PATH. The Automation API drives the CLI, so install it first: "
    "https://www.pulumi.com/docs/install/ (for example `curl -fsSL https://get.pulumi.com | sh`), "
    "then make sure `pulumi version` works in this shell."
)


class PipelineError(Exception):
    """A problem the pipeline can explain without a traceback."""


def require_cli(which: Callable[[str], str | None] = shutil.which) -> str:
    """The path of the `pulumi` executable, or a PipelineError saying how to install it."""
    path = which("pulumi")
    if path is None:
        raise PipelineError(INSTALL_HINT)
    return path


def provider_config(environ: Mapping[str, str]) -> dict[str, auto.ConfigValue]:
    """The `cts:*` stack config from the job's `OS_*` environment, secrets marked secret.

    The variable names and what is secret come from the provider's own settings table, so this
    job stores exactly what the provider would have read from the environment.
    """
    config: dict[str, auto.ConfigValue] = {}
    for spec in SPECS:
        value = next((environ[v] for v in spec.env if environ.get(v)), None)
        if value is not None:
            config[f"cts:{spec.config_key}"] = auto.ConfigValue(value=value, secret=spec.secret)
    if "cts:region" not in config and "cts:projectName" not in config:
        raise PipelineError("set OS_REGION_NAME (or OS_PROJECT_NAME) in the environment of the job")
    return config


def program_config(args: argparse.Namespace) -> dict[str, auto.ConfigValue]:
    """The example program's own settings (namespace of the project)."""
    values: dict[str, str | None] = {
        "baseStack": args.base_stack,
        "bucketName": args.bucket_name,
        "kmsKeyId": args.kms_key_id,
        "filePrefixName": args.file_prefix_name,
        "status": args.status,
    }
    if not args.base_stack and not args.bucket_name:
        raise PipelineError("give --bucket-name, or --base-stack to take the bucket from another stack")
    return {key: auto.ConfigValue(value=value) for key, value in values.items() if value}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Deploy the CTS tracker example stack with the Automation API.")
    parser.add_argument("--stack", default="dev", help="stack name (default: dev)")
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT, help="directory containing Pulumi.yaml")
    parser.add_argument("--bucket-name", help="OBS bucket for trace files (config bucketName)")
    parser.add_argument("--base-stack", help="stack whose outputs bucketName/kmsKeyId to use (config baseStack)")
    parser.add_argument("--kms-key-id", help="KMS key id; turns trace file encryption on (config kmsKeyId)")
    parser.add_argument("--file-prefix-name", help="trace file name prefix (config filePrefixName)")
    parser.add_argument("--status", choices=("enabled", "disabled"), help="tracker status (config status)")
    parser.add_argument("--refresh", action="store_true", help="refresh the state before the update")
    parser.add_argument("--destroy", action="store_true", help="destroy the stack's resources instead of updating")
    return parser


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, object]:
    """Select or create the stack, write its config, run `up` (or `destroy`); returns the outputs."""
    require_cli()
    config = {**program_config(args), **provider_config(environ)}
    stack = auto.create_or_select_stack(stack_name=args.stack, work_dir=str(args.work_dir))
    stack.set_all_config(config)
    if args.destroy:
        stack.destroy(on_output=print)
        return {}
    result = stack.up(on_output=print, refresh=args.refresh or None)
    return {name: ("[secret]" if out.secret else out.value) for name, out in result.outputs.items()}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        outputs = run(args, os.environ if environ is None else environ)
    except PipelineError as error:
        print(f"pipeline: {error}", file=sys.stderr)
        return 2
    for name, value in sorted(outputs.items()):
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
