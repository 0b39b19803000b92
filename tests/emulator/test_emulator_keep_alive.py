"""The emulator keeps HTTP/1.1 connections alive, as the API gateway in front of the real services does, and its
slow and dropped-connection faults still work on kept-alive connections."""

from __future__ import annotations

import http.client
import time

import pytest
import requests

from pulumi_cts.emulator import Emulator
from tests.emulator.helpers import Api, Peers
from tests.support import BUCKET

REQUESTS = 50


@pytest.fixture
def peers(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Peers:
    return Peers.watch(emulator, monkeypatch)


def test_one_session_uses_one_connection_for_many_requests(api: Api, peers: Peers) -> None:
    login = api.login()
    assert api.create(login, {"bucket_name": BUCKET}).status_code == 201
    answers = [api.get(login) for _ in range(REQUESTS)]

    assert [a.status_code for a in answers] == [200] * REQUESTS
    assert all(a.headers.get("Connection", "").lower() != "close" for a in answers)
    assert len(peers.seen) == REQUESTS + 2
    assert peers.connections == 1


def test_a_raw_http11_connection_is_never_closed_between_requests(emulator: Emulator, peers: Peers) -> None:
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=10)
    try:
        local_addresses = set()
        for _ in range(REQUESTS):
            # Error answers (no token) keep the connection too.
            for method, path in (("GET", "/v3/projects"), ("GET", "/v1.0/0123456789abcdef/tracker")):
                connection.request(method, path)
                answer = connection.getresponse()
                answer.read()
                assert not answer.will_close, answer.getheaders()
                assert connection.sock is not None
                local_addresses.add(connection.sock.getsockname())
    finally:
        connection.close()

    assert len(local_addresses) == 1
    assert peers.connections == 1


def test_a_body_the_app_does_not_read_does_not_corrupt_the_next_request(api: Api, peers: Peers) -> None:
    login = api.login()
    # Rejected before its body is read (the token is wrong): the server must skip the body, not parse it as
    # the next request line.
    rejected = api.session.post(
        api.tracker_url(login.project_id),
        data=b'{"bucket_name": "' + b"x" * 100_000 + b'"}',
        headers={"X-Auth-Token": "not-a-token", "Content-Type": "application/json"},
        timeout=10,
    )
    answered = api.get(login)

    assert rejected.status_code == 401
    assert answered.status_code == 404
    assert peers.connections == 1


def test_a_slow_answer_keeps_the_connection(api: Api, emulator: Emulator, peers: Peers) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", method="GET", latency_ms=300, times=1)

    started = time.monotonic()
    slow = api.get(login)
    elapsed = time.monotonic() - started
    fast = api.get(login)

    assert slow.status_code == fast.status_code == 404
    assert elapsed >= 0.3
    assert peers.connections == 1


@pytest.mark.parametrize("action", ["drop", "drop_after"])
def test_a_dropped_connection_ends_only_that_connection(
    api: Api, emulator: Emulator, peers: Peers, action: str
) -> None:
    login = api.login()
    emulator.control.add_fault(service="cts", method="POST", action=action, times=1)

    with pytest.raises(requests.ConnectionError):
        api.create(login, {"bucket_name": BUCKET})
    after = [api.get(login) for _ in range(5)]

    # drop_after applies the call before dropping the connection; drop never lets it through.
    expected = 200 if action == "drop_after" else 404
    assert [a.status_code for a in after] == [expected] * 5
    # The session opened one new connection after the dropped one, and kept it.
    assert peers.connections == 2
