"""`python -m pulumi_cts.emulator`: first stdout line, clean stop on signals, bind errors, command-line options."""

from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from pulumi_cts.signing import AkSkAuth
from tests.emulator.helpers import Api, assert_error, token_body
from tests.emulator.tls import make_ca_and_server_cert
from tests.support import BUCKET, REPO_ROOT, child_environment

STARTUP_TIMEOUT = 20.0


class Cli:
    """One emulator subprocess; `url` is its first stdout line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi_cts.emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
            cwd=REPO_ROOT,
        )
        self.url = self._first_line()

    def _first_line(self) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_TIMEOUT):
                self.process.kill()
                pytest.fail("the emulator printed nothing on stdout")
        return self.process.stdout.readline().decode().rstrip("\n")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def clis() -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for cli in started:
        cli.stop(signal.SIGKILL)


def test_first_line_is_the_url_and_sigterm_stops_cleanly(clis: list[Cli]) -> None:
    cli = Cli("--bucket", BUCKET, "--kms-key", "cli-key")
    clis.append(cli)

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", cli.url), cli.url
    api = Api(cli.url)
    login = api.login()
    body = {"bucket_name": BUCKET, "is_support_trace_files_encryption": True, "kms_id": "cli-key"}
    assert api.create(login, body).status_code == 201
    api.close()
    assert cli.stop(signal.SIGTERM) == 0


def test_sigint_stops_cleanly(clis: list[Cli]) -> None:
    cli = Cli()
    clis.append(cli)
    assert requests.get(f"{cli.url}/_emulator/state", timeout=5).status_code == 200
    assert cli.stop(signal.SIGINT) == 0


def test_taken_port_exits_2_with_a_message() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]

        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pulumi_cts.emulator", "--port", str(port)],
            capture_output=True,
            env=child_environment(),
            cwd=REPO_ROOT,
            timeout=20,
        )

    assert result.returncode == 2
    assert time.monotonic() - started < 10
    assert result.stdout == b""
    message = result.stderr.decode().strip()
    assert len(message.splitlines()) == 1
    assert str(port) in message and "in use" in message.lower()


def test_unreadable_state_file_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "not-a-database"
    state.write_bytes(b"this is not sqlite" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_cts.emulator", "--state", str(state)],
        capture_output=True,
        env=child_environment(),
        cwd=REPO_ROOT,
        timeout=20,
    )
    assert result.returncode == 2
    assert str(state) in result.stderr.decode()


def test_state_file_survives_a_restart(clis: list[Cli], tmp_path: Path) -> None:
    state = str(tmp_path / "emulator.sqlite")
    first = Cli("--state", state, "--bucket", BUCKET)
    clis.append(first)
    api = Api(first.url)
    created = api.create(api.login("eu-de"), {"bucket_name": BUCKET, "file_prefix_name": "kept"}).json()
    api.close()
    assert first.stop() == 0

    second = Cli("--state", state)
    clis.append(second)
    api = Api(second.url)
    assert api.get(api.login("eu-de")).json() == created
    api.close()


def test_options_are_applied(clis: list[Cli]) -> None:
    cli = Cli(
        "--token-ttl",
        "120",
        "--user",
        "alice:pa:ss",
        "--ak",
        "AKCLI:sk-cli",
        "--response-shape",
        "obs_info",
        "--bucket",
        BUCKET,
    )
    clis.append(cli)
    api = Api(cli.url)

    assert_error(api.request_token(token_body(password="wrong")), 401, "IAM.0062")
    login = api.login(password="pa:ss")
    token = login.body["token"]
    lifetime = datetime.fromisoformat(token["expires_at"][:-1]) - datetime.fromisoformat(token["issued_at"][:-1])
    assert lifetime.total_seconds() == 120
    assert api.create(login, {"bucket_name": BUCKET}).json()["obs_info"]["bucket_name"] == BUCKET

    url = api.tracker_url(login.project_id)
    assert requests.get(url, params={"tracker_name": "system"}, auth=AkSkAuth("AKCLI", "sk-cli")).status_code == 200
    assert_error(requests.get(url, auth=AkSkAuth("AKCLI", "sk-other")), 401, "APIGW.0301")
    api.close()


def test_bad_arguments_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_cts.emulator", "--ak", "no-colon"],
        capture_output=True,
        env=child_environment(),
        cwd=REPO_ROOT,
        timeout=20,
    )
    assert result.returncode == 2
    assert b"AK:SK" in result.stderr


def test_tls_options_serve_https(clis: list[Cli], tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    cli = Cli("--tls-cert", str(cert), "--tls-key", str(key))
    clis.append(cli)

    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", cli.url), cli.url
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{cli.url}/_emulator/state", verify=str(ca), timeout=5).status_code == 200
    session.close()
    assert cli.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "not-a-cert.pem", "--tls-key", "not-a-cert.pem"], "cannot load TLS certificate"),
    ],
)
def test_tls_files_must_come_in_pairs_and_load(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "not-a-cert.pem").write_text("not a certificate")
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_cts.emulator", *args],
        capture_output=True,
        env=child_environment(),
        cwd=tmp_path,
        timeout=20,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert message in result.stderr.decode()
