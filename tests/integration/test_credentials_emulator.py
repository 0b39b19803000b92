"""Credentials against the real emulator: several projects in one stack, AK/SK signing, `pulumi-cts doctor`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from pulumi.dynamic import Config, ConfigureRequest

from pulumi_cts import AuthenticationError, TrackerProvider
from pulumi_cts.cli import main
from pulumi_cts.emulator import Emulator
from pulumi_cts.signing import AkSkAuth
from tests.support import BUCKET, REGION, child_environment

ACCESS_KEY = "HPUAEMULATORACCESSKEY"
SECRET_KEY = "emulator-secret-key-0f9e8d7c6b5a"


@pytest.fixture
def signing_emulator() -> Iterator[Emulator]:
    """An emulator that checks SDK-HMAC-SHA256 signatures against one access key pair."""
    with Emulator(buckets=(BUCKET,), access_keys={ACCESS_KEY: SECRET_KEY}, host="127.0.0.1", port=0) as emulator:
        yield emulator


def configured(config: dict[str, Any]) -> TrackerProvider:
    provider = TrackerProvider()
    provider.configure(ConfigureRequest(Config(config, "credentials-test")))
    return provider


def inputs(provider: TrackerProvider, **fields: Any) -> dict[str, Any]:
    result = provider.check({}, {"bucket_name": BUCKET, **fields})
    assert result.failures == []
    return result.inputs


def token_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.control.requests(service="iam") if r["path"] == "/v3/auth/tokens"]


def aksk_config(emulator: Emulator, secret_key: str = SECRET_KEY) -> dict[str, Any]:
    return {
        "cts:authUrl": f"{emulator.base_url}/v3",
        "cts:region": REGION,
        "cts:accessKey": ACCESS_KEY,
        "cts:secretKey": secret_key,
        "cts:endpoint": emulator.base_url,
    }


# --- (a) one stack, three projects ---------------------------------------------------------------


def test_one_provider_manages_trackers_in_three_projects(emulator: Emulator, stack_config: dict[str, Any]) -> None:
    provider = configured(stack_config)
    scopes: list[dict[str, Any]] = [{}, {"project_name": "eu-de_audit"}, {"project_name": "eu-de_billing"}]

    created = [provider.create(inputs(provider, **scope)) for scope in scopes]
    ids = [result.id for result in created]
    outs = [result.outs or {} for result in created]
    # Everything after the create addresses the tracker by the project in its id, with the same token.
    for id_, out in zip(ids, outs, strict=True):
        refreshed = provider.read(id_, out)
        assert refreshed.id == id_
        assert refreshed.outs is not None and refreshed.outs["bucket_name"] == BUCKET
    updated = [
        provider.update(id_, out, inputs(provider, **scope, file_prefix_name="moved"))
        for id_, out, scope in zip(ids, outs, scopes, strict=True)
    ]
    assert all((u.outs or {})["file_prefix_name"] == "moved" for u in updated)

    assert len(set(ids)) == 3
    project_ids = [out["project_id"] for out in outs]
    assert ids == [f"{project_id}/system" for project_id in project_ids]
    assert [out["project_name"] for out in outs] == ["eu-de", "eu-de_audit", "eu-de_billing"]
    trackers = emulator.control.state()["trackers"]
    assert set(trackers) == set(project_ids)
    assert all(tracker["file_prefix_name"] == "moved" for tracker in trackers.values())

    tokens = token_requests(emulator)
    assert len(tokens) == 3, "one token per project scope, fetched once for the whole stack"
    assert all(record["status"] == 201 for record in tokens)

    for id_, result in zip(ids, updated, strict=True):
        provider.delete(id_, result.outs or {})
    assert emulator.control.state()["trackers"] == {}
    assert len(token_requests(emulator)) == 3


def test_changing_the_project_replaces_the_tracker(emulator: Emulator, stack_config: dict[str, Any]) -> None:
    provider = configured(stack_config)
    created = provider.create(inputs(provider, project_name="eu-de_audit"))
    assert created.outs is not None

    diff = provider.diff(created.id, created.outs, inputs(provider, project_name="eu-de_billing"))
    assert diff.changes is True
    assert diff.replaces == ["project_name"]
    same = provider.diff(created.id, created.outs, inputs(provider, project_name="eu-de_audit"))
    assert not same.replaces


# --- (b) AK/SK -----------------------------------------------------------------------------------


def test_access_keys_create_read_delete_without_a_token(signing_emulator: Emulator) -> None:
    provider = configured(aksk_config(signing_emulator))
    created = provider.create(inputs(provider))
    assert created.outs is not None and created.outs["status"] == "enabled"
    read = provider.read(created.id, created.outs)
    assert read.id == created.id
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""

    logged = signing_emulator.control.requests()
    assert token_requests(signing_emulator) == []
    lookups = [r for r in logged if r["path"] == "/v3/projects"]
    assert len(lookups) == 1, "the project id is looked up once and cached"
    cts = [r for r in logged if r["service"] == "cts"]
    assert [r["method"] for r in cts] == ["POST", "GET", "DELETE", "GET"]
    assert [r["status"] for r in cts] == [201, 200, 204, 404]
    for record in cts:
        assert record["headers"]["Authorization"] == "***"  # masked by the emulator's log
        assert "X-Sdk-Date" in record["headers"]
        assert record["headers"]["X-Project-Id"] == created.id.split("/")[0]


def test_wrong_secret_key_is_a_clear_401_naming_the_key_source(signing_emulator: Emulator) -> None:
    config = {**aksk_config(signing_emulator, "not-the-secret-key"), "cts:projectId": "0" * 32}
    provider = configured(config)
    with pytest.raises(AuthenticationError) as caught:
        provider.create(inputs(provider))

    message = str(caught.value)
    assert "HTTP 401" in message and "APIGW.0301" in message and "signature" in message
    assert "stack config cts:accessKey" in message
    assert "not-the-secret-key" not in message
    cts = signing_emulator.control.requests(service="cts")
    assert len(cts) == 1, "a rejected signature is not retried"


def test_wrong_secret_key_fails_the_project_lookup_once(signing_emulator: Emulator) -> None:
    provider = configured(aksk_config(signing_emulator, "not-the-secret-key"))
    with pytest.raises(AuthenticationError) as caught:
        provider.create(inputs(provider))

    assert "HTTP 401" in str(caught.value) and "Looking up the project id" in str(caught.value)
    logged = signing_emulator.control.requests()
    assert [r["path"] for r in logged] == ["/v3/projects"]


def test_emulator_rejects_a_signature_dated_outside_15_minutes(signing_emulator: Emulator) -> None:
    url = f"{signing_emulator.base_url}/v3/projects"
    now = datetime.now(timezone.utc)
    fresh = AkSkAuth(ACCESS_KEY, SECRET_KEY, clock=lambda: now - timedelta(minutes=14))
    stale = AkSkAuth(ACCESS_KEY, SECRET_KEY, clock=lambda: now - timedelta(minutes=16))
    with requests.Session() as session:
        accepted = session.get(url, params={"name": REGION}, auth=fresh, timeout=10)
        rejected = session.get(url, params={"name": REGION}, auth=stale, timeout=10)
    assert accepted.status_code == 200
    assert rejected.status_code == 401
    assert "expired" in rejected.json()["error_msg"]


# --- (c) doctor ----------------------------------------------------------------------------------


def write_stack(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.ci.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def test_doctor_against_the_emulator(
    emulator: Emulator,
    stack_config: dict[str, Any],
    password: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    provider = configured(stack_config)
    created = provider.create(inputs(provider, status="disabled"))
    path = write_stack(tmp_path, stack_config)

    assert main(["doctor", "--stack-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[OK]   IAM token" in out
    assert f"CTS endpoint {emulator.base_url} (from the token's service catalog)" in out
    assert f"tracker 'system' in project {created.id.split('/')[0]} (API v1.0): status disabled, bucket {BUCKET}" in out
    assert "Result: OK" in out
    assert password not in out


def test_doctor_with_access_keys_against_a_signing_emulator(
    signing_emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_SECRET_KEY", SECRET_KEY)
    config = {k: v for k, v in aksk_config(signing_emulator).items() if k != "cts:secretKey"}
    assert main(["doctor", "--stack-config", str(write_stack(tmp_path, config))]) == 0
    out = capsys.readouterr().out
    assert "signed with SDK-HMAC-SHA256" in out and "no tracker 'system'" in out
    assert SECRET_KEY not in out
    assert token_requests(signing_emulator) == []

    monkeypatch.setenv("OS_SECRET_KEY", "not-the-secret-key")
    assert main(["doctor", "--stack-config", str(write_stack(tmp_path, config))]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] access key" in out and "HTTP 401" in out and "Traceback" not in out


def run_doctor(stack_file: Path, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """`python -m pulumi_cts.cli doctor` in a process of its own, as a pipeline step runs it."""
    # The suite's isolation fixture already removed OS_*/CTS_*/S3_*.
    env = child_environment({**os.environ, **environ})
    return subprocess.run(
        [sys.executable, "-m", "pulumi_cts.cli", "doctor", "--stack-config", str(stack_file)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_runs_as_a_module_entry_point(
    emulator: Emulator, stack_config: dict[str, Any], password: str, tmp_path: Path
) -> None:
    path = write_stack(tmp_path, {k: v for k, v in stack_config.items() if k != "cts:password"})
    finished = run_doctor(path, tmp_path, OS_PASSWORD=password)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "environment OS_PASSWORD" in finished.stdout
    assert "no tracker 'system'" in finished.stdout
    assert password not in finished.stdout + finished.stderr

    failed = run_doctor(path, tmp_path, OS_PASSWORD="")
    assert failed.returncode == 1
    assert "OS_PASSWORD" in failed.stdout and "Traceback" not in failed.stdout + failed.stderr
