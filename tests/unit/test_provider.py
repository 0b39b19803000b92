"""TrackerProvider lifecycle against a fake CTS and IAM, with the shapes the engine really sends."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import requests
import requests_mock
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_cts import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    TrackerExistsError,
    TrackerProvider,
)

from .fakes import (
    CONFIG,
    OBS_INFO_RESPONSE,
    PASSWORD,
    PROJECT_ID,
    SEED_REQUEST,
    SEED_RESPONSE,
    TOKEN,
    TRACKER_URL,
    engine_inputs,
    mock_iam,
    provider,
    text_of,
    unknown,
)

SEED_INPUTS = engine_inputs(**SEED_REQUEST)


def cts_calls(mock: requests_mock.Mocker) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in mock.request_history if "/v1.0/" in r.url]


def checked(news: dict[str, Any]) -> dict[str, Any]:
    result = TrackerProvider().check({}, news)
    assert result.failures == []
    return result.inputs


def test_create_sends_the_seed_request_verbatim_and_maps_the_seed_response() -> None:
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        post = mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        result = provider().create(checked(SEED_INPUTS))

    assert iam.call_count == 1
    assert post.call_count == 1
    sent = post.last_request.json()
    assert {k: sent[k] for k in SEED_REQUEST} == SEED_REQUEST
    # Undeclared settings are sent explicitly too: a PUT or POST never leaves a field to chance.
    assert sent["lts"] == {"is_lts_enabled": False}
    assert post.last_request.headers["X-Auth-Token"] == TOKEN
    assert post.last_request.headers["Content-Type"] == "application/json"
    assert result.id == f"{PROJECT_ID}/system"
    outs = result.outs
    assert outs is not None
    assert outs["tracker_name"] == "system"
    assert outs["status"] == "enabled"
    assert outs["kms_id"] == SEED_REQUEST["kms_id"]
    assert outs["project_id"] == PROJECT_ID
    assert outs["region"] == "eu-de"
    assert "__provider" not in outs
    assert PASSWORD not in text_of(outs) and TOKEN not in text_of(outs)


def test_create_understands_the_obs_info_response_shape() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=OBS_INFO_RESPONSE)
        outs = provider().create(checked(SEED_INPUTS)).outs

    assert outs is not None
    assert outs["bucket_name"] == "obs-f1da"
    assert outs["file_prefix_name"] == "yO8Q"
    assert outs["log_file_validate"] == {"is_support_validate": True}
    assert outs["lts"]["is_lts_enabled"] is True
    assert outs["create_time"] == 1587958482923


def test_create_disabled_posts_then_puts_the_full_body_with_status() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        put = mock.put(f"{TRACKER_URL}/system", status_code=200, json={**SEED_RESPONSE, "status": "disabled"})
        outs = provider().create(checked(engine_inputs(**SEED_REQUEST, status="disabled"))).outs

    assert cts_calls(mock) == [("POST", f"/v1.0/{PROJECT_ID}/tracker"), ("PUT", f"/v1.0/{PROJECT_ID}/tracker/system")]
    body = put.last_request.json()
    assert body["status"] == "disabled"
    assert body["bucket_name"] == "obs-f1da" and body["kms_id"] == SEED_REQUEST["kms_id"]
    # The bucket was created by the POST; asking CTS to create it again would fail.
    assert body["is_obs_created"] is False
    assert outs is not None and outs["status"] == "disabled"


def test_create_when_a_tracker_exists_names_adopt_existing() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(
            TRACKER_URL,
            status_code=400,
            json={"error_code": "CTS.0201", "error_msg": "A management tracker has been created."},
            headers={"X-Request-Id": "req-123"},
        )
        with pytest.raises(TrackerExistsError) as caught:
            provider().create(checked(SEED_INPUTS))

    message = str(caught.value)
    for part in ("Creating the CTS tracker", PROJECT_ID, "HTTP 400", "CTS.0201", "req-123", "adopt_existing"):
        assert part in message
    assert PASSWORD not in message and TOKEN not in message


def test_adopt_existing_brings_the_tracker_to_the_declared_settings_without_a_post() -> None:
    existing = {**SEED_RESPONSE, "bucket_name": "old-bucket", "file_prefix_name": ""}
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, json=existing)
        post = mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        put = mock.put(f"{TRACKER_URL}/system", status_code=200, json=SEED_RESPONSE)
        result = provider().create(checked(engine_inputs(**SEED_REQUEST, adopt_existing=True)))

    assert post.call_count == 0
    assert put.last_request.json()["bucket_name"] == "obs-f1da"
    assert put.last_request.json()["is_obs_created"] is True  # it moves to a new bucket CTS should create
    assert result.outs is not None and result.outs["adopt_existing"] is True
    assert result.id == f"{PROJECT_ID}/system"


def test_lost_create_answer_is_reconciled_with_a_get_and_never_posts_twice() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(TRACKER_URL, exc=requests.exceptions.ReadTimeout)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        result = provider().create(checked(SEED_INPUTS))

    assert post.call_count == 1
    assert result.outs is not None and result.outs["bucket_name"] == "obs-f1da"


def test_lost_create_with_no_tracker_afterwards_posts_again_once() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(
            TRACKER_URL,
            [
                {"exc": requests.exceptions.ConnectionError("reset by peer")},
                {"status_code": 201, "json": SEED_RESPONSE},
            ],
        )
        mock.get(TRACKER_URL, status_code=404, json={"error_code": "CTS.0214", "error_msg": "not exist"})
        result = provider().create(checked(SEED_INPUTS))

    assert post.call_count == 2
    assert result.id == f"{PROJECT_ID}/system"


def test_create_after_a_503_looks_before_it_posts_again() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        post = mock.post(TRACKER_URL, status_code=503, json={"error_code": "CTS.0001", "error_msg": "busy"})
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        result = provider().create(checked(SEED_INPUTS))

    assert post.call_count == 1
    assert result.outs is not None and result.outs["status"] == "enabled"


def test_lost_create_answer_with_a_foreign_tracker_is_an_error_not_an_adoption() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, exc=requests.exceptions.ReadTimeout)
        mock.get(TRACKER_URL, json={**SEED_RESPONSE, "bucket_name": "someone-elses"})
        with pytest.raises(TrackerExistsError, match="adopt_existing"):
            provider().create(checked(SEED_INPUTS))


@pytest.mark.parametrize("answer", [SEED_RESPONSE, [SEED_RESPONSE], OBS_INFO_RESPONSE, {"trackers": [SEED_RESPONSE]}])
def test_read_accepts_every_documented_answer_shape(answer: Any) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        get = mock.get(TRACKER_URL, json=answer)
        result = provider().read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST, project_id=PROJECT_ID))

    assert get.last_request.qs == {"tracker_name": ["system"]}
    assert result.id == f"{PROJECT_ID}/system"
    assert result.outs is not None and result.outs["bucket_name"] == "obs-f1da"
    assert result.inputs is not None and result.inputs["bucket_name"] == "obs-f1da"


@pytest.mark.parametrize(
    ("status", "answer"),
    [(404, {"error_code": "CTS.0214", "error_msg": "The tracker does not exist."}), (200, []), (200, {"trackers": []})],
)
def test_read_of_a_deleted_tracker_returns_an_empty_id(status: int, answer: Any) -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, status_code=status, json=answer)
        result = provider().read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST))

    assert result.id == ""
    assert result.outs == {}


def test_read_shows_drift_in_outputs_and_inputs_so_the_next_diff_sees_it() -> None:
    drifted = {**SEED_RESPONSE, "status": "disabled", "bucket_name": "moved-elsewhere"}
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        created = prov.create(checked(SEED_INPUTS))
        mock.get(TRACKER_URL, json=drifted)
        read = prov.read(created.id, engine_inputs(**(created.outs or {})))

    assert read.outs is not None and read.outs["status"] == "disabled"
    assert read.inputs is not None and read.inputs["bucket_name"] == "moved-elsewhere"
    diff = prov.diff(created.id, engine_inputs(**read.outs), checked(SEED_INPUTS))
    assert diff.changes is True
    assert diff.replaces == []


def test_gateway_404_without_a_cts_code_is_an_error_not_a_deletion() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.get(TRACKER_URL, status_code=404, text="Not Found")
        with pytest.raises(ApiError, match="cts:endpoint"):
            provider().read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST))


def test_update_puts_the_complete_desired_body_even_for_one_changed_field() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        created = prov.create(checked(SEED_INPUTS))
        put = mock.put(f"{TRACKER_URL}/system", status_code=200, text="")
        get = mock.get(TRACKER_URL, json={**SEED_RESPONSE, "file_prefix_name": "new"})
        news = checked(engine_inputs(**{**SEED_REQUEST, "file_prefix_name": "new"}))
        updated = prov.update(created.id, engine_inputs(**(created.outs or {})), news)

    body = put.last_request.json()
    assert body == {
        "bucket_name": "obs-f1da",
        "file_prefix_name": "new",
        "is_obs_created": False,
        "is_support_trace_files_encryption": True,
        "kms_id": "13a4207c-7abe-4b68-8510-16b84c3b5504",
        "log_file_validate": {"is_support_validate": True},
        "lts": {"is_lts_enabled": False},
        "status": "enabled",
    }
    assert put.call_count == 1 and get.call_count == 1  # the PUT answered without a body
    assert updated.outs is not None and updated.outs["file_prefix_name"] == "new"


def test_update_of_a_tracker_deleted_behind_the_stacks_back_recreates_it() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.put(f"{TRACKER_URL}/system", status_code=404, json={"error_code": "CTS.0214", "error_msg": "gone"})
        post = mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        olds = engine_inputs(**SEED_RESPONSE, project_id=PROJECT_ID, region="eu-de")
        result = provider().update(f"{PROJECT_ID}/system", olds, checked(SEED_INPUTS))

    assert post.call_count == 1
    assert result.outs is not None and result.outs["tracker_name"] == "system"


def test_delete_of_an_already_deleted_tracker_is_not_an_error() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        delete = mock.delete(TRACKER_URL, status_code=404, json={"error_code": "CTS.0214", "error_msg": "gone"})
        provider().delete(f"{PROJECT_ID}/system", engine_inputs(**SEED_RESPONSE))

    assert delete.call_count == 1
    assert delete.last_request.qs == {"tracker_name": ["system"]}


def test_delete_failure_is_reported() -> None:
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.delete(TRACKER_URL, status_code=403, json={"error_code": "CTS.0013", "error_msg": "no permission"})
        with pytest.raises(ApiError, match="CTS Administrator"):
            provider().delete(f"{PROJECT_ID}/system", engine_inputs(**SEED_RESPONSE))


def test_a_full_lifecycle_of_several_trackers_costs_one_iam_call_per_scope() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock.register_uri("POST", requests_mock.ANY, status_code=201, json=SEED_RESPONSE)
        mock.register_uri("GET", requests_mock.ANY, json=SEED_RESPONSE)
        mock.register_uri("PUT", requests_mock.ANY, json=SEED_RESPONSE)
        mock.register_uri("DELETE", requests_mock.ANY, status_code=204)
        iam = mock_iam(mock)  # registered last, so it wins for the token URL
        for project in ("eu-de", "eu-de_one", "eu-de_two"):
            created = prov.create(checked(engine_inputs(**SEED_REQUEST, project_name=project)))
            outs = engine_inputs(**(created.outs or {}))
            prov.read(created.id, outs)
            prov.update(created.id, outs, checked(engine_inputs(**SEED_REQUEST, project_name=project)))
            prov.delete(created.id, outs)

    assert iam.call_count == 3
    scopes = sorted(r.json()["auth"]["scope"]["project"]["name"] for r in iam.request_history)
    assert scopes == ["eu-de", "eu-de_one", "eu-de_two"]


def test_401_from_cts_renews_the_token_exactly_once() -> None:
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        get = mock.get(
            TRACKER_URL,
            [
                {"status_code": 401, "json": {"error_code": "APIGW.0301", "error_msg": "expired"}},
                {"json": SEED_RESPONSE},
            ],
        )
        result = provider().read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST))

    assert result.id == f"{PROJECT_ID}/system"
    assert iam.call_count == 2
    assert get.call_count == 2


def test_a_second_401_is_reported_with_the_credential_source() -> None:
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        mock.get(TRACKER_URL, status_code=401, json={"error_code": "APIGW.0301", "error_msg": "bad token"})
        with pytest.raises(AuthenticationError) as caught:
            provider().read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST))

    assert iam.call_count == 2
    assert "stack config cts:password" in str(caught.value)
    assert PASSWORD not in str(caught.value) and TOKEN not in str(caught.value)


def test_iam_refusal_names_iam_the_user_and_the_auth_url() -> None:
    with requests_mock.Mocker() as mock:
        mock.post(
            "https://iam.eu-de.example.test/v3/auth/tokens",
            status_code=401,
            json={"error_code": "IAM.0062", "error_msg": "Incorrect password"},
        )
        with pytest.raises(AuthenticationError) as caught:
            provider().create(checked(SEED_INPUTS))

    message = str(caught.value)
    assert "IAM token" in message and "pipeline-bot" in message and "iam.eu-de.example.test" in message
    assert "IAM.0062" in message and PASSWORD not in message


def test_missing_settings_fail_at_the_first_operation_with_every_source_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("OS_USERNAME", "OS_PASSWORD", "OS_CLOUD", "OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"):
        monkeypatch.delenv(variable, raising=False)
    prov = provider({"cts:region": "eu-de", "cts:password": PASSWORD})
    with pytest.raises(ConfigurationError) as caught:
        prov.create(checked(SEED_INPUTS))

    message = str(caught.value)
    for part in ("user_name", "cts:userName", "OS_USERNAME", "domain_name", "cts:domainName", "clouds.yaml"):
        assert part in message
    assert "password:" not in message  # it is set, so it is not reported missing
    assert PASSWORD not in message


def test_serialized_provider_is_small_stable_and_holds_no_credentials() -> None:
    configured = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        configured.create(checked(SEED_INPUTS))  # live session and token in memory now

    blob = serialize_provider(configured)
    assert blob == serialize_provider(TrackerProvider())
    assert len(blob) < 512
    raw = pickle.dumps(configured)
    assert PASSWORD.encode() not in raw and TOKEN.encode() not in raw
    assert TrackerProvider.serialize_as_secret_always is False


def test_diff_against_previous_outputs_reports_no_change_for_the_same_program() -> None:
    prov = provider()
    with requests_mock.Mocker() as mock:
        mock_iam(mock)
        mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
        created = prov.create(checked(SEED_INPUTS))

    olds = engine_inputs(**(created.outs or {}))
    news = checked({**SEED_INPUTS, "__provider": "a-different-blob"})
    result = prov.diff(created.id, olds, news)
    assert result.changes is False
    assert result.replaces == []


def test_diff_with_unknowns_during_preview_means_may_change() -> None:
    olds = engine_inputs(**SEED_RESPONSE, project_id=PROJECT_ID, project_name="eu-de", region="eu-de")
    news = checked(engine_inputs(**{**SEED_REQUEST, "bucket_name": unknown()}))
    result = provider().diff(f"{PROJECT_ID}/system", olds, news)
    assert result.changes is True
    assert result.replaces == []


def test_diff_replaces_only_for_a_change_of_project() -> None:
    olds = engine_inputs(**SEED_RESPONSE, project_id=PROJECT_ID, project_name="eu-de", region="eu-de")
    prov = provider()
    moved = prov.diff(f"{PROJECT_ID}/system", olds, checked(engine_inputs(**SEED_REQUEST, project_name="eu-de_other")))
    assert moved.changes is True and moved.replaces == ["project_name"]
    same = prov.diff(f"{PROJECT_ID}/system", olds, checked(engine_inputs(**SEED_REQUEST, project_id=PROJECT_ID)))
    assert same.changes is False and same.replaces == []
    region = prov.diff(f"{PROJECT_ID}/system", olds, checked(engine_inputs(**SEED_REQUEST, region="eu-nl")))
    assert region.replaces is not None and "region" in region.replaces


def test_diff_ignores_a_status_of_error_when_enabled_is_declared() -> None:
    olds = engine_inputs(**{**SEED_RESPONSE, "status": "error", "detail": "noBucket"}, project_name="eu-de")
    result = provider().diff(f"{PROJECT_ID}/system", olds, checked(SEED_INPUTS))
    assert result.changes is False


def test_config_namespace_is_read_through_configure_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_REGION_NAME", "eu-nl")
    settings = provider().runtime.settings
    assert settings.get("region") == "eu-de"
    assert settings.source_of("region") == "stack config cts:region"
    assert CONFIG["cts:password"] not in repr(settings)


def test_iam_throttling_is_retried_within_the_budget_and_stated_when_it_runs_out() -> None:
    from .fakes import AUTH_URL, token_body

    throttled = {"status_code": 429, "json": {"error_code": "IAM.0012", "error_msg": "too many"}}
    granted = {"status_code": 201, "json": token_body(), "headers": {"X-Subject-Token": TOKEN}}
    prov = provider()
    waits: list[float] = []
    prov.runtime.factory.transport.sleep = waits.append
    with requests_mock.Mocker() as mock:
        iam = mock.post(f"{AUTH_URL}/auth/tokens", [{**throttled, "headers": {"Retry-After": "2"}}, granted])
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        prov.read(f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST))
    assert iam.call_count == 2
    assert waits and waits[0] >= 2.0

    with requests_mock.Mocker() as mock:
        iam = mock.post(f"{AUTH_URL}/auth/tokens", **throttled)
        exhausted = provider()
        with pytest.raises(AuthenticationError) as caught:
            exhausted.create(checked(SEED_INPUTS))
    assert iam.call_count == 5
    assert "IAM.0012" in str(caught.value) and "gave up after 5 tries" in str(caught.value)
    assert "throttling" in str(caught.value)


def test_shared_token_cache_directory_is_used_when_configured(tmp_path: Any) -> None:
    cache_dir = tmp_path / "tokens"
    with requests_mock.Mocker() as mock:
        iam = mock_iam(mock)
        mock.get(TRACKER_URL, json=SEED_RESPONSE)
        for _ in range(3):  # three provider processes of three pipelines
            provider({**CONFIG, "cts:tokenCache": str(cache_dir)}).read(
                f"{PROJECT_ID}/system", engine_inputs(**SEED_REQUEST)
            )
    assert iam.call_count == 1
    assert TOKEN not in "".join(p.name for p in cache_dir.rglob("*"))
