"""HTTPS serving: `Emulator(ssl_context=...)`, the control client's certificate pinning, and the test certificates."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pulumi_cts.emulator import Emulator, server_ssl_context
from pulumi_cts.emulator.control_client import pinned_session
from tests.emulator import tls
from tests.emulator.helpers import Api, EmulatorFactory, Peers
from tests.emulator.tls import make_ca_and_server_cert
from tests.support import BUCKET

TlsFiles = tuple[Path, Path, Path]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca_and_server_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_emulator(make_emulator: EmulatorFactory, tls_files: TlsFiles) -> Emulator:
    _, cert, key = tls_files
    return make_emulator(ssl_context=server_ssl_context(str(cert), str(key)))


@pytest.fixture
def tls_api(tls_emulator: Emulator, tls_files: TlsFiles) -> Iterator[Api]:
    api = Api(tls_emulator.base_url)
    # Trust only the test CA: REQUESTS_CA_BUNDLE in the environment would replace a session's own verify.
    api.session.trust_env = False
    api.session.verify = str(tls_files[0])
    yield api
    api.close()


def _strict_handshake(ca: Path, port: int) -> None:
    """A TLS handshake that verifies like Python 3.13's default context (VERIFY_X509_STRICT)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls_socket,
    ):
        assert tls_socket.version() in ("TLSv1.2", "TLSv1.3")


def test_serves_https_and_the_catalog_says_so(tls_emulator: Emulator, tls_api: Api) -> None:
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", tls_emulator.base_url)

    login = tls_api.login()
    created = tls_api.v3_create(
        login, {"tracker_type": "system", "tracker_name": "system", "obs_info": {"bucket_name": BUCKET}}
    )

    urls = [entry["endpoints"][0]["url"] for entry in login.body["token"]["catalog"]]
    assert urls and all(url.startswith(f"{tls_emulator.base_url}/") for url in urls)
    assert created.status_code == 201, created.text
    # The control client pins the certificate it is served.
    assert list(tls_emulator.control.state()["trackers"]) == [login.project_id]


def test_one_https_session_keeps_one_connection(
    tls_emulator: Emulator, tls_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    peers = Peers.watch(tls_emulator, monkeypatch)
    login = tls_api.login()
    answers = [tls_api.get(login) for _ in range(20)]

    assert [a.status_code for a in answers] == [404] * 20
    assert len(peers.seen) == 21
    assert peers.connections == 1


def test_untrusted_and_plain_clients_fail_and_it_keeps_serving(tls_emulator: Emulator, tls_api: Api) -> None:
    port = tls_emulator.port
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_emulator.base_url}/_emulator/state", verify=True, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=5)

    # A client that connects and never starts the handshake holds up nobody else.
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        started = time.monotonic()
        assert tls_api.login().token
        assert time.monotonic() - started < 2


def test_the_control_client_trusts_only_the_pinned_certificate(tls_files: TlsFiles, tmp_path: Path) -> None:
    _, cert, key = tls_files
    with Emulator(ssl_context=server_ssl_context(str(cert), str(key))) as first:
        port = first.port
        session = pinned_session(first.host, port)
        assert session.get(f"{first.base_url}/_emulator/config", timeout=5).status_code == 200

    _, other_cert, other_key = make_ca_and_server_cert(tmp_path / "other")
    second = Emulator(port=port, ssl_context=server_ssl_context(str(other_cert), str(other_key)))
    with second, pytest.raises(requests.exceptions.SSLError):
        session.get(f"{second.base_url}/_emulator/config", timeout=5)
    session.close()


@pytest.mark.parametrize("way", ["cryptography", "openssl"])
def test_both_ways_of_making_certificates_verify_strictly(
    make_emulator: EmulatorFactory, tmp_path: Path, way: str
) -> None:
    if way == "cryptography":
        if not tls.has_cryptography():
            pytest.skip("the cryptography package is not installed")
        ca, cert, key = tls.make_with_cryptography(tmp_path)
    else:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("the openssl command is not on PATH")
        ca, cert, key = tls.make_with_openssl(tmp_path, openssl)

    emulator = make_emulator(ssl_context=server_ssl_context(str(cert), str(key)))

    _strict_handshake(ca, emulator.port)
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{emulator.base_url}/_emulator/config", verify=str(ca), timeout=5).status_code == 200
    session.close()
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_without_cryptography_or_openssl_the_test_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tls, "has_cryptography", lambda: False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="cryptography package or the openssl command"):
        make_ca_and_server_cert(tmp_path)


def test_a_wrong_key_is_refused_up_front(tls_files: TlsFiles, tmp_path: Path) -> None:
    _, cert, _ = tls_files
    _, _, other_key = make_ca_and_server_cert(tmp_path)
    with pytest.raises(ssl.SSLError):
        server_ssl_context(str(cert), str(other_key))
