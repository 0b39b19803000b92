"""Secrets: a password, a secret key, a security token and the IAM tokens never leave the provider.

Each test runs a full lifecycle (failures included, HTTP debug logging on) and then searches every
channel a secret could escape through: outputs, check results, exception messages, log records,
stderr, the serialized provider and the emulator's request log.
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_cts import ApiError, AuthenticationError, TrackerExistsError, TrackerProvider
from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import EmulatorApp
from pulumi_cts.transport import SECRET_HEADERS
from tests.reliability.conftest import ServerView, checked, make_provider, program, stack_config, with_provider
from tests.support import BUCKET, KMS_KEY, OTHER_BUCKET, PASSWORD, REGION, USER

ACCESS_KEY = "HPUARELIABILITYACCESSKEY01"
SECRET_KEY = "Sk9-Rel1ab1lity-SECRET-KEY-v4Qm2"
SECURITY_TOKEN = "St3-Rel1ab1lity-SECURITY-TOKEN-p7Lx"
WRONG_PASSWORD = "Wr0ng-Rel1ab1lity-PASSWORD-h2Ty"
WRONG_SECRET_KEY = "Wr0ng-Rel1ab1lity-SECRET-KEY-c5Rd"
HTTP_LOGGER = "pulumi_cts.http"


@pytest.fixture(autouse=True)
def own_debug_handler() -> Iterator[None]:
    """`enable_debug_logging` changes the package logger for the whole process: undo it after each test,
    and make sure its stderr handler is created inside the test (so that stderr is captured)."""
    package_log = logging.getLogger("pulumi_cts")
    handlers, level = list(package_log.handlers), package_log.level
    for handler in handlers:
        package_log.removeHandler(handler)
    package_log.setLevel(logging.NOTSET)
    yield
    for handler in list(package_log.handlers):
        package_log.removeHandler(handler)
    for handler in handlers:
        package_log.addHandler(handler)
    package_log.setLevel(level)


class Exposure:
    """Everything that left the provider during a test, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *values: Any) -> None:
        for value in values:
            if isinstance(value, bytes):
                self.texts.append(value.decode("latin-1"))
            elif isinstance(value, str):
                self.texts.append(value)
            else:
                self.texts.append(json.dumps(value, default=repr))
                self.texts.append(repr(value))

    def add_error(self, error: BaseException) -> None:
        self.add(str(error), repr(error), "".join(traceback.format_exception(error)), vars(error))

    def add_provider(self, provider: TrackerProvider) -> None:
        blob = str(serialize_provider(provider))
        self.add(blob, base64.b64decode(blob), pickle.dumps(provider), repr(provider))
        self.add(repr(provider.runtime.settings), repr(provider.runtime.factory))

    def add_logs(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.add(caplog.text)
        for record in caplog.records:
            self.add(record.getMessage(), repr(record.args), repr(record.msg))
        captured = capfd.readouterr()
        self.add(captured.out, captured.err)

    def add_request_log(self, emulator: Emulator) -> None:
        self.add(json.dumps(emulator.control.requests()))

    def assert_free_of(self, *secrets: str) -> None:
        assert self.texts
        for secret in secrets:
            assert secret
            leaks = [text[:200] for text in self.texts if secret in text]
            assert not leaks, f"a secret leaked into: {leaks}"


def http_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == HTTP_LOGGER and "request-headers" in r.msg]


def logged_headers(record: logging.LogRecord) -> dict[str, str]:
    assert isinstance(record.args, tuple)
    headers = record.args[-1]
    assert isinstance(headers, dict)
    return headers


def recording(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> ServerView:
    app = emulator.app
    assert isinstance(app, EmulatorApp)
    view = ServerView()
    monkeypatch.setattr(app, "dispatch", view.wrap(app.dispatch))
    return view


def lifecycle(provider: TrackerProvider, emulator: Emulator, exposure: Exposure) -> None:
    """check, create, a refused second create, read after token expiry, update through a 503 burst,
    a read that exhausts its retries, diff, delete and a second delete."""
    good = provider.check({}, program(file_prefix_name="secrets"))
    bad = provider.check({}, program(bucket_name="Not_A_Bucket", status="paused", kms_id="x"))
    assert bad.failures
    exposure.add(good.inputs, bad.inputs, [(f.property, f.reason) for f in bad.failures])

    created = provider.create(dict(good.inputs))
    exposure.add(created.id, created.outs)
    with pytest.raises(TrackerExistsError) as exists:
        provider.create(dict(good.inputs))
    exposure.add_error(exists.value)

    emulator.control.expire_tokens()
    read = provider.read(created.id, with_provider(created.outs))
    exposure.add(read.id, read.outs, read.inputs)

    emulator.control.add_fault(service="cts", method="PUT", status=503, times=2)
    news = checked(provider, program(bucket_name=OTHER_BUCKET, is_support_trace_files_encryption=True, kms_id=KMS_KEY))
    updated = provider.update(created.id, with_provider(read.outs), news)
    exposure.add(updated.outs)

    emulator.control.add_fault(service="cts", method="GET", status=503)
    with pytest.raises(ApiError) as exhausted:
        provider.read(created.id, with_provider(updated.outs))
    exposure.add_error(exhausted.value)
    emulator.control.clear_faults()

    diff = provider.diff(created.id, with_provider(updated.outs), news)
    exposure.add(diff.changes, diff.replaces)
    provider.delete(created.id, with_provider(updated.outs))
    provider.delete(created.id, with_provider(updated.outs))
    assert emulator.control.state()["trackers"] == {}


def test_a_password_lifecycle_with_debug_logging_leaks_no_secret(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    view = recording(emulator, monkeypatch)
    caplog.set_level(logging.DEBUG)
    provider = make_provider(stack_config(emulator.base_url, **{"cts:debug": "true"}))
    exposure = Exposure()

    lifecycle(provider, emulator, exposure)

    exposure.add_provider(provider)
    exposure.add_logs(caplog, capfd)
    exposure.add_request_log(emulator)
    tokens = view.issued_tokens()
    assert len(tokens) == 2  # the first token and the one after expiry
    exposure.assert_free_of(PASSWORD, *tokens)
    # The search was over real material: the calls were logged, with the token header masked.
    records = http_records(caplog)
    assert any("/v3/auth/tokens -> 201" in r.getMessage() for r in records)
    cts_records = [r for r in records if "/v1.0/" in r.getMessage()]
    assert cts_records and all(logged_headers(r)["X-Auth-Token"] == "***" for r in cts_records)
    assert all(r["headers"].get("X-Auth-Token") == "***" for r in emulator.control.requests(service="cts"))


@pytest.fixture
def signing_emulator() -> Iterator[Emulator]:
    with Emulator(buckets=(BUCKET, OTHER_BUCKET), kms_keys=(KMS_KEY,), access_keys={ACCESS_KEY: SECRET_KEY}) as server:
        yield server


def aksk_config(emulator: Emulator, secret_key: str = SECRET_KEY) -> dict[str, str]:
    return {
        "cts:authUrl": f"{emulator.base_url}/v3",
        "cts:region": REGION,
        "cts:accessKey": ACCESS_KEY,
        "cts:secretKey": secret_key,
        "cts:securityToken": SECURITY_TOKEN,
        "cts:endpoint": emulator.base_url,
        "cts:debug": "true",
    }


def test_an_access_key_lifecycle_with_debug_logging_leaks_no_secret(
    signing_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make_provider(aksk_config(signing_emulator))
    exposure = Exposure()

    lifecycle(provider, signing_emulator, exposure)
    wrong = make_provider(aksk_config(signing_emulator, WRONG_SECRET_KEY))
    with pytest.raises(AuthenticationError) as refused:
        wrong.create(checked(wrong, program()))
    exposure.add_error(refused.value)
    assert "HTTP 401" in str(refused.value)

    exposure.add_provider(provider)
    exposure.add_provider(wrong)
    exposure.add_logs(caplog, capfd)
    exposure.add_request_log(signing_emulator)
    exposure.assert_free_of(SECRET_KEY, WRONG_SECRET_KEY, SECURITY_TOKEN)
    signed = [logged_headers(r) for r in http_records(caplog)]
    assert signed and all(h["Authorization"] == "***" and h["X-Security-Token"] == "***" for h in signed)
    logged = signing_emulator.control.requests()
    assert logged and all(r["headers"].get("Authorization") == "***" for r in logged)


def test_a_refused_password_is_not_repeated_anywhere(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with Emulator(buckets=(BUCKET,), users={USER: PASSWORD}) as emulator:
        provider = make_provider(
            {**stack_config(emulator.base_url, **{"cts:debug": "true"}), "cts:password": WRONG_PASSWORD}
        )
        exposure = Exposure()
        with pytest.raises(AuthenticationError) as refused:
            provider.create(checked(provider, program()))
        exposure.add_error(refused.value)
        exposure.add_provider(provider)
        exposure.add_logs(caplog, capfd)
        exposure.add_request_log(emulator)

    message = str(refused.value)
    assert "IAM.0062" in message and USER in message and emulator.base_url in message
    exposure.assert_free_of(WRONG_PASSWORD, PASSWORD)


def test_http_debug_logging_is_off_unless_asked_for(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    provider = make_provider(stack_config(emulator.base_url))

    created = provider.create(checked(provider, program()))
    provider.read(created.id, with_provider(created.outs))

    assert logging.getLogger(HTTP_LOGGER).getEffectiveLevel() > logging.DEBUG
    assert [r for r in caplog.records if r.name == HTTP_LOGGER] == []
    assert "pulumi_cts.http" not in capfd.readouterr().err


def test_cts_debug_environment_variable_turns_on_masked_http_logging(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CTS_DEBUG", "1")
    provider = make_provider(stack_config(emulator.base_url))

    created = provider.create(checked(provider, program()))
    provider.delete(created.id, with_provider(created.outs))

    records = http_records(caplog)
    messages = [r.getMessage() for r in records]
    assert any(m.startswith("POST ") and "/v3/auth/tokens -> 201 in " in m for m in messages)
    assert any(m.startswith("POST ") and "/tracker -> 201 in " in m for m in messages)
    assert any(m.startswith("DELETE ") and "-> 204 in " in m for m in messages)
    for record in records:
        for name, value in logged_headers(record).items():
            if name.lower() in SECRET_HEADERS:
                assert value == "***", name
    # The engine shows the provider's stderr with `pulumi up -v`: that is where the lines go.
    err = capfd.readouterr().err
    assert "pulumi-cts DEBUG pulumi_cts.http: POST " in err
    assert PASSWORD not in err and "'X-Auth-Token': '***'" in err
