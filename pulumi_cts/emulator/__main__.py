"""Command line entry point: `python -m pulumi_cts.emulator`; prints the base URL, serves until stopped.

With `--tls-cert` and `--tls-key` it serves HTTPS, and the printed URL starts with https. On stderr it
prints the settings that reach it, ready to paste, and one line per request (`--quiet` turns both off).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sqlite3
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from pulumi_cts.emulator.backend import RESPONSE_SHAPES, RequestRecord
from pulumi_cts.emulator.server import Emulator, EmulatorBindError, server_ssl_context

EXIT_STARTUP_FAILED = 2

# What the printed settings use when any user is accepted (no --user).
REGION = "eu-de"
DOMAIN = "demo-domain"
USER = "demo-user"
PASSWORD = "demo-password"


def _pair(kind: str) -> Callable[[str], tuple[str, str]]:
    def parse(value: str) -> tuple[str, str]:
        first, sep, second = value.partition(":")
        if not sep or not first:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {value!r}")
        return first, second

    return parse


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_cts.emulator",
        description="Local emulator of the OTC IAM token API and the CTS v1.0 and v3 APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (default 0: any free port)")
    parser.add_argument("--state", metavar="FILE", help="SQLite file that keeps the state across restarts")
    parser.add_argument(
        "--bucket", action="append", default=[], metavar="NAME", help="an OBS bucket that exists (repeatable)"
    )
    parser.add_argument(
        "--kms-key", action="append", default=[], metavar="ID", help="a KMS key id that exists (repeatable)"
    )
    parser.add_argument("--token-ttl", type=float, default=86400, metavar="SECONDS", help="token validity")
    parser.add_argument(
        "--ak",
        action="append",
        default=[],
        type=_pair("AK:SK"),
        metavar="AK:SK",
        help="verify AK/SK signatures against these pairs (repeatable; default: accept any signature)",
    )
    parser.add_argument(
        "--user",
        action="append",
        default=None,
        type=_pair("NAME:PASSWORD"),
        metavar="NAME:PASSWORD",
        help="accept only these IAM users (repeatable; default: any user and password)",
    )
    parser.add_argument(
        "--response-shape",
        choices=RESPONSE_SHAPES,
        default="flat",
        help="tracker representation: bucket fields at top level (flat) or nested in obs_info",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    parser.add_argument(
        "--quiet", action="store_true", help="print only the URL: no settings block and no line per request"
    )
    return parser


def settings_block(base_url: str, users: dict[str, str] | None, ca_cert: str | None) -> str:
    """Shell lines that point pulumi-cts at this emulator: `OS_*` variables, or the same as stack config."""
    if users:
        user = next(iter(users))
        # The password was given on the command line; it is not repeated in the console output.
        password = f"<password of --user {user}>"
    else:
        user, password = USER, PASSWORD
    settings = [
        ("OS_AUTH_URL", "authUrl", f"{base_url}/v3"),
        ("OS_REGION_NAME", "region", REGION),
        ("OS_DOMAIN_NAME", "domainName", DOMAIN),
        ("OS_USERNAME", "userName", user),
        ("OS_PASSWORD", "password", password),
    ]
    if ca_cert:
        settings.append(("OS_CACERT", "caCert", ca_cert))
    lines = ["# Settings that reach this emulator, for a shell:"]
    lines.append("export " + " ".join(f"{variable}={shlex.quote(value)}" for variable, _key, value in settings))
    lines.append("# or for a Pulumi stack:")
    for _variable, key, value in settings:
        secret = "--secret " if key == "password" else ""
        lines.append(f"pulumi config set {secret}cts:{key} {shlex.quote(value)}")
    return "\n".join(lines)


def request_line(record: RequestRecord) -> str:
    """One console line for a request the emulator answered (no headers or bodies: they carry credentials)."""
    target = f"{record.path}?{record.query}" if record.query else record.path
    outcome = "connection dropped" if record.dropped or record.status is None else str(record.status)
    fault = f" (fault {record.fault_id})" if record.fault_id else ""
    return f"cts emulator: {record.time} {record.method} {target} -> {outcome}{fault}"


def _print_request(record: RequestRecord) -> None:
    print(request_line(record), file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ssl_context: ssl.SSLContext | None = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            parser.error("--tls-cert and --tls-key go together")
        try:
            ssl_context = server_ssl_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print(
                f"cts emulator: cannot load TLS certificate {args.tls_cert} with key {args.tls_key}: {e}",
                file=sys.stderr,
                flush=True,
            )
            return EXIT_STARTUP_FAILED
    emulator = Emulator(
        buckets=args.bucket,
        kms_keys=args.kms_key,
        token_ttl=args.token_ttl,
        state_path=args.state,
        access_keys=dict(args.ak),
        users=dict(args.user) if args.user is not None else None,
        response_shape=args.response_shape,
        host=args.host,
        port=args.port,
        ssl_context=ssl_context,
    )
    try:
        emulator.start()
    except EmulatorBindError as e:
        print(f"cts emulator: {e}", file=sys.stderr, flush=True)
        return EXIT_STARTUP_FAILED
    except (sqlite3.Error, ValueError) as e:
        print(f"cts emulator: cannot open state file {args.state}: {e}", file=sys.stderr, flush=True)
        return EXIT_STARTUP_FAILED

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # Tools read this first line to find the emulator.
    print(emulator.base_url, flush=True)
    if not args.quiet:
        print(settings_block(emulator.base_url, args.user and dict(args.user), args.tls_cert), file=sys.stderr)
        print(
            "cts emulator: serving; one line per request follows (--quiet turns this off)", file=sys.stderr, flush=True
        )
        assert emulator.app is not None
        emulator.app.request_log.listeners.append(_print_request)
    try:
        stopping.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
