"""Throwaway TLS material for tests: a CA and a server certificate for 127.0.0.1, signed by it.

`make_ca_and_server_cert(tmp_path)` needs one of:
  * the `cryptography` package (used when it can be imported), or
  * the `openssl` command line on PATH (OpenSSL 1.1.1 or later).
With neither, it calls `pytest.skip` with the reason, so a test that needs TLS is skipped, not failed.

Typical use:

    ca_pem, cert, key = make_ca_and_server_cert(tmp_path)
    with Emulator(ssl_context=server_ssl_context(str(cert), str(key))) as emulator:
        requests.get(f"{emulator.base_url}/...", verify=str(ca_pem))
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address
from pathlib import Path

import pytest

CA_NAME = "pulumi-cts test CA"
SERVER_NAME = "127.0.0.1"
VALIDITY = timedelta(days=1)

# Extensions strict verifiers (e.g. Python 3.13's VERIFY_X509_STRICT) insist on.
_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _paths(directory: Path) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


def has_cryptography() -> bool:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def make_with_cryptography(directory: Path) -> tuple[Path, Path, Path]:
    """The `cryptography` way (EC P-256 keys); raises ImportError without the package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_path, cert_path, key_path = _paths(directory)
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ip_address("127.0.0.1")),
                    x509.IPAddress(ip_address("::1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def make_with_openssl(directory: Path, openssl: str = "openssl") -> tuple[Path, Path, Path]:
    """The `openssl` command line way (EC P-256 keys); raises subprocess.CalledProcessError if a step fails."""
    ca_path, cert_path, key_path = _paths(directory)
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG)
    ca_key, csr = directory / "ca.key", directory / "server.csr"

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30)

    for key in (ca_key, key_path):
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    days = str(VALIDITY.days)
    run(
        "req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", days, "-config", str(config),
        "-extensions", "ca", "-subj", f"/CN={CA_NAME}", "-out", str(ca_path),
    )  # fmt: skip
    run("req", "-new", "-key", str(key_path), "-config", str(config), "-subj", f"/CN={SERVER_NAME}", "-out", str(csr))
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_path), "-CAkey", str(ca_key),
        "-set_serial", f"0x{secrets.token_hex(8)}", "-days", days, "-sha256",
        "-extfile", str(config), "-extensions", "server", "-out", str(cert_path),
    )  # fmt: skip
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def make_ca_and_server_cert(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Make a CA and a server certificate for 127.0.0.1 (also ::1 and localhost), valid for a day.

    Writes into `tmp_path` and returns `(ca_pem_path, cert_path, key_path)`: the CA certificate to trust
    (e.g. `requests.get(..., verify=ca_pem_path)`), and the server's PEM certificate and unencrypted PEM
    private key (e.g. for `server_ssl_context(cert_path, key_path)` or `--tls-cert/--tls-key`).
    Uses `cryptography` if importable, else the `openssl` command; skips the test if neither is there.
    """
    if has_cryptography():
        return make_with_cryptography(tmp_path)
    openssl = shutil.which("openssl")
    if openssl is not None:
        return make_with_openssl(tmp_path, openssl)
    pytest.skip("making a test certificate needs the cryptography package or the openssl command; neither is here")
