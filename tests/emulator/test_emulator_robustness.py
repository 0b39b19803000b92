"""Hostile or odd input gets JSON 4xx answers and the emulator keeps serving; concurrent requests stay consistent."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import EmulatorApp
from pulumi_cts.emulator.urls import url_map, url_paths
from tests.emulator.helpers import TOPIC, Api, Login, assert_error, token_body
from tests.support import BUCKET


def _raw_request(emulator: Emulator, method: str, path: str) -> tuple[int, bytes]:
    """Send `path` byte for byte (requests would normalize dot segments away)."""
    parts = urlsplit(emulator.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _still_serving(api: Api) -> None:
    assert api.request_token({"auth": {}}).status_code == 400
    assert api.login().token


@pytest.fixture
def login(api: Api) -> Login:
    login = api.login()
    assert api.create(login, {"bucket_name": BUCKET}).status_code == 201
    return login


@pytest.mark.parametrize(
    "path",
    [
        "/v1.0/../../_emulator/reset",
        "/_emulator/../_emulator/reset",
        "/v1.0/%2e%2e/%2e%2e/_emulator/reset",
        "/v1.0/x/tracker/../../../_emulator/reset",
        "/../../etc/passwd",
        "/_emulator/reset/",
    ],
)
def test_path_traversal_reaches_nothing(api: Api, emulator: Emulator, login: Login, path: str) -> None:
    status, body = _raw_request(emulator, "POST", path)

    assert status == 404
    assert b'"error_code"' in body
    # The control API's reset did not run.
    assert api.get(login).status_code == 200
    _still_serving(api)


def test_unknown_routes_are_json_404(api: Api, emulator: Emulator) -> None:
    for path in ["/", "/v1.0", "/v2.0/x/tracker", "/v1.0/x/tracker/system/extra", "/v3/auth/catalog"]:
        response = requests.get(emulator.base_url + path)
        assert_error(response, 404, "APIGW.0101")
        assert response.headers["Content-Type"].startswith("application/json")
    _still_serving(api)


def test_wrong_methods_are_json_405(api: Api, emulator: Emulator, login: Login) -> None:
    patch = api.session.patch(api.tracker_url(login.project_id), headers=login.headers)
    get_token = api.session.get(f"{emulator.base_url}/v3/auth/tokens")
    post_system = api.session.post(api.tracker_url(login.project_id, "system"), headers=login.headers)

    for response in (patch, get_token, post_system):
        assert_error(response, 405, "APIGW.0101")
    assert set(patch.headers["Allow"].split(", ")) >= {"GET", "POST", "DELETE"}
    assert post_system.headers["Allow"] == "PUT"
    _still_serving(api)


def test_oversized_body_is_413(api: Api, login: Login) -> None:
    huge = b'{"bucket_name": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = api.session.post(
        api.tracker_url(login.project_id), data=huge, headers={**login.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "APIGW.0201")
    _still_serving(api)


def test_oversized_chunked_body_is_413(api: Api, login: Login) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(24):
            yield b" " * (64 * 1024)

    response = api.session.put(
        api.tracker_url(login.project_id, "system"),
        data=chunks(),
        headers={**login.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "APIGW.0201")
    assert api.get(login).json()["bucket_name"] == BUCKET
    _still_serving(api)


def test_body_just_under_the_limit_is_read(api: Api, login: Login) -> None:
    body = b'{"bucket_name": "' + BUCKET.encode() + b'", "pad": "' + b"x" * (1024 * 1024 - 100) + b'"}'
    response = api.session.put(
        api.tracker_url(login.project_id, "system"),
        data=body,
        headers={**login.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:200]


def test_garbage_on_the_socket_does_not_stop_the_server(api: Api, emulator: Emulator) -> None:
    parts = urlsplit(emulator.base_url)
    truncated = b"POST /v3/auth/tokens HTTP/1.1\r\nContent-Length: 99\r\n\r\n{"
    for payload in (b"GARBAGE\r\n\r\n", b"\x00\xff" * 100, truncated):
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                sock.recv(1024)
    # A client that connects and leaves without a word.
    socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2).close()
    _still_serving(api)


def test_every_answer_has_a_request_id(api: Api, emulator: Emulator, login: Login) -> None:
    responses = [
        api.get(login),
        api.request_token({}),
        requests.get(f"{emulator.base_url}/nowhere"),
        requests.get(f"{emulator.base_url}/_emulator/state"),
        api.delete(login),
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == len(ids)


def test_concurrent_creates_in_many_projects(api: Api, emulator: Emulator) -> None:
    def create(index: int) -> int:
        client = Api(emulator.base_url)
        try:
            login = client.login(f"eu-de_p{index}")
            return client.create(login, {"bucket_name": BUCKET, "file_prefix_name": f"p{index}"}).status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(create, range(32)))

    assert statuses == [201] * 32
    trackers = emulator.control.state()["trackers"]
    assert len(trackers) == 32
    assert {t["file_prefix_name"] for t in trackers.values()} == {f"p{i}" for i in range(32)}


def test_concurrent_creates_in_one_project_make_exactly_one_tracker(api: Api, emulator: Emulator) -> None:
    login = api.login()
    barrier = threading.Barrier(16)

    def create(index: int) -> tuple[int, str]:
        client = Api(emulator.base_url)
        try:
            barrier.wait(timeout=5)
            response = client.create(login, {"bucket_name": BUCKET, "file_prefix_name": f"p{index}"})
            return response.status_code, response.json().get("error_code", "")
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(create, range(16)))

    assert sorted(results).count((201, "")) == 1
    assert sorted(results).count((400, "CTS.0201")) == 15
    assert len(emulator.control.state()["trackers"]) == 1


def test_v3_routes_answer_json_404_and_405(api: Api, emulator: Emulator) -> None:
    login = api.login()
    get_tracker = api.v3("GET", login, "tracker")
    post_trackers = api.v3("POST", login, "trackers")
    patch_notifications = api.v3("PATCH", login, "notifications")
    for response in (get_tracker, post_trackers, patch_notifications):
        assert_error(response, 405, "APIGW.0101")
    assert set(get_tracker.headers["Allow"].split(", ")) == {"POST", "PUT"}
    assert set(post_trackers.headers["Allow"].split(", ")) >= {"GET", "DELETE"}
    for path in ["tracker/system", "traces/extra", "notifications/smn/extra", "quota"]:
        assert_error(api.v3("GET", login, path), 404, "APIGW.0101")
    _still_serving(api)


@pytest.mark.parametrize("kind", ["data tracker", "notification"])
def test_concurrent_v3_creates_of_one_name_make_exactly_one(api: Api, emulator: Emulator, kind: str) -> None:
    login = api.login()
    barrier = threading.Barrier(12)
    if kind == "data tracker":
        path, code = "tracker", "CTS.0208"
        body: dict[str, object] = {
            "tracker_type": "data",
            "tracker_name": "reads",
            "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["READ"]},
        }
    else:
        path, code = "notifications", "CTS.0400"
        body = {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC}

    def create(_: int) -> tuple[int, str]:
        client = Api(emulator.base_url)
        try:
            barrier.wait(timeout=5)
            response = client.v3("POST", login, path, body)
            return response.status_code, response.json().get("error_code", "")
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(create, range(12)))

    assert sorted(results).count((201, "")) == 1
    assert sorted(results).count((400, code)) == 11


NESTED = b"[" * 5000 + b"]" * 5000
# Every route, with a path that matches it, and whether it reads a JSON body (the others ignore one).
ROUTES = [
    ("GET", "/v3", False),
    ("POST", "/v3/auth/tokens", True),
    ("GET", "/v3/projects", False),
    ("POST", "/v1.0/{project}/tracker", True),
    ("GET", "/v1.0/{project}/tracker", False),
    ("DELETE", "/v1.0/{project}/tracker", False),
    ("PUT", "/v1.0/{project}/tracker/system", True),
    ("POST", "/v3/{project}/tracker", True),
    ("PUT", "/v3/{project}/tracker", True),
    ("GET", "/v3/{project}/trackers", False),
    ("DELETE", "/v3/{project}/trackers", False),
    ("POST", "/v3/{project}/notifications", True),
    ("PUT", "/v3/{project}/notifications", True),
    ("DELETE", "/v3/{project}/notifications", False),
    ("GET", "/v3/{project}/notifications/smn", False),
    ("GET", "/v3/{project}/traces", False),
    ("GET", "/v3/{project}/quotas", False),
    ("GET", "/v1.0/{project}/system/trace", False),
    ("GET", "/v2.0/{project}/system/trace", False),
    ("GET", "/v3/{project}/operations", False),
    ("GET", "/v3/{project}/user-resources", False),
    ("GET", "/v3/{project}/cts-tracker/tracker-id/tags", False),
    ("POST", "/v3/{project}/cts-tracker/tracker-id/tags/create", True),
    ("DELETE", "/v3/{project}/cts-tracker/tracker-id/tags/delete", True),
    ("GET", "/v3/{domain}/resources", False),
    ("POST", "/v3/{domain}/checkbucket", True),
    ("POST", "/_emulator/faults", True),
    ("POST", "/_emulator/traces", True),
    ("PUT", "/_emulator/config", True),
    ("POST", "/_emulator/buckets/nested-json-bucket", True),
    ("POST", "/_emulator/kms-keys/nested-json-key", False),
]


def _filled(path: str, login: Login) -> str:
    return path.format(project=login.project_id, domain=login.body["token"]["user"]["domain"]["id"])


def test_every_route_that_may_read_a_body_is_probed() -> None:
    adapter = url_map.bind("127.0.0.1")
    probed = {adapter.match(path.format(project="p", domain="d"), method=method)[0] for method, path, _reads in ROUTES}
    # Reset and token expiry read no body; removing a rule or a key is a DELETE without one.
    bodiless = {"control.reset", "control.expire_tokens", "control.remove_fault", "control.remove_kms_key"}
    control_reads = {e for _p, m, e in url_paths if e.startswith("control.") and m in {"POST", "PUT"}}
    api = {e for _p, _m, e in url_paths if not e.startswith("control.")}
    assert (api | control_reads) - bodiless <= probed


@pytest.mark.parametrize("with_token", [False, True], ids=["no token", "token"])
@pytest.mark.parametrize(("method", "path", "reads_body"), ROUTES, ids=[f"{m} {p}" for m, p, _r in ROUTES])
def test_deeply_nested_json_is_a_json_client_error_and_logged(
    api: Api,
    emulator: Emulator,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    reads_body: bool,
    with_token: bool,
) -> None:
    login = api.login()
    # A tracker to update, so that a PUT gets as far as reading its body.
    assert api.create(login, {"bucket_name": BUCKET}).status_code == 201
    emulator.control.clear_requests()
    headers = {"Content-Type": "application/json", **(login.headers if with_token else {})}
    response = api.session.request(
        method, emulator.base_url + _filled(path, login), data=NESTED, headers=headers, timeout=10
    )

    control = path.startswith("/_emulator/")
    # CTS checks the token before it reads a body; IAM and the control API need none.
    needs_token = not control and path not in {"/v3", "/v3/auth/tokens"}
    if needs_token and not with_token:
        assert response.status_code == 401, response.text[:300]
    elif reads_body:
        assert response.status_code == 400, response.text[:300]
    else:
        assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        assert isinstance(body["error_msg"], str) and body["error_msg"]
        assert isinstance(body.get("error_code", "control"), str)
    if not control:
        logged = [r for r in emulator.control.requests() if r["path"] == _filled(path, login)]
        assert [(r["method"], r["status"]) for r in logged] == [(method, response.status_code)]
    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    _still_serving(api)


def test_a_failure_of_the_emulator_itself_is_a_json_500_without_a_traceback(
    api: Api,
    emulator: Emulator,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = emulator.app
    assert isinstance(app, EmulatorApp)
    login = api.login()

    def broken_handler(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a fault in a handler")

    def broken_log(_record: object) -> None:
        raise RuntimeError("a fault in the request log")

    monkeypatch.setitem(app._handlers, "cts.get_tracker", broken_handler)
    assert_error(api.get(login), 500, "CTS.0004")
    monkeypatch.setattr(app.request_log, "append", broken_log)
    assert_error(api.request_token(token_body()), 500, "IAM.0006")

    assert "Traceback" not in capfd.readouterr().err
    assert "a fault in a handler" in caplog.text and "a fault in the request log" in caplog.text
    assert not [r for r in caplog.records if r.exc_info and r.levelno > 10]


def test_json_deeper_than_any_api_body_is_refused_before_it_is_used(api: Api, emulator: Emulator) -> None:
    login = api.login()
    deep: object = BUCKET
    for _ in range(100):  # the decoder copes; no handler, log or answer should have to walk it
        deep = [deep]
    response = api.create(login, {"bucket_name": deep})

    body = assert_error(response, 400, "CTS.0003")
    assert "nested more than 64 levels" in body["error_msg"]
    assert emulator.control.state()["trackers"] == {}
    (logged,) = [r for r in emulator.control.requests() if r["method"] == "POST" and r["service"] == "cts"]
    assert logged["status"] == 400 and isinstance(logged["body"], str)
    assert api.create(login, {"bucket_name": BUCKET}).status_code == 201
