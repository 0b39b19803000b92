"""Timeouts, bounded retries with jitter, Retry-After, and the no-blind-POST rule."""

from __future__ import annotations

import email.utils
import random

import pytest
import requests
import requests_mock
from urllib3.exceptions import NewConnectionError

from pulumi_cts.errors import ApiError, ResponseLostError, TransportError
from pulumi_cts.transport import RetryPolicy, Transport, mask_headers, retry_after_seconds

URL = "https://cts.example.test/v1.0/p/tracker"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def transport(clock: Clock, **policy: float) -> Transport:
    return Transport(
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=clock.sleep,
        clock=clock.time,
        rng=random.Random(7),
    )


def send(t: Transport, method: str = "GET", idempotent: bool = True) -> requests.Response:
    return t.send(method, URL, operation="Reading", target="tracker", idempotent=idempotent)


def test_every_call_carries_connect_and_read_timeouts() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        mock.get(URL, json={})
        send(transport(clock, connect_timeout=3.0, read_timeout=11.0))
    assert mock.last_request.timeout == (3.0, 11.0)


def test_a_burst_of_5xx_shorter_than_the_budget_is_retried_with_growing_jittered_waits() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.get(URL, [{"status_code": 503}, {"status_code": 502}, {"status_code": 504}, {"json": {"ok": 1}}])
        response = send(transport(clock, base_delay=1.0, max_delay=8.0))
    assert response.json() == {"ok": 1}
    assert route.call_count == 4
    assert len(clock.sleeps) == 3
    for attempt, waited in enumerate(clock.sleeps):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= waited <= ceiling


def test_retry_after_is_honoured_as_a_lower_bound() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        mock.get(URL, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": {}}])
        send(transport(clock, base_delay=0.1))
    assert clock.sleeps[0] >= 7.0


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(1_000_000.0 + 12, usegmt=True)
    assert retry_after_seconds(later, 1_000_000.0) == pytest.approx(12.0)
    assert retry_after_seconds("soon", 0.0) is None
    assert retry_after_seconds(None, 0.0) is None


def test_a_burst_longer_than_the_budget_fails_with_the_tries_and_wait_stated() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.get(URL, status_code=503, json={"error_code": "CTS.0001", "error_msg": "down"})
        with pytest.raises(ApiError) as caught:
            send(transport(clock, max_attempts=4, base_delay=0.5))
    assert route.call_count == 4
    assert "gave up after 4 tries" in str(caught.value)
    assert "CTS.0001" in str(caught.value)
    assert sum(clock.sleeps) == pytest.approx(float(str(caught.value).split(" and ")[-1].split("s of")[0]), abs=0.06)


def test_a_retry_after_beyond_the_wait_budget_stops_at_once() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.get(URL, status_code=429, headers={"Retry-After": "3600"})
        with pytest.raises(ApiError, match="gave up after 1 tries"):
            send(transport(clock, max_total_wait=60.0))
    assert route.call_count == 1
    assert clock.sleeps == []


def test_post_is_not_repeated_after_a_5xx() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.post(URL, status_code=503)
        with pytest.raises(ApiError):
            send(transport(clock), "POST", idempotent=False)
    assert route.call_count == 1


def test_post_is_repeated_after_429_because_nothing_was_processed() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.post(URL, [{"status_code": 429}, {"status_code": 201, "json": {}}])
        send(transport(clock), "POST", idempotent=False)
    assert route.call_count == 2


def test_post_whose_connection_never_opened_is_repeated() -> None:
    clock = Clock()
    refused = requests.exceptions.ConnectionError(NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    with requests_mock.Mocker() as mock:
        route = mock.post(URL, [{"exc": refused}, {"exc": requests.exceptions.ConnectTimeout}, {"status_code": 201}])
        send(transport(clock), "POST", idempotent=False)
    assert route.call_count == 3


def test_post_whose_answer_was_lost_raises_response_lost() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.post(URL, exc=requests.exceptions.ReadTimeout)
        with pytest.raises(ResponseLostError, match="may have taken effect"):
            send(transport(clock), "POST", idempotent=False)
    assert route.call_count == 1


def test_connection_errors_outlasting_the_budget_become_a_transport_error() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.get(URL, exc=requests.exceptions.ReadTimeout)
        with pytest.raises(TransportError) as caught:
            send(transport(clock, max_attempts=3, read_timeout=2.0))
    assert route.call_count == 3
    message = str(caught.value)
    assert "gave up after 3 tries" in message and "read 2s" in message and "ReadTimeout" in message


def test_other_client_errors_are_not_retried() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        route = mock.get(URL, status_code=400, json={"error_code": "CTS.0003", "error_msg": "bad"})
        with pytest.raises(ApiError, match=r"CTS\.0003"):
            send(transport(clock))
    assert route.call_count == 1


def test_keystone_error_shape_and_plain_text_answers_are_reported() -> None:
    clock = Clock()
    with requests_mock.Mocker() as mock:
        mock.get(URL, status_code=400, json={"error": {"code": 400, "message": "Bad thing", "title": "Bad Request"}})
        with pytest.raises(ApiError, match="HTTP 400 400: Bad thing"):
            send(transport(clock))
        mock.get(URL, status_code=400, text="upstream said no")
        with pytest.raises(ApiError, match="upstream said no"):
            send(transport(clock))


def test_one_session_is_created_lazily_and_reused() -> None:
    t = Transport()
    assert t._session is None
    first = t.session
    assert t.session is first
    t.close()
    assert t._session is None


def test_masked_headers() -> None:
    shown = mask_headers({"X-Auth-Token": "t", "Authorization": "a", "X-Security-Token": "s", "Accept": "json"})
    assert shown == {"X-Auth-Token": "***", "Authorization": "***", "X-Security-Token": "***", "Accept": "json"}


@pytest.mark.parametrize("verify", [False, "/etc/pulumi-cts/ca.pem"])
def test_configured_tls_trust_wins_over_requests_ca_bundle(monkeypatch: pytest.MonkeyPatch, verify: bool | str) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/somewhere/else.pem")
    t = Transport(verify=verify)
    with requests_mock.Mocker() as mock:
        mock.get(URL, json={})
        t.send("GET", URL, operation="Reading", target="tracker", idempotent=True)
    assert mock.last_request.verify == verify
