"""TLS: certificates are verified by default, `cts:caCert` / `OS_CACERT` add a private CA, and turning
verification off takes an explicit `insecure` setting and logs a warning.

The emulator serves HTTPS with a certificate for 127.0.0.1 signed by a CA made for this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_cts import ConfigurationError, TrackerProvider, TransportError
from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import server_ssl_context
from tests.emulator.tls import make_ca_and_server_cert
from tests.reliability.conftest import (
    checked,
    make_provider,
    program,
    requests_of,
    stack_config,
    trackers,
    with_provider,
)
from tests.support import BUCKET, PASSWORD

INSECURE_WARNING = "TLS certificate verification is OFF"
ignore_insecure_request_warning = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca_and_server_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def _https_emulator(test_ca: tuple[Path, Path, Path]) -> Iterator[Emulator]:
    _ca, cert, key = test_ca
    with Emulator(buckets=(BUCKET,), ssl_context=server_ssl_context(str(cert), str(key))) as emulator:
        yield emulator


@pytest.fixture
def https_emulator(_https_emulator: Emulator) -> Emulator:
    _https_emulator.control.reset()
    return _https_emulator


@pytest.fixture
def ca_pem(test_ca: tuple[Path, Path, Path]) -> str:
    return str(test_ca[0])


@pytest.fixture(autouse=True)
def no_ambient_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """`requests` also trusts REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE; these tests are about the provider's settings."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def run_lifecycle(provider: TrackerProvider, emulator: Emulator) -> None:
    created = provider.create(checked(provider, program(file_prefix_name="tls")))
    assert created.outs is not None and created.outs["file_prefix_name"] == "tls"
    assert provider.read(created.id, with_provider(created.outs)).id == created.id
    provider.delete(created.id, with_provider(created.outs))
    assert trackers(emulator) == {}
    # Every call went over HTTPS, to the endpoint the token's catalog gave.
    assert [r["method"] for r in requests_of(emulator, "cts")] == ["POST", "GET", "DELETE"]


def assert_refused_by_verification(provider: TrackerProvider, emulator: Emulator) -> None:
    with pytest.raises(TransportError) as caught:
        provider.create(checked(provider, program()))
    message = str(caught.value)
    assert "Obtaining an IAM token" in message and f"{emulator.base_url}/v3" in message
    assert "could not be verified" in message and "cts:caCert" in message
    assert PASSWORD not in message
    # Nothing was sent: the password never went to a server that could not prove who it is.
    assert emulator.control.requests() == []


def test_https_emulator_is_https(https_emulator: Emulator) -> None:
    assert https_emulator.base_url.startswith("https://127.0.0.1:")


def test_certificates_are_verified_by_default(https_emulator: Emulator) -> None:
    provider = make_provider(stack_config(https_emulator.base_url))

    assert provider.runtime.settings.verify is True
    assert_refused_by_verification(provider, https_emulator)


def test_a_certificate_from_another_ca_is_refused(https_emulator: Emulator, tmp_path: Path) -> None:
    other_ca, _cert, _key = make_ca_and_server_cert(tmp_path / "other")
    provider = make_provider(stack_config(https_emulator.base_url, **{"cts:caCert": str(other_ca)}))

    assert_refused_by_verification(provider, https_emulator)


def test_ca_cert_from_the_stack_config_is_trusted(https_emulator: Emulator, ca_pem: str) -> None:
    provider = make_provider(stack_config(https_emulator.base_url, **{"cts:caCert": ca_pem}))

    assert provider.runtime.settings.verify == ca_pem
    run_lifecycle(provider, https_emulator)


def test_os_cacert_from_the_environment_is_trusted(
    https_emulator: Emulator, ca_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CACERT", ca_pem)
    provider = make_provider(stack_config(https_emulator.base_url))

    assert provider.runtime.settings.source_of("ca_cert") == "environment OS_CACERT"
    run_lifecycle(provider, https_emulator)


@ignore_insecure_request_warning
@pytest.mark.parametrize(
    ("setting", "source"),
    [("config", "stack config cts:insecure"), ("environment", "environment OS_INSECURE")],
)
def test_insecure_must_be_set_explicitly_and_logs_a_warning(
    https_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    setting: str,
    source: str,
) -> None:
    config = stack_config(https_emulator.base_url)
    if setting == "config":
        config["cts:insecure"] = "true"
    else:
        monkeypatch.setenv("OS_INSECURE", "1")

    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        provider = make_provider(config)

    assert provider.runtime.settings.verify is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and INSECURE_WARNING in r.getMessage()]
    assert len(warnings) == 1 and source in warnings[0].getMessage()
    run_lifecycle(provider, https_emulator)


@pytest.mark.parametrize("value", ["false", "0", "no", ""])
def test_insecure_set_to_anything_but_true_keeps_verification_on(
    https_emulator: Emulator, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    provider = make_provider(stack_config(https_emulator.base_url, **{"cts:insecure": value}))

    assert provider.runtime.settings.verify is True
    assert not [r for r in caplog.records if INSECURE_WARNING in r.getMessage()]
    assert_refused_by_verification(provider, https_emulator)


def test_insecure_together_with_a_ca_cert_is_a_configuration_error(https_emulator: Emulator, ca_pem: str) -> None:
    config = stack_config(https_emulator.base_url, **{"cts:caCert": ca_pem, "cts:insecure": "true"})
    provider = make_provider(config, policy=None)

    with pytest.raises(ConfigurationError, match="insecure is true and caCert is set"):
        provider.create(checked(provider, program()))
    assert https_emulator.control.requests() == []


# --- with an ambient CA bundle in the environment (as in many CI images and corporate machines) ----
# `requests` lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session-level `verify`; the configured
# trust must win anyway.


@pytest.fixture
def ambient_bundle(tmp_path: Path) -> str:
    """A CA bundle that does not include the emulator's CA, like a system bundle."""
    return str(make_ca_and_server_cert(tmp_path / "ambient")[0])


def test_ca_cert_wins_over_an_ambient_requests_ca_bundle(
    https_emulator: Emulator, ca_pem: str, ambient_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ambient_bundle)
    provider = make_provider(stack_config(https_emulator.base_url, **{"cts:caCert": ca_pem}))

    run_lifecycle(provider, https_emulator)


@ignore_insecure_request_warning
def test_insecure_wins_over_an_ambient_requests_ca_bundle(
    https_emulator: Emulator, ambient_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", ambient_bundle)
    provider = make_provider(stack_config(https_emulator.base_url, **{"cts:insecure": "true"}))

    run_lifecycle(provider, https_emulator)
