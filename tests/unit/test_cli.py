"""`pulumi-cts doctor` against a fake IAM and CTS: exit codes, the settings table, masked secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import yaml

from pulumi_cts.cli import main
from pulumi_cts.signing import verify_signature

from .fakes import AUTH_URL, CTS_ROOT, PASSWORD, PROJECT_ID, SEED_RESPONSE, TOKEN, TRACKER_URL, mock_iam

ENV_PASSWORD = "Env-Pa55word-for-doctor-5e1d"
ACCESS_KEY = "AKDOCTOR0000000001"
SECRET_KEY = "SK-doctor-secret-never-printed-77c2"
DOMAIN = "OTC00000000001000000001"

PLAIN_CONFIG: dict[str, Any] = {
    "cts:authUrl": AUTH_URL,
    "cts:region": "eu-de",
    "cts:domainName": DOMAIN,
    "cts:userName": "pipeline-bot",
    "cts:password": PASSWORD,
}


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def stack_file(tmp_path: Path, config: Mapping[str, Any], name: str = "Pulumi.ci.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"config": dict(config)}), encoding="utf-8")
    return path


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    code = main(["doctor", *args])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_clean(run: Run, *secrets: str) -> None:
    assert "Traceback" not in run.text
    for secret in (PASSWORD, TOKEN, ENV_PASSWORD, SECRET_KEY, *secrets):
        assert secret not in run.text


def test_all_checks_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack_file(tmp_path, PLAIN_CONFIG)
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        get = mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(path))

    assert run.code == 0, run.out
    assert iam.call_count == 1 and get.call_count == 1
    assert get.last_request.headers["X-Auth-Token"] == TOKEN
    lines = run.out.splitlines()
    password_row = next(line for line in lines if line.strip().startswith("password "))
    assert "***" in password_row and "stack config cts:password" in password_row
    user_row = next(line for line in lines if line.strip().startswith("user_name "))
    assert "pipeline-bot" in user_row and "stack config cts:userName" in user_row
    assert "[OK]   settings complete" in run.out
    assert "[OK]   IAM token" in run.out
    assert PROJECT_ID in run.out and "expires" in run.out
    assert f"CTS endpoint {CTS_ROOT} (from the token's service catalog)" in run.out
    assert "status enabled" in run.out and "bucket obs-f1da" in run.out
    assert "Result: OK" in run.out
    assert "[FAIL]" not in run.out
    assert run.out.isascii()
    assert_clean(run)


def test_sources_are_shown_per_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {k: v for k, v in PLAIN_CONFIG.items() if k not in ("cts:password", "cts:domainName")}
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"ci": {"auth": {"user_domain_name": DOMAIN}}}}), encoding="utf-8")
    monkeypatch.setenv("OS_PASSWORD", ENV_PASSWORD)
    monkeypatch.setenv("OS_CLOUD", "ci")
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config)))

    assert run.code == 0, run.out
    assert iam.last_request.json()["auth"]["identity"]["password"]["user"]["password"] == ENV_PASSWORD
    rows = {line.split()[0]: line for line in run.out.splitlines() if line.startswith("  ") and "  " in line.strip()}
    assert "environment OS_PASSWORD" in rows["password"]
    assert f"clouds.yaml {clouds} entry 'ci'" in rows["domain_name"]
    assert "environment OS_CLOUD" in rows["cloud"]
    assert "stack config cts:region" in rows["region"]
    assert_clean(run)


def test_tracker_absent_is_not_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, status_code=404, json={"error_code": "CTS.0214", "error_msg": "not found"})
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)))

    assert run.code == 0, run.out
    assert "[OK]   tracker query: no tracker 'system'" in run.out
    assert_clean(run)


def test_iam_rejects_the_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{AUTH_URL}/auth/tokens",
            status_code=401,
            json={"error_code": "IAM.0005", "error_msg": "Incorrect IAM authentication information"},
            headers={"X-Request-Id": "req-401"},
        )
        get = mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)))

    assert run.code == 1
    assert get.call_count == 0
    fail_line = next(line for line in run.out.splitlines() if "[FAIL]" in line)
    assert "IAM token" in fail_line and "HTTP 401" in fail_line and "IAM.0005" in fail_line
    assert "req-401" in fail_line and "check the user name, password" in fail_line
    assert "Result: FAIL (IAM token)" in run.out
    assert_clean(run)


def test_missing_settings_are_listed_with_every_source(capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        run = doctor(capsys)

    assert run.code == 1
    assert mock.request_history == []
    assert "[FAIL] settings complete" in run.out
    for part in ("user_name", "password", "domain_name", "region", "cts:userName", "OS_USERNAME", "OS_REGION_NAME"):
        assert part in run.out, part
    assert "clouds.yaml (not used" in run.out
    assert "Stack config: none given" in run.out
    assert_clean(run)


def test_encrypted_value_without_a_stand_in_fails_with_instructions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**PLAIN_CONFIG, "cts:password": {"secure": "AAABAJb0tTsW+encrypted=="}}
    with requests_mock.Mocker() as mock:
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config, "Pulumi.prod.yaml")))

    assert run.code == 1
    assert mock.request_history == []
    assert "cts:password is encrypted" in run.out
    assert 'export OS_PASSWORD="$(pulumi config get cts:password --stack prod)"' in run.out
    assert "AAABAJb0tTsW" not in run.out
    assert_clean(run)


def test_encrypted_value_is_checked_with_the_environment_stand_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_PASSWORD", ENV_PASSWORD)
    config = {**PLAIN_CONFIG, "cts:password": {"secure": "AAABAJb0tTsW+encrypted=="}}
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config)))

    assert run.code == 0, run.out
    assert iam.last_request.json()["auth"]["identity"]["password"]["user"]["password"] == ENV_PASSWORD
    assert "stack config cts:password (encrypted; checked with OS_PASSWORD)" in run.out
    assert_clean(run)


def test_encrypted_password_still_conflicts_with_access_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider can decrypt the password, so it would see both credentials: doctor must say so too.
    monkeypatch.setenv("OS_PASSWORD", ENV_PASSWORD)
    monkeypatch.setenv("OS_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("OS_SECRET_KEY", SECRET_KEY)
    config = {**PLAIN_CONFIG, "cts:password": {"secure": "AAAB"}}
    with requests_mock.Mocker() as mock:
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config)))

    assert run.code == 1
    assert mock.request_history == []
    assert "Conflict" in run.out and "environment OS_ACCESS_KEY" in run.out
    assert_clean(run)


def test_access_keys_sign_the_probe_and_skip_iam_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("OS_SECRET_KEY", SECRET_KEY)
    config = {"cts:authUrl": AUTH_URL, "cts:region": "eu-de", "cts:endpoint": CTS_ROOT}
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        projects = mock.get(f"{AUTH_URL}/projects", json={"projects": [{"id": PROJECT_ID, "name": "eu-de"}]})
        get = mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config)))

    assert run.code == 0, run.out
    assert iam.call_count == 0 and projects.call_count == 1
    for request in (projects.last_request, get.last_request):
        body = request.body or b""
        assert verify_signature(
            request.method,
            request.url,
            dict(request.headers),
            body if isinstance(body, bytes) else body.encode(),
            {ACCESS_KEY: SECRET_KEY}.get,
            datetime.now(timezone.utc),
        )
    assert "[OK]   access key: requests are signed with SDK-HMAC-SHA256" in run.out
    assert f"project id {PROJECT_ID} (looked up" in run.out
    assert f"CTS endpoint {CTS_ROOT} (from stack config cts:endpoint)" in run.out
    secret_row = next(line for line in run.out.splitlines() if line.strip().startswith("secret_key "))
    assert "***" in secret_row and "environment OS_SECRET_KEY" in secret_row
    assert_clean(run)


def test_cts_refusal_fails_the_tracker_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, status_code=403, json={"error_code": "CTS.0013", "error_msg": "no permission"})
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)))

    assert run.code == 1
    assert "[OK]   IAM token" in run.out
    fail_line = next(line for line in run.out.splitlines() if "[FAIL]" in line)
    assert "tracker query" in fail_line and "HTTP 403" in fail_line and "CTS Administrator" in fail_line
    assert_clean(run)


def test_project_name_option_checks_that_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other_id = f"{'eu-de_audit':x<32}"[:32]  # what the fake IAM answers for that name
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        get = mock.get(f"{CTS_ROOT}/v1.0/{other_id}/tracker", json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)), "--project-name", "eu-de_audit")

    assert run.code == 0, run.out
    assert iam.last_request.json()["auth"]["scope"]["project"] == {"name": "eu-de_audit"}
    assert get.call_count == 1
    assert "project eu-de_audit in eu-de" in run.out


def test_cloud_option_picks_the_clouds_yaml_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = {
        "region_name": "eu-de",
        "auth": {"auth_url": AUTH_URL, "username": "cloud-bot", "password": PASSWORD, "user_domain_name": DOMAIN},
    }
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"otc-ci": entry}}), encoding="utf-8")
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--cloud", "otc-ci")

    assert run.code == 0, run.out
    cloud_row = next(line for line in run.out.splitlines() if line.strip().startswith("cloud "))
    assert "otc-ci" in cloud_row and "command line --cloud" in cloud_row
    user_row = next(line for line in run.out.splitlines() if line.strip().startswith("user_name "))
    assert "cloud-bot" in user_row and "entry 'otc-ci'" in user_row
    assert_clean(run)


def test_unknown_cloud_fails_with_the_paths_looked_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        run = doctor(capsys, "--cloud", "missing")
    assert run.code == 1
    assert mock.request_history == []
    assert "'missing'" in run.out and str(tmp_path / "clouds.yaml") in run.out
    # The name came from the command line, not from the stack config.
    assert "(cloud named by command line --cloud)" in run.out and "stack config cts:cloud" not in run.out
    assert_clean(run)


def test_verbose_lists_sources_and_masked_http_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)), "-v")

    assert run.code == 0, run.out
    assert "Looked at:" in run.out and "stack config keys cts:*" in run.out
    assert "Not set:" in run.out and "access_key (cts:accessKey)" in run.out
    assert "GET " in run.out and "'X-Auth-Token': '***'" in run.out
    assert_clean(run)


def test_misspelt_stack_keys_are_pointed_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {**PLAIN_CONFIG, "cts:authURL": "https://typo.example.test", "other:key": "x"}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, config)))
    assert run.code == 0
    assert "cts:authURL in Pulumi.ci.yaml is not a setting pulumi-cts reads (did you mean cts:authUrl?)" in run.out
    assert "other:key" not in run.out


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("cts:regoin", "(did you mean cts:region?)"),
        ("cts:user_name", "(did you mean cts:userName?)"),
        ("cts:flux", "(misspelt?)"),
    ],
)
def test_misspelt_keys_get_the_closest_known_key(
    key: str, suggestion: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, {**PLAIN_CONFIG, key: "x"})))
    assert f"Note: {key} in Pulumi.ci.yaml is not a setting pulumi-cts reads {suggestion}; ignored" in run.out


@pytest.mark.parametrize(
    "argv",
    [[], ["doctor", "--no-such-option"], ["frobnicate"], ["doctor", "--stack-config", "missing.yaml"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err


def test_unreadable_stack_file_is_a_usage_error_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(f"config:\n  cts:password: {PASSWORD}\n  - [unbalanced\n", encoding="utf-8")
    assert main(["doctor", "--stack-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert "not valid YAML at line" in captured.err
    assert PASSWORD not in captured.out + captured.err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--help"]) == 0
    assert "--stack-config" in capsys.readouterr().out


def test_unknown_api_version_fails_the_settings_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTS_API_VERSION", "v2")
    with requests_mock.Mocker() as mock:
        run = doctor(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)))
    assert run.code == 1
    assert mock.request_history == []
    assert "api_version 'v2' (from environment CTS_API_VERSION)" in run.out
    assert_clean(run)


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["doctor", "--json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, json.loads(captured.out), captured.out + captured.err


def test_json_output_holds_every_check_and_setting_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {**PLAIN_CONFIG, "cts:authURL": "https://typo.example.test"}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        code, report, text = doctor_json(capsys, "--stack-config", str(stack_file(tmp_path, config)), "-v")

    assert code == 0
    assert report["command"] == "doctor" and report["result"] == "ok" and report["exit_code"] == 0
    assert report["failed_check"] is None and report["stack_config"] == str(tmp_path / "Pulumi.ci.yaml")
    assert [(c["name"], c["result"]) for c in report["checks"]] == [
        ("settings complete", "ok"),
        ("IAM token", "ok"),
        ("tracker query", "ok"),
    ]
    assert report["settings"]["region"] == {"value": "eu-de", "source": "stack config cts:region", "secret": False}
    assert report["settings"]["password"] == {"value": "***", "source": "stack config cts:password", "secret": True}
    assert any("did you mean cts:authUrl?" in note for note in report["notes"])
    for secret in (PASSWORD, TOKEN):
        assert secret not in text


def test_json_output_names_the_failed_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(f"{AUTH_URL}/auth/tokens", status_code=401, json={"error": {"code": "IAM.0005"}})
        code, report, text = doctor_json(capsys, "--stack-config", str(stack_file(tmp_path, PLAIN_CONFIG)))
    assert code == 1 and report["result"] == "fail" and report["failed_check"] == "IAM token"
    assert report["checks"][-1]["result"] == "fail" and "HTTP 401" in report["checks"][-1]["detail"]
    assert PASSWORD not in text


def test_json_output_for_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _text = doctor_json(capsys, "--stack-config", "missing.yaml")
    assert code == 2 and report["result"] == "usage error" and "missing.yaml" in report["error"]
